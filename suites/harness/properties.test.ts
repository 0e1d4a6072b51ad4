import { describe, expect, it } from 'vitest';
import { parseEventStream } from '../../targets/boot-result.js';
import { FuzzPc } from '../../vmm/fuzz/fuzz-pc.js';
import { guestRefusals } from '../../vmm/machine/final-reports.js';
import { bootMeta, bootProperties, skipAs } from './properties.js';

describe('bootProperties', () => {
  it('reports what the machine refused the guest next to the exit profile', () => {
    // A real machine refusing a fw_cfg DMA into the local APIC's page (vmm/fuzz drives it off-host).
    const pc = new FuzzPc('seabios');
    try {
      pc.setupLikeFirmware();
      pc.exec({ k: 'fwcfg-dma', at: 0x1000, control: 0x02, length: 4, addressHigh: 0, addressLow: 0xfee0_0000 });
      const text = [{ ...guestRefusals(pc.pc), t: 5 }, { event: 'final', t: 9, status: 'power-off', exitCode: 0, resets: 0, wallMs: 9, maxRssBytes: 0, profile: { wallMs: 9, vcpuRunMs: 0, vcpuRunPct: 0, pioMs: 0, pioPct: 0, mmioMs: 0, mmioPct: 0, exits: {}, totalExits: 0, hottestPorts: [], hottestRegions: [], unassigned: { pio: 0, mmio: 0 } } }]
        .map((e) => JSON.stringify(e))
        .join('\n');
      const props = bootProperties(parseEventStream('vmm:kvm', text, ''));
      expect(props['dma.fw_cfg']).toBe('1 transfers, 1 refused');
      expect(props['dma.piix3-ide']).toBe('0 transfers, 0 refused');
      expect(props['guest.misuse']).toBe(1);
    } finally {
      pc.close();
    }
  });

  it('writes no refusal properties for a stack that does not report them (QEMU)', () => {
    const props = bootProperties(parseEventStream('qemu:tcg', '', ''));
    expect(Object.keys(props).filter((k) => k.startsWith('dma.') || k === 'guest.misuse')).toEqual([]);
  });
});

describe('bootMeta', () => {
  it("puts L1 KVM's trace of an unrequested shutdown into the failure diagnostic, its last lines and the kept file", () => {
    const r = parseEventStream('vmm:kvm@lab', '', '');
    const lines = Array.from({ length: 30 }, (_, i) => `node-7 [000] d..2. 1.${i}: kvm_exit: vcpu 3 reason io rip 0x${i}`);
    r.kvmTrace = { summary: 'L1 KVM saw vCPU 3 shut down at rip 0x1d', lines, file: '/k/b.kvm-trace.txt' };
    const text = bootMeta({ suite: 'interrupts', target: 'vmm:kvm@lab', guest: 'debian-irqtest', smp: 8 }, r).diagnostic!;
    expect(text).toContain('L1 KVM saw vCPU 3 shut down at rip 0x1d (whole trace: /k/b.kvm-trace.txt)');
    expect(text).toContain('rip 0x29');
    expect(text).not.toContain('rip 0x5\n');
    expect(text.split('\n').filter((l) => l.includes('kvm_exit'))).toHaveLength(24);
  });

  it('has no diagnostic for a clean boot', () => {
    expect(bootMeta({ suite: 'interrupts', target: 'vmm:kvm@lab', guest: 'debian-irqtest', smp: 8 }, parseEventStream('vmm:kvm@lab', '', '')).diagnostic).toBeUndefined();
  });
});

describe('skipAs', () => {
  it('records the identity before skipping, so the verdict grid has the row', () => {
    const task = { meta: {} } as Parameters<typeof skipAs>[0];
    const skip = (note: string) => {
      throw new Error(`skipped: ${note}`);
    };
    const id = { suite: 'interrupts', target: 'qemu:nvmm', guest: 'debian-irqtest', smp: 2, quirks: ['drop-every-nth-irq'] };
    expect(() => skipAs(task, id, skip, 'cannot run on this host: no nvmm', { 'expected.failure': true })).toThrow('skipped: cannot run on this host: no nvmm');
    expect(task.meta.bootgate).toMatchObject({ ...id, properties: { 'expected.failure': true }, skipped: [] });
  });
});
