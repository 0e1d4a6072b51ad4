// The figure logic without booting anything: ratios and their targets, the least samples for a
// ratio, the hand-over waits before and after, and every promised figure either printed or a
// failure line (exit 1); a missed target alone still exits 0.

import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Figure } from './figures.js';
import { finish } from './main.js';
import type { Sample } from './measures.js';
import type { Samples, SeriesKey } from './plan.js';
import { formatTable, jsonRows } from './print.js';
import { allFailures, benchFigures, labFigures, promisedFigures } from './report.js';

const opts = { runs: 3, linuxRuns: 3, baseline: null, only: null };
const of = (values: number[], extra: Partial<Sample> = {}): { samples: Sample[] } => ({ samples: values.map((value) => ({ value, ...extra })) });

/** A complete run: every series with its runs. */
function complete(): Samples {
  const h = { handover: { count: 1200, medianMs: 2, maxMs: 40 } };
  return {
    'pio.c': of([90, 100, 110]),
    'pio.own': of([100, 105, 120]),
    'pio.own.native': of([95, 99, 101]),
    'resetVector.own.smp1': of([300, 320, 310], { processMs: 1_000 }),
    'resetVector.qemu.smp1': of([200, 210, 205]),
    'resetVector.own.smp8': of([3000, 3100, 3050], { processMs: 1_000 }),
    'resetVector.qemu.smp8': of([400, 410, 405]),
    'linux.own.smp1': { samples: [16_000, 18_000, 17_000].map((value) => ({ value, outsideGuestMs: 2_000 })) },
    'linux.qemu.smp1': of([20_000, 20_000, 20_000]),
    'linux.own.smp8': of([27_000, 27_000, 27_000], h),
    'linux.qemu.smp8': of([18_000, 18_000, 18_000]),
    'uefi.own.smp1': of([30_000, 31_000, 29_000]),
    'uefi.qemu.smp1': of([20_000, 20_000, 20_000]),
    'disk.own.smp1': of([100_000, 110_000, 105_000]),
    'disk.qemu.smp1': of([80_000, 80_000, 80_000]),
    'disk.own.smp8': of([140_000, 150_000, 160_000]),
    'disk.qemu.smp8': of([90_000, 90_000, 90_000]),
  };
}

const byName = (figures: Figure[], name: string) => figures.find((f) => f.name === name);

