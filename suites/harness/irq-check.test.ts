import { describe, expect, it } from 'vitest';
import { parseEventStream } from '../../targets/boot-result.js';
import { failuresOf } from './failures.js';
import { checkInterrupts, checkIpis, GUEST_STALL_MS, IRQ, STARVE_FACTOR_LAB, VMM_COUNTER_ASSERTIONS } from './irq-check.js';
import type { ProbeEvent } from './probe.js';

interface RoundOpts {
  ok?: boolean;
  lost?: number;
  timerHz?: number;
  mode?: string;
  raised?: number;
  spurious?: number;
  fireUs?: number;
  ticks?: number;
  window?: [number, number] | null;
  /** The PIT's span (uptime before it started, at the round's end) and its ticks; null: not reported. */
  pit?: { window: [number, number]; ticks: number } | null;
}

function round(cpu: number, counts: number[], o: RoundOpts = {}): ProbeEvent {
  const handled = counts.reduce((a, b) => a + b, 0);
  const timerHz = o.timerHz ?? 0;
  return {
    event: 'irqtest-round',
    cpu,
    fired: 32,
    ok: o.ok ?? true,
    timerHz,
    raisedBefore: 0,
    ...(o.window === null ? {} : { window: o.window ?? [10, 11] }),
    timer: [timerHz ? (o.ticks ?? 2000) : 0],
    ...(timerHz && o.pit !== null ? { pit: { window: o.pit?.window ?? o.window ?? [10, 11], ticks: [o.pit?.ticks ?? o.ticks ?? 2000] } } : { pit: null }),
    stats: { mode: o.mode ?? 'msi', handled, lost: o.lost ?? 0, spurious: o.spurious ?? 0, cancelled: 0, lastFireUs: o.fireUs ?? 3200, counts, device: { raised: o.raised ?? 32 } },
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

const GOOD = [round(0, [32, 0]), round(1, [0, 32]), round(0, [32, 0], { timerHz: 2000 }), ipi(0, [0, 32]), ipi(1, [32, 0])];
const messages = (events: ProbeEvent[], r = vmm(99, 99), assertion?: string) => {
  const { failures } = checkInterrupts(r, events, 2, ['msi']);
  return (assertion ? failuresOf(failures, assertion) : failures).map((f) => f.message);
};

describe('checkInterrupts', () => {
  it('finds nothing when every round lands exactly on its CPU, the counters agree and the timer ran at its rate', () => {
    expect(checkInterrupts(vmm(99, 99), GOOD, 2, ['msi']).failures).toEqual([]);
  });

  it('per round raised = fired = handled: names a round the guest handled fewer of than the device raised', () => {
    const events = [round(0, [29, 0], { lost: 3 }), ...GOOD.slice(1)];
    expect(messages(events, vmm(99, 96), IRQ.exact)).toEqual([
      'msi round on CPU 0: the device raised 32, the guest fired 32 and handled 29 (lost interrupts: 3 recovered by the guest after its stall timeout)',
    ]);
  });

  it('per round raised = fired = handled: names a device that raised more or fewer than the guest fired', () => {
    expect(messages([round(0, [32, 0], { raised: 33 }), ...GOOD.slice(1)], vmm(100, 100), IRQ.exact)).toEqual([
      'msi round on CPU 0: the device raised 33, the guest fired 32 and handled 32 (lost interrupts: 0 recovered by the guest after its stall timeout)',
    ]);
  });

  it('no spurious interrupts', () => {
    expect(messages([round(0, [32, 0], { spurious: 2 }), ...GOOD.slice(1)], vmm(99, 99), IRQ.spurious)).toEqual([
      "msi round on CPU 0: the guest's handler ran 2 times with nothing outstanding on the device",
    ]);
  });

  it('the timer round ticks at its rate: too few ticks, too many, and no window', () => {
    const slow = [...GOOD.slice(0, 2), round(0, [32, 0], { timerHz: 2000, ticks: 1000 }), ...GOOD.slice(3)];
    expect(messages(slow, vmm(99, 99), IRQ.timerRate)).toEqual(['msi round on CPU 0 with the PIT at 2000 Hz: 1000 timer ticks in the 1.00 s since the PIT was started (1000 Hz), expected 1760..2040']);
    const fast = [...GOOD.slice(0, 2), round(0, [32, 0], { timerHz: 2000, ticks: 2100 }), ...GOOD.slice(3)];
    expect(messages(fast, vmm(99, 99), IRQ.timerRate)[0]).toMatch(/2100 timer ticks in the 1\.00 s since the PIT was started \(2100 Hz\), expected 1760\.\.2040/);
    const none = [...GOOD.slice(0, 2), round(0, [32, 0], { timerHz: 2000, pit: null }), ...GOOD.slice(3)];
    expect(messages(none, vmm(99, 99), IRQ.timerRate)[0]).toMatch(/reported no PIT window/);
  });

  it('a PIT that reinjects owed ticks may exceed its rate over the device window, never over its life since it was started', () => {
    // QEMU/KVM in the lab: 3,358 ticks over a 1.61 s device window (2,086 Hz); the PIT was started
    // 0.08 s before that window, so its 1.69 s allow 3,380 + 40.
    const caughtUp = round(0, [32, 0], { timerHz: 2000, ticks: 3358, window: [10.08, 11.69], pit: { window: [10, 11.69], ticks: 3370 } });
    expect(messages([...GOOD.slice(0, 2), caughtUp, ...GOOD.slice(3)], vmm(99, 99), IRQ.timerRate)).toEqual([]);
    // The same device window with a PIT that ran too fast over its whole life fails.
    const tooFast = round(0, [32, 0], { timerHz: 2000, ticks: 3358, window: [10.08, 11.69], pit: { window: [10, 11.69], ticks: 3500 } });
    expect(messages([...GOOD.slice(0, 2), tooFast, ...GOOD.slice(3)], vmm(99, 99), IRQ.timerRate)).toEqual([
      'msi round on CPU 0 with the PIT at 2000 Hz: 3500 timer ticks in the 1.69 s since the PIT was started (2071 Hz), expected 3001..3420',
    ]);
  });

  it('in the lab only the upper bound and a ticking timer are required (minTimerShare 0)', () => {
    const slow = [...GOOD.slice(0, 2), round(0, [32, 0], { timerHz: 2000, ticks: 150 }), ...GOOD.slice(3)];
    expect(failuresOf(checkInterrupts(vmm(99, 99), slow, 2, ['msi'], { minTimerShare: 0 }).failures, IRQ.timerRate)).toEqual([]);
    const stopped = [...GOOD.slice(0, 2), round(0, [32, 0], { timerHz: 2000, ticks: 0 }), ...GOOD.slice(3)];
    expect(failuresOf(checkInterrupts(vmm(99, 99), stopped, 2, ['msi'], { minTimerShare: 0 }).failures, IRQ.timerRate).map((f) => f.message)).toEqual([
      'msi round on CPU 0 with the PIT at 2000 Hz: 0 timer ticks in the 1.00 s since the PIT was started (0 Hz), expected 1..2040',
    ]);
    const fast = [...GOOD.slice(0, 2), round(0, [32, 0], { timerHz: 2000, ticks: 4000 }), ...GOOD.slice(3)];
    expect(failuresOf(checkInterrupts(vmm(99, 99), fast, 2, ['msi'], { minTimerShare: 0 }).failures, IRQ.timerRate)).toHaveLength(1);
  });

  it('names starvation when the timer round lost or waited while the same CPU without the timer got every interrupt', () => {
    const starved = [...GOOD.slice(0, 2), round(0, [0, 0], { timerHz: 2000, ok: false, lost: 5, fireUs: 10_000_000, ticks: 20_000, window: [10, 20] }), ...GOOD.slice(3)];
    expect(messages(starved, vmm(99, 99), IRQ.starvation)).toEqual([
      "msi round on CPU 0 with the PIT at 2000 Hz: the device's interrupt starved while the timer ran: the guest handled 0 of 32 in 10000 ms (2000 ms each; 0.10 ms each without the timer on the same CPU, all 32 handled; at most 10x), 5 given up after its stall timeout, while CPU 0 took 20000 timer ticks",
    ]);
    // Slow alone (no loss) counts too.
    const slow = [...GOOD.slice(0, 2), round(0, [32, 0], { timerHz: 2000, fireUs: 3200 * 20 }), ...GOOD.slice(3)];
    expect(messages(slow, vmm(99, 99), IRQ.starvation)).toHaveLength(1);
  });

  it('in the lab only loss counts (STARVE_FACTOR_LAB): the good 26x and 87x rounds from the lab pass there and fail natively; a given-up interrupt fails there', () => {
    const plain = [round(0, [32, 0], { fireUs: 32 * 2150 }), round(1, [0, 32], { fireUs: 32 * 2150 })];
    const ciLab = [...plain, round(0, [32, 0], { timerHz: 2000, fireUs: 1_803_000 }), ...GOOD.slice(3)];
    expect(failuresOf(checkInterrupts(vmm(99, 99), ciLab, 2, ['msi'], { starveFactor: STARVE_FACTOR_LAB }).failures, IRQ.starvation)).toEqual([]);
    expect(failuresOf(checkInterrupts(vmm(99, 99), ciLab, 2, ['msi']).failures, IRQ.starvation)[0]?.message).toContain('(56 ms each; 2.15 ms each without the timer on the same CPU, all 32 handled; at most 10x)');
    const crawl = [...plain, round(0, [32, 0], { timerHz: 2000, fireUs: 9_250_000 }), ...GOOD.slice(3)];
    expect(failuresOf(checkInterrupts(vmm(99, 99), crawl, 2, ['msi'], { starveFactor: STARVE_FACTOR_LAB }).failures, IRQ.starvation)).toEqual([]);
    const held = [...plain, round(0, [28, 0], { timerHz: 2000, ok: false, lost: 4, fireUs: 8_100_000 }), ...GOOD.slice(3)];
    expect(failuresOf(checkInterrupts(vmm(99, 95), held, 2, ['msi'], { starveFactor: STARVE_FACTOR_LAB }).failures, IRQ.starvation)[0]?.message).toContain(
      'the guest handled 28 of 32 in 8100 ms (253 ms each; 2.15 ms each without the timer on the same CPU, all 32 handled; only loss judged), 4 given up',
    );
  });

  it('a stall under the PIT is the timer round\'s wait in the lab up to the guest\'s stall timeout; every other stall fails', () => {
    const stall = (ms: number, pitHz?: number) =>
      JSON.stringify({ event: 'irq-stall', t: 2, device: 'irq-test@00:05.0', how: 'acked', ms, to: 'MSI address 0xfee00000 data 0x26', ...(pitHz === undefined ? {} : { pitHz }) });
    const lab = { starveFactor: STARVE_FACTOR_LAB, timerStallMs: GUEST_STALL_MS };
    const clean = (r: ReturnType<typeof vmm>, opts = {}) => failuresOf(checkInterrupts(r, GOOD, 2, ['msi'], opts).failures, IRQ.clean).map((f) => f.message);
    // The lab's 1,862 ms under the 2 kHz PIT: the timer round's, judged by the starvation assertion.
    expect(clean(vmm(99, 99, stall(1862, 2000)), lab)).toEqual([]);
    // Natively it fails, and says what the interrupt competed with.
    expect(clean(vmm(99, 99, stall(1862, 2000)))).toEqual([
      "the device's interrupt (MSI address 0xfee00000 data 0x26) was acked 1862 ms after the VMM raised it while the PIT ran at 2000 Hz: no CPU handled it meanwhile",
    ]);
    // In the lab: a stall without the timer, or one as long as the guest's own give-up, still fails.
    expect(clean(vmm(99, 99, stall(600, 0)), lab)).toHaveLength(1);
    expect(clean(vmm(99, 99, stall(600)), lab)).toHaveLength(1);
    expect(clean(vmm(99, 99, stall(2100, 2000)), lab)).toHaveLength(1);
  });

  it('does not call a fast round a little slower under the timer starvation (TCG: 0.15 ms each against 0.01 ms, none lost)', () => {
    const tcg = [round(0, [32, 0], { fireUs: 320 }), round(1, [0, 32], { fireUs: 320 }), round(0, [32, 0], { timerHz: 2000, fireUs: 4770 }), ...GOOD.slice(3)];
    expect(messages(tcg, vmm(99, 99), IRQ.starvation)).toEqual([]);
  });

  it('does not call plain loss starvation: the round without the timer lost interrupts too', () => {
    const lossy = [round(0, [29, 0], { lost: 3 }), round(1, [0, 29], { lost: 3 }), round(0, [29, 0], { timerHz: 2000, lost: 3, fireUs: 6_000_000 }), ...GOOD.slice(3)];
    const { failures } = checkInterrupts(vmm(99, 90), lossy, 2, ['msi']);
    expect(failuresOf(failures, IRQ.starvation)).toEqual([]);
    expect(failuresOf(failures, IRQ.exact)).toHaveLength(3);
  });

  it('names interrupts the VMM injected that reached no handler on any CPU (delivered elsewhere)', () => {
    const events = [round(0, [0, 0], { ok: false, lost: 1 })];
    expect(messages(events, vmm(2, 2), IRQ.destination).join('\n')).toMatch(
      /msi round on CPU 0: none of the 32 interrupts reached the handler on any CPU although the VMM injected every one: they were delivered to another CPU or vector/,
    );
    // Not when the VMM itself dropped them: that finding is the VMM's count.
    expect(messages(events, vmm(2, 1), IRQ.destination)).toEqual([]);
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

  it('names an ignored destination, what the VMM dropped and a crash', () => {
    const events = [round(0, [32, 0]), round(1, [32, 0]), round(0, [29, 0], { ok: false, lost: 3, timerHz: 2000 })];
    const r = vmm(99, 96, JSON.stringify({ event: 'reset', t: 2, source: 'triple-fault (vCPU 1)', count: 1 }));
    const { failures } = checkInterrupts(r, events, 2, ['msi']);
    expect(failuresOf(failures, IRQ.destination).map((f) => f.message)).toEqual([
      'msi round on CPU 1: interrupts arrived on CPU 0 (32): the destination the guest programmed was ignored',
    ]);
    expect(failuresOf(failures, IRQ.injected)[0]?.message).toMatch(/the VMM injected 96 of the 99 interrupts the device raised \(3 dropped/);
    expect(failuresOf(failures, IRQ.clean)[0]?.message).toMatch(/the machine reset during the test \(triple-fault \(vCPU 1\)\)/);
  });

  it('without the VMM\'s counters (QEMU\'s edu): no counter assertion, but the guest\'s own evidence still fails a lost interrupt, a wrong CPU and a reset', () => {
    const qemu = parseEventStream('qemu:tcg', '', '');
    expect(checkInterrupts(qemu, GOOD, 2, ['msi'], { vmmCounters: false }).failures).toEqual([]);
    expect(failuresOf(checkInterrupts(qemu, GOOD, 2, ['msi']).failures, IRQ.injected).map((f) => f.message)).toEqual(['the VMM reported no irq-test counters']);
    const lost = [round(0, [29, 0], { lost: 3 }), round(1, [32, 0]), ...GOOD.slice(2)];
    const reset = parseEventStream('qemu:tcg', JSON.stringify({ event: 'reset', t: 5, count: 1, source: 'guest-reset' }), '');
    const { failures } = checkInterrupts(reset, lost, 2, ['msi'], { vmmCounters: false });
    expect(failures.map((f) => f.assertion).sort()).toEqual([IRQ.clean, IRQ.destination, IRQ.exact].sort());
    for (const f of failures) expect(VMM_COUNTER_ASSERTIONS).not.toContain(f.assertion);
  });

  it('notices a CPU with no round, and a device total the rounds do not account for', () => {
    const { failures } = checkInterrupts(vmm(40, 40), [round(0, [32, 0])], 2, ['msi']);
    expect(failuresOf(failures, IRQ.rounds).map((f) => f.message)).toEqual(['msi: no round reported for CPU 1']);
    expect(failuresOf(failures, IRQ.total).map((f) => f.message)).toEqual(["the device raised 40 interrupts; the guest's rounds account for 33"]);
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
    const events = [...GOOD, { event: 'trouble', line: '[   13.441971] __common_interrupt: 0.36 No irq handler for vector' } as ProbeEvent];
    expect(checkInterrupts(vmm(99, 99), events, 2, ['msi']).failures).toEqual([
      { assertion: IRQ.destination, message: 'an interrupt arrived on CPU 0 (vector 36), where no handler is set up for it: the destination the guest programmed was ignored' },
      { assertion: IRQ.dmesg, message: 'guest dmesg: [   13.441971] __common_interrupt: 0.36 No irq handler for vector' },
    ]);
  });
});
