import { describe, expect, it } from 'vitest';
import { parseEventStream } from './boot-result.js';
import { checkInterrupts, checkIpis } from './irq-check.js';
import type { ProbeEvent } from './probe.js';

function round(cpu: number, counts: number[], opts: { ok?: boolean; lost?: number; timerHz?: number; mode?: string } = {}): ProbeEvent {
  const handled = counts.reduce((a, b) => a + b, 0);
  return {
    event: 'irqtest-round',
    cpu,
    fired: 32,
    ok: opts.ok ?? true,
    timerHz: opts.timerHz ?? 0,
    raisedBefore: 0,
    timer: [opts.timerHz ? 100 : 0],
    stats: { mode: opts.mode ?? 'msi', handled, lost: opts.lost ?? 0, counts, device: { raised: 32 } },
  } as unknown as ProbeEvent;
}

function ipi(from: number, handled: number[]): ProbeEvent {
  return { event: 'irqtest-ipi', from, sent: 32, handled, cal: handled } as unknown as ProbeEvent;
}

function vmm(raised: number, injected: number, extra = ''): ReturnType<typeof parseEventStream> {
  const lines = [
    JSON.stringify({ event: 'irq-test', t: 1, device: { raised: { intx: 0, msi: raised } }, path: { injected, dropped: raised - injected, held: 0 } }),
    extra,
  ].filter(Boolean);
  return parseEventStream('vmm:kvm', lines.join('\n'), '');
}

describe('checkInterrupts', () => {
  it('finds nothing when every round lands exactly on its CPU and the counters agree', () => {
    const { findings } = checkInterrupts(vmm(66, 66), [round(0, [32, 0]), round(1, [0, 32]), ipi(0, [0, 32]), ipi(1, [32, 0])], 2, ['msi']);
    expect(findings).toEqual([]);
  });
  it('names interrupts the VMM injected that reached no handler on any CPU (delivered elsewhere)', () => {
    const { findings } = checkInterrupts(vmm(2, 2), [round(0, [0, 0], { ok: false, lost: 1 })], 2, ['msi']);
    expect(findings.join('\n')).toMatch(/msi round on CPU 0: none of the 32 interrupts reached the handler on any CPU although the VMM injected every one: they were delivered to another CPU or vector/);
    // Not when the VMM itself dropped them: that finding is the VMM's count.
    expect(checkInterrupts(vmm(2, 1), [round(0, [0, 0], { ok: false, lost: 1 })], 2, ['msi']).findings.join('\n')).not.toMatch(/delivered to another CPU/);
  });
  it('names MSIs KVM accepted but delivered to no vCPU', () => {
    const r = parseEventStream(
      'vmm:kvm',
      JSON.stringify({ event: 'irq-test', t: 1, device: { raised: { intx: 0, msi: 64 } }, path: { injected: 64, dropped: 0, held: 0, undeliveredMsis: 1, undeliveredSamples: ['address 0xfee01000 data 0x22'] } }),
      '',
    );
    const { findings } = checkInterrupts(r, [round(0, [32, 0]), round(1, [0, 31], { ok: false, lost: 1 })], 2, ['msi']);
    expect(findings.join('\n')).toMatch(/KVM accepted 1 MSIs but delivered them to no vCPU \(KVM_SIGNAL_MSI returned 0; address 0xfee01000 data 0x22\)/);
  });
  it('names an ignored destination, a lost interrupt, starvation and a crash', () => {
    const events = [round(0, [32, 0]), round(1, [32, 0]), round(0, [29, 0], { ok: false, lost: 3, timerHz: 2000 })];
    const r = vmm(99, 96, JSON.stringify({ event: 'reset', t: 2, source: 'triple-fault (vCPU 1)', count: 1 }));
    const { findings } = checkInterrupts(r, events, 2, ['msi']);
    expect(findings.join('\n')).toMatch(/msi round on CPU 1: interrupts arrived on CPU 0 \(32\): the destination the guest programmed was ignored/);
    expect(findings.join('\n')).toMatch(/the device interrupt starved while the timer ran \(100 timer ticks, 3 device interrupts lost\)/);
    expect(findings.join('\n')).toMatch(/the VMM injected 96 of the 99 interrupts the device raised \(3 dropped/);
    expect(findings.join('\n')).toMatch(/the machine reset during the test \(triple-fault \(vCPU 1\)\)/);
  });
  it('notices a CPU with no round', () => {
    expect(checkInterrupts(vmm(33, 33), [round(0, [32, 0])], 2, ['msi']).findings).toContain('msi: no round reported for CPU 1');
  });
});

describe('checkIpis', () => {
  it('wants exactly N IPIs on every other CPU from CPU 0 and from the last CPU', () => {
    expect(checkIpis([ipi(0, [0, 32, 32, 32]), ipi(3, [32, 32, 32, 0])], 4)).toEqual([]);
  });
  it('names a lost IPI, a missing round and a CPU with no count', () => {
    expect(checkIpis([ipi(0, [0, 32, 31, 32]), ipi(3, [32, 32, 32])], 4)).toEqual([
      'IPIs from CPU 0: CPU 2 handled 31 of 32 (lost IPIs)',
      'IPIs from CPU 3: per-CPU counts for 3 CPUs, expected 4',
    ]);
    expect(checkIpis([], 2)).toEqual(['IPIs: no round reported from CPU 0', 'IPIs: no round reported from CPU 1']);
  });
  it('has nothing to check on one CPU', () => {
    expect(checkIpis([], 1)).toEqual([]);
  });
});

describe('checkInterrupts, stray vectors', () => {
  it("names an interrupt that reached a CPU with no handler for its vector (Linux's dmesg line)", () => {
    const events = [round(0, [32, 0]), round(1, [0, 32]), { event: 'trouble', line: '[   13.441971] __common_interrupt: 0.36 No irq handler for vector' } as ProbeEvent];
    expect(checkInterrupts(vmm(66, 66), [...events, ipi(0, [0, 32]), ipi(1, [32, 0])], 2, ['msi']).findings).toEqual([
      'an interrupt arrived on CPU 0 (vector 36), where no handler is set up for it: the destination the guest programmed was ignored',
      'guest dmesg: [   13.441971] __common_interrupt: 0.36 No irq handler for vector',
    ]);
  });
});