describe('benchFigures', () => {
  const { figures, failures } = benchFigures(complete(), opts, 10_000);

  it('puts each ratio on the medians, with its target', () => {
    expect(byName(figures, 'ratio.pio.ownOverC')).toMatchObject({ value: 105 / 100, unit: 'ratio', target: 1.1 });
    expect(byName(figures, 'ratio.linux.smp1.ownOverQemu')).toMatchObject({ value: 17_000 / 20_000, target: 0.8 });
    expect(byName(figures, 'ratio.linux.smp8.ownOverQemu')).toMatchObject({ value: 27_000 / 18_000, target: 1.0 });
    expect(byName(figures, 'ratio.linux.own.smp8OverSmp1')).toMatchObject({ value: 27_000 / 17_000, target: 1.2 });
    expect(byName(figures, 'ratio.resetVector.smp8.ownOverQemu')).toMatchObject({ value: 3050 / 405, target: null });
    expect(byName(figures, 'linux.own.smp1.resetToInit.median')).toMatchObject({ value: 17_000, target: null });
    expect(byName(figures, 'ratio.uefi.smp1.ownOverQemu')).toMatchObject({ value: 30_000 / 20_000, target: null });
    expect(byName(figures, 'disk.own.smp1.resetToLogin.median')).toMatchObject({ value: 105_000, unit: 'ms' });
    expect(byName(figures, 'ratio.disk.smp1.ownOverQemu')).toMatchObject({ value: 105_000 / 80_000, target: null });
    expect(byName(figures, 'ratio.disk.own.smp8OverSmp1')).toMatchObject({ value: 150_000 / 105_000, target: 1.5 });
  });

  it("counts the own VMM's reset vector from its process's start too, against QEMU's from its spawn", () => {
    expect(byName(figures, 'resetVector.own.smp8.fromProcess.median')).toMatchObject({ value: 4050, unit: 'ms' });
    expect(byName(figures, 'ratio.resetVector.smp8.ownFromProcessOverQemu')).toMatchObject({ value: 4050 / 405 });
    expect(byName(figures, 'ratio.resetVector.smp1.ownFromProcessOverQemu')).toMatchObject({ value: 1310 / 205 });
  });

  it('an own reset-vector boot whose config event lacks processMs is a failure line, not a smaller median', () => {
    const s = complete();
    s['resetVector.own.smp8'] = { samples: [{ value: 3000, processMs: 1_000 }, { value: 3100 }] };
    const r = benchFigures(s, opts, 10_000);
    expect(byName(r.figures, 'resetVector.own.smp8.fromProcess.median')).toBeUndefined();
    expect(r.failures).toContainEqual({ what: "VMM start to reset vector SMP 8, own VMM from its process's start", reason: "1 of 2 boots' config events carry no processMs" });
    expect(allFailures(promisedFigures(opts), r).map((f) => f.what)).toContain('figure resetVector.own.smp8.fromProcess.median');
  });

  it('disk SMP 8 not measured (the nested lab) is a failure line per series and per missing figure', () => {
    const s = complete();
    s['disk.own.smp8'] = { samples: [], error: 'E_ACCEL: the nested lab faults or hangs SMP 2 and 8 boots' };
    delete s['disk.qemu.smp8'];
    const failures = allFailures(promisedFigures(opts), benchFigures(s, opts, 10_000)).map((f) => f.what);
    expect(failures).toContain('Debian from disk, reset to login prompt, own VMM, SMP 8');
    expect(failures).toContain('figure ratio.disk.own.smp8OverSmp1');
    expect(failures).toContain('figure disk.qemu.smp8.resetToLogin.median');
  });

  it('an OVMF comparison without its QEMU samples is a failure line, not a gap', () => {
    const s = complete();
    delete s['uefi.qemu.smp1'];
    const part = benchFigures(s, opts, 10_000);
    const missing = allFailures(promisedFigures(opts), part).map((f) => f.what);
    expect(missing).toContain('figure ratio.uefi.smp1.ownOverQemu');
    expect(missing).toContain('figure uefi.qemu.smp1.resetToInit.median');
  });

  it('reports the hand-over waits of the SMP 8 boots: per boot and the longest of all', () => {
    expect(byName(figures, 'handover.own.smp8.medianMs.median')?.value).toBe(2);
    expect(byName(figures, 'handover.own.smp8.maxMs.run2')?.value).toBe(40);
    expect(byName(figures, 'handover.own.smp8.maxMs.max')?.value).toBe(40);
  });

  it('reports what own/QEMU at SMP 1 would be with free exit handling', () => {
    expect(byName(figures, 'ratio.linux.smp1.ownOverQemu.freeExits')?.value).toBe(15_000 / 20_000);
  });

  it('a complete run has every promised figure and no failure: exit 0 with targets missed', () => {
    const all = [...figures, ...labFigures([6_000, 6_500, 5_900])];
    expect(allFailures(promisedFigures(opts), { figures: all, failures })).toEqual([]);
    expect(formatTable(all)).toMatch(/Debian reset to init SMP 8, own VMM \/ QEMU\s+1\.50 {2}\(target <= 1\.00: MISSED\)/);
    expect(formatTable(all)).toMatch(/PIO exit round trip, own VMM \/ C loop\s+1\.05 {2}\(target <= 1\.10: met\)/);
    expect(jsonRows(all).find((r) => r.name === 'ratio.lab.firstOutputOverBudget')).toEqual({ name: 'ratio.lab.firstOutputOverBudget', value: 0.6, unit: 'ratio', target: 1 });
  });
});

describe('a ratio needs its samples', () => {
  it('own/QEMU at SMP 1 with fewer than 3 samples per stack is a failure line, not a figure', () => {
    const s = { ...complete(), 'linux.own.smp1': of([17_000, 17_500]) };
    const { figures, failures } = benchFigures(s, { runs: 3, linuxRuns: 2 }, 10);
    expect(byName(figures, 'ratio.linux.smp1.ownOverQemu')).toBeUndefined();
    expect(failures).toContainEqual({
      what: 'Debian reset to init SMP 1, own VMM / QEMU',
      reason: 'the comparison needs at least 3 samples per stack; Debian reset to init, own VMM, SMP 1 has 2, Debian reset to init, QEMU -accel kvm, SMP 1 3',
    });
  });
});

