import { describe, expect, it } from 'vitest';
import { type BootRecord, classify, formatTable, parseConfigs, plan, table } from './fault-rate.js';

const ev = (event: string, t: number, rest: Record<string, unknown> = {}) => ({ event, t, ...rest });
const say = (o: object) => `@@bootgate ${JSON.stringify(o)}\n`;
const irqDone = say({ event: 'init', boot: 1 }) + say({ event: 'irqtest-round', cpu: 0, ok: true }) + say({ event: 'irqtest-done', rounds: 3 }) + say({ event: 'done' });

describe('fault-rate', () => {
  it('interleaves every config and stack once a round, the first stack alternating', () => {
    const p = plan(2, [{ workload: 'irqtest', smp: 2 }, { workload: 'triple', smp: 2 }], ['own', 'qemu']);
    expect(p.map((b) => `${b.round}${b.workload[0]}${b.stack}`)).toEqual(['1iown', '1iqemu', '1town', '1tqemu', '2iqemu', '2iown', '2tqemu', '2town']);
  });

  it('reads configs as workload:smp pairs, or workloads x SMPs, and refuses unknown ones', () => {
    expect(parseConfigs({ configs: 'irqtest:2,triple:2,irqtest:8' })).toEqual([
      { workload: 'irqtest', smp: 2 },
      { workload: 'triple', smp: 2 },
      { workload: 'irqtest', smp: 8 },
    ]);
    expect(parseConfigs({ smp: '2', workloads: 'triple' })).toEqual([{ workload: 'triple', smp: 2 }]);
    expect(() => parseConfigs({ configs: 'plain:2' })).toThrow(/unknown workload "plain"/);
    expect(() => parseConfigs({ configs: 'irqtest:0' })).toThrow(/invalid SMP "0"/);
  });

  it('counts resets beyond the requested ones as faults, naming the faulting vCPU on the own VMM', () => {
    const own = classify(
      { round: 1, stack: 'own', workload: 'triple', smp: 2 },
      {
        status: 'until-matched',
        wallMs: 40_000,
        resets: 2,
        serial: say({ event: 'init', boot: 1 }) + say({ event: 'init', boot: 2 }) + say({ event: 'init', boot: 3 }) + say({ event: 'done' }),
        events: [ev('triple-fault', 20_000, { vcpu: 0, registers: {} }), ev('triple-fault', 30_000, { vcpu: 1, registers: { rip: '0xfff0' } })],
      },
    );
    expect(own).toMatchObject({ requested: 1, unrequested: 1, tripleFaults: [{ vcpu: 0 }, { vcpu: 1, registers: { rip: '0xfff0' } }] });
    const qemu = classify({ round: 1, stack: 'qemu', workload: 'irqtest', smp: 8 }, { status: 'until-matched', wallMs: 1, resets: 1, serial: irqDone, events: [ev('reset', 9_000, { source: 'guest-reset' })] });
    expect(qemu).toMatchObject({ requested: 0, unrequested: 1, resetEvents: [{ t: 9_000, source: 'guest-reset' }], failure: undefined });
  });

  it('names other failures: a timeout, a failed irqtest round, the wrong boot count', () => {
    const p = { round: 1, stack: 'own', workload: 'irqtest', smp: 2 } as const;
    expect(classify(p, { status: 'until-matched', wallMs: 1, resets: 0, serial: irqDone, events: [] }).failure).toBeUndefined();
    expect(classify(p, { status: 'timeout', wallMs: 1, resets: 0, serial: '', events: [], error: { code: 'E_TIMEOUT', message: 'timed out after 300 s' } }).failure).toBe('timeout: timed out after 300 s');
    expect(classify(p, { status: 'until-matched', wallMs: 1, resets: 0, serial: say({ event: 'irqtest-round', cpu: 1, ok: false }) + say({ event: 'done' }), events: [] }).failure).toMatch(/^probe: .*"ok":false/);
    const t = { ...p, workload: 'triple' } as const;
    expect(classify(t, { status: 'until-matched', wallMs: 1, resets: 1, serial: say({ event: 'init', boot: 1 }) + say({ event: 'done' }), events: [] }).failure).toMatch(/boots reported \[1\]/);
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
      { stack: 'own', workload: 'irqtest', smp: 2, boots: 3, faulted: 1, faults: 1, tripleFaults: 1, otherFailures: 1, lockups: 1, notRun: 0 },
      { stack: 'qemu', workload: 'irqtest', smp: 2, boots: 1, faulted: 0, faults: 0, tripleFaults: 0, otherFailures: 0, lockups: 0, notRun: 0 },
    ]);
    expect(formatTable(table(recs))).toContain('| own VMM | irqtest | 2 | 3 | 1/3 | 1 (1) | 1/3 | 1 |');
  });
});
