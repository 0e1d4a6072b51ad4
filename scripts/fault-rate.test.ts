import { describe, expect, it } from 'vitest';
import { type BootRecord, classify, describe as describeRecord, plan, requestOf } from './fault-rate/records.js';
import { formatTable, parseConfigs, table } from './fault-rate/table.js';

const ev = (event: string, t: number, rest: Record<string, unknown> = {}) => ({ event, t, ...rest });
const say = (o: object) => `@@bootgate ${JSON.stringify(o)}\n`;
const irqDone = say({ event: 'init', boot: 1 }) + say({ event: 'irqtest-round', cpu: 0, ok: true }) + say({ event: 'irqtest-done', rounds: 3 }) + say({ event: 'done' });

describe('fault-rate', () => {
  it('interleaves every config and stack once a round, the first stack alternating', () => {
    const p = plan(2, [{ workload: 'irqtest', smp: 2 }, { workload: 'triple', smp: 2 }], ['own', 'qemu']);
    expect(p.map((b) => `${b.round}${b.workload[0]}${b.stack}`)).toEqual(['1iown', '1iqemu', '1town', '1tqemu', '2iqemu', '2iown', '2tqemu', '2town']);
  });

  it('boots bar32g as bar-assignment\'s Linux case (one 32 GiB BAR, 40 bits) and probe as the same boot without them', () => {
    const bar = requestOf({ round: 1, stack: 'own', workload: 'bar32g', smp: 8 });
    expect(bar).toMatchObject({ guest: 'debian-probe', pciTestDevices: ['mem64pref:32G'], physBits: 40, smp: 8 });
    const plain = requestOf({ round: 1, stack: 'qemu', workload: 'probe', smp: 8 });
    expect(plain).toMatchObject({ guest: 'debian-probe', smp: 8 });
    expect(plain).not.toHaveProperty('pciTestDevices');
    expect(plain).not.toHaveProperty('physBits');
  });

  it('boots the disk workload from the image in its plan, to the disk probe\'s done line; a triple fault there is unrequested', () => {
    const p = { round: 1, stack: 'own', workload: 'disk', smp: 2, disk: '/cache/disk.raw' } as const;
    expect(requestOf(p)).toMatchObject({ firmware: 'seabios-256k', disk: '/cache/disk.raw', smp: 2, until: 'bootgate-disk: done' });
    expect(() => requestOf({ ...p, disk: undefined })).toThrow(/image path/);
    const faulted = classify(p, {
      status: 'until-matched',
      wallMs: 1,
      resets: 1,
      serial: 'bootgate-disk: done\n',
      events: [{ event: 'serial', t: 1, port: 'com1', data: 'SeaBIOS (version 1.16.2)\nbootgate: GRUB loading Linux\n' }, { event: 'triple-fault', t: 2, vcpu: 1, registers: {} }, { event: 'reset', t: 3 }],
    } as never);
    expect([faulted.unrequested, faulted.failure]).toEqual([1, undefined]);
  });

  it('reads configs as workload:smp pairs, or workloads x SMPs, and refuses unknown ones', () => {
    expect(parseConfigs({ configs: 'irqtest:2,triple:2,irqtest:8' })).toEqual([
      { workload: 'irqtest', smp: 2 },
      { workload: 'triple', smp: 2 },
      { workload: 'irqtest', smp: 8 },
    ]);
    expect(parseConfigs({ smp: '2', workloads: 'triple' })).toEqual([{ workload: 'triple', smp: 2 }]);
    expect(() => parseConfigs({ configs: 'idle:2' })).toThrow(/unknown workload "idle"/);
    expect(() => parseConfigs({ configs: 'irqtest:0' })).toThrow(/invalid SMP "0"/);
  });

  it('counts faults the guest did not ask for: own VMM its triple faults beyond the reboot lines, QEMU its unrequested resets', () => {
    const com1 = (data: string, t: number) => ev('serial', t, { port: 'com1', data });
    const own = classify(
      { round: 1, stack: 'own', workload: 'triple', smp: 2 },
      {
        status: 'until-matched',
        wallMs: 40_000,
        resets: 2,
        serial: say({ event: 'init', boot: 1 }) + say({ event: 'reboot', boot: 1 }) + say({ event: 'init', boot: 2 }) + say({ event: 'done' }),
        events: [
          com1('SeaBIOS (version 1.16.2)\n' + say({ event: 'reboot', boot: 1 }), 1),
          ev('triple-fault', 20_000, { vcpu: 0, registers: {} }),
          ev('reset', 20_001),
          com1('SeaBIOS (version 1.16.2)\n', 25_000),
          ev('triple-fault', 30_000, { vcpu: 1, registers: { rip: '0xfff0' } }),
          ev('reset', 30_001),
        ],
      },
    );
    expect(own).toMatchObject({ requested: 1, unrequested: 1, resetsBy: { requested: 1, firmware: 0, unrequested: 1 }, tripleFaults: [{ vcpu: 0 }, { vcpu: 1, registers: { rip: '0xfff0' } }] });
    const qemu = classify(
      { round: 1, stack: 'qemu', workload: 'irqtest', smp: 8 },
      { status: 'until-matched', wallMs: 1, resets: 1, serial: irqDone, events: [com1('SeaBIOS (version 1.16.2)\n', 1), ev('reset', 9_000, { source: 'guest-reset' }), com1(irqDone, 9_500)] },
    );
    expect(qemu).toMatchObject({ requested: 0, unrequested: 1, resetEvents: [{ t: 9_000, source: 'guest-reset' }], failure: undefined });
  });

  it('takes a QEMU reboot=triple run that loops until its timeout (the boot count does not survive there) as good when a second boot came', () => {
    const p = { round: 1, stack: 'qemu', workload: 'triple', smp: 2 } as const;
    const twice = say({ event: 'init', boot: 1 }) + say({ event: 'reboot', boot: 1 }) + say({ event: 'init', boot: 1 }) + say({ event: 'reboot', boot: 1 });
    expect(classify(p, { status: 'timeout', wallMs: 60_000, resets: 4, serial: twice, events: [] })).toMatchObject({ requested: 2, failure: undefined });
    expect(classify(p, { status: 'timeout', wallMs: 60_000, resets: 0, serial: say({ event: 'init', boot: 1 }), events: [] }).failure).toMatch(/1 boot\(s\) reached init/);
  });

  it('names other failures: a timeout, a failed irqtest round, the wrong boot count', () => {
    const p = { round: 1, stack: 'own', workload: 'irqtest', smp: 2 } as const;
    expect(classify(p, { status: 'until-matched', wallMs: 1, resets: 0, serial: irqDone, events: [] }).failure).toBeUndefined();
    const diagnostic = { reason: 'timeout', registers: [{ vcpu: 6, regs: { rip: '0xffffffff81000000' } }], lastExits: [], serialTail: '' };
    const hung = classify(p, { status: 'timeout', wallMs: 1, resets: 0, serial: '', events: [], error: { code: 'E_TIMEOUT', message: 'timed out after 300 s' }, diagnostic });
    expect(hung.failure).toBe('timeout: timed out after 300 s');
    // A hang keeps the VMM's registers and last exits: the record alone must explain it.
    expect(hung.diagnostic).toEqual(diagnostic);
    expect(classify(p, { status: 'until-matched', wallMs: 1, resets: 0, serial: irqDone, events: [], diagnostic }).diagnostic).toBeUndefined();
    expect(classify(p, { status: 'until-matched', wallMs: 1, resets: 0, serial: say({ event: 'irqtest-round', cpu: 1, ok: false }) + say({ event: 'done' }), events: [] }).failure).toMatch(/^probe: .*"ok":false/);
    const t = { ...p, workload: 'triple' } as const;
    expect(classify(t, { status: 'until-matched', wallMs: 1, resets: 1, serial: say({ event: 'init', boot: 1 }) + say({ event: 'done' }), events: [] }).failure).toMatch(/boots reported \[1\]/);
  });

  it("ends a boot's line with L1 KVM's summary of a traced shutdown, and says nothing of a trace otherwise", () => {
    const r: BootRecord = { round: 2, stack: 'qemu', workload: 'irqtest', smp: 8, status: 'until-matched', wallMs: 30_000, resets: 1, requested: 0, unrequested: 1 };
    expect(describeRecord(r)).not.toContain('L1 KVM');
    const traced = describeRecord({ ...r, kvmTrace: { summary: 'L1 KVM saw vCPU 5 shut down at rip 0xffffffff81234567', file: '/r/round.jsonl.kvm-trace-1.txt' } });
    expect(traced).toMatch(/unrequested 1; L1 KVM saw vCPU 5 shut down at rip 0xffffffff81234567$/);
  });

  it('tabulates boots, faulted boots, other failures and lockups per stack, workload and SMP', () => {
    const base = { round: 1, workload: 'irqtest', smp: 2, status: 'until-matched', requested: 0 } as const;
    const recs: BootRecord[] = [
      { ...base, stack: 'own', resets: 1, unrequested: 1, tripleFaults: [{ vcpu: 1, t: 1, registers: {} }] },
      { ...base, stack: 'own', resets: 0, unrequested: 0 },
      { ...base, stack: 'own', resets: 0, unrequested: 0, failure: 'timeout: x' },
      { round: 2, stack: 'own', workload: 'irqtest', smp: 2, lockup: 'watchdog: BUG: soft lockup' },
      { ...base, stack: 'qemu', resets: 0, unrequested: 0 },
    ];
    expect(table(recs)).toEqual([
      { lab: 'lab-qemu fixture', stack: 'own', workload: 'irqtest', smp: 2, boots: 3, faulted: 1, faults: 1, requested: 0, otherFailures: 1, lockups: 1, notRun: 0 },
      { lab: 'lab-qemu fixture', stack: 'qemu', workload: 'irqtest', smp: 2, boots: 1, faulted: 0, faults: 0, requested: 0, otherFailures: 0, lockups: 0, notRun: 0 },
    ]);
    expect(formatTable(table(recs))).toContain('| lab-qemu fixture | own VMM | irqtest | 2 | 3 | 1/3 | 1 | 0 | 1/3 | 1 |');
  });

  it("keeps a lab run under another CPU model, kvm_amd parameters or QEMU in rows of its own, named by them", () => {
    const base = { round: 1, stack: 'own', workload: 'probe', smp: 8, status: 'until-matched', requested: 0, resets: 0 } as const;
    const rows = table([
      { ...base, unrequested: 1 },
      { ...base, unrequested: 0, lab: { cpu: 'max', kvmAmd: ['vgif=0'] } },
      { ...base, unrequested: 0, lab: { cpu: 'max,-vgif', kvmAmd: [] } },
      { ...base, unrequested: 0, lab: { cpu: 'max', kvmAmd: [], qemu: '/opt/q/qemu-system-x86_64' } },
    ]);
    expect(rows.map((r) => [r.lab, r.boots, r.faulted])).toEqual([
      ['cpu max, kvm_amd vgif=0', 1, 0],
      ['cpu max, QEMU /opt/q/qemu-system-x86_64', 1, 0],
      ['cpu max,-vgif', 1, 0],
      ['lab-qemu fixture', 1, 1],
    ]);
  });
});