describe('what could not be measured', () => {
  afterEach(() => vi.restoreAllMocks());
  function run(samples: Samples, o: typeof opts | { runs: number; linuxRuns: number; baseline: string; only: null } = opts) {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    const part = benchFigures(samples, o, 10_000);
    part.figures.push(...labFigures([6_000, 6_000, 6_000]));
    return { code: finish(o, 'lab', part), text: out.join('\n') };
  }

  it('exits 0 when everything was measured', () => {
    expect(run(complete()).code).toBe(0);
  });

  it("says where the PIO pair ran when it ran on this host's /dev/kvm and the rest in the lab", () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    const part = benchFigures(complete(), opts, 100_000);
    part.figures.push(...labFigures([6_000, 6_000, 6_000]));
    finish(opts, 'lab', part, 'here');
    expect(out.join('\n')).toMatch(/Every boot ran on one nested lab VM .*, except the PIO comparison: own VMM and C loop on this host's \/dev\/kvm/);
    out.length = 0;
    finish(opts, 'lab', part);
    expect(out.join('\n')).not.toContain('except the PIO comparison');
  });

  it('a stack that stopped short, and the figures it could not give, are failure lines: exit 1', () => {
    const short: Samples = { ...complete(), 'linux.own.smp8': { samples: [], error: 'bootgate: E_GUEST: the nested lab wedged' }, 'pio.c': { samples: [], error: 'make -C native failed' } };
    const { code, text } = run(short);
    expect(code).toBe(1);
    expect(text).toContain('measurements that could not be made:');
    expect(text).toContain('Debian reset to init, own VMM, SMP 8: bootgate: E_GUEST: the nested lab wedged');
    expect(text).toContain('PIO exit round trip, C loop: make -C native failed');
    for (const name of ['linux.own.smp8.resetToInit.run1', 'ratio.linux.smp8.ownOverQemu', 'ratio.linux.own.smp8OverSmp1', 'handover.own.smp8.medianMs.median', 'ratio.pio.ownOverC']) {
      expect(text).toContain(`figure ${name}: promised but not measured`);
    }
  });

  it('a series that gave fewer samples than runs without an error says so', () => {
    const { code, text } = run({ ...complete(), 'resetVector.qemu.smp8': of([400]) });
    expect(code).toBe(1);
    expect(text).toContain('VMM start to reset vector, QEMU -accel kvm, SMP 8: 1 of 3 runs gave a sample, and none reported an error');
  });

  it('--baseline: both trees side by side; a baseline VMM without the median is a failure line naming why', () => {
    const withBase = (base: Sample['handover']) => ({ ...complete(), 'linux.base.smp8': of([30_000, 30_000, 30_000], { handover: base }) });
    const o = { ...opts, baseline: 'b7530ad~1' };
    const good = run(withBase({ count: 1300, medianMs: 4, maxMs: 80 }), o);
    expect(good.code).toBe(0);
    expect(good.text).toMatch(/AP hand-over wait \(median per boot\), own VMM \/ --baseline\s+0\.50/);
    expect(good.text).toMatch(/AP hand-over wait \(longest per boot\), own VMM \/ --baseline\s+0\.50/);
    const old = run(withBase({ count: 1300, maxMs: 80 }), o);
    expect(old.code).toBe(1);
    expect(old.text).toContain('AP hand-over wait median, own VMM at --baseline: the exit profile reports no handover.medianMs');
    expect(old.text).toContain('figure ratio.handover.medianMs.ownOverBaseline: promised but not measured');
    expect(old.text).not.toContain('figure ratio.handover.maxMs.ownOverBaseline');
  });

  it('promises the baseline only when asked, and the Debian figures only with runs', () => {
    const keys = (o: Parameters<typeof promisedFigures>[0]) => promisedFigures(o);
    expect(keys(opts).some((n) => n.includes('.base.'))).toBe(false);
    expect(keys({ ...opts, baseline: 'HEAD~1' })).toContain('handover.base.smp8.maxMs.max');
    expect(keys({ ...opts, linuxRuns: 0 }).some((n) => n.startsWith('linux.') || n.startsWith('handover.'))).toBe(false);
    const every: SeriesKey[] = ['resetVector.own.smp1', 'resetVector.qemu.smp8', 'pio.c'];
    for (const k of every) expect(keys(opts).some((n) => n.startsWith(k))).toBe(true);
  });

  it('with --only, promises that comparison\'s figures and its ratios, nothing else, not the lab start', () => {
    const names = promisedFigures({ ...opts, only: ['disk'] });
    expect(names).toContain('ratio.disk.own.smp8OverSmp1');
    expect(names).toContain('disk.own.smp8.resetToLogin.median');
    expect(names.filter((n) => !n.startsWith('disk.') && !n.startsWith('ratio.disk.'))).toEqual([]);
    // A disk-only run that measured nothing fails on every one of them.
    const missing = allFailures(names, benchFigures({}, { ...opts, only: ['disk'] }, 10_000)).map((f) => f.what);
    expect(missing.length).toBe(names.length);
  });
});
