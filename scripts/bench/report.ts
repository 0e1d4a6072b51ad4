// From what the boots measured (Samples) to the report: per series its runs and median, the
// ratios with their targets, the AP hand-over waits, and every failure: a series that stopped
// short says why, a ratio without enough samples says so, and a promised figure that is not there
// is a failure line. Benchmarks report, they do not gate: a missed target still exits 0; a
// measurement that could not be made exits 1. Pure: the unit tests feed it synthetic samples.

import { type Failure, fig, type Figure, median, missingFigures, type Part, ratioFigure, seriesFigures, seriesNames } from './figures.js';
import type { Sample } from './measures.js';
import { LINUX_MIN_SAMPLES } from './options.js';
import { type ComparisonName, plannedSeries, type Samples, SERIES, type SeriesKey } from './plan.js';

export const TARGETS = {
  /** Own VMM / the C loop, PIO exit round trip. */
  pio: 1.1,
  /** Own VMM / QEMU, Debian reset to init at SMP 1 and SMP 8. */
  linuxSmp1: 0.8,
  linuxSmp8: 1.0,
  /** Own VMM SMP 8 / SMP 1, Debian reset to init. */
  smp8OverSmp1: 1.2,
  /** Own VMM SMP 8 / SMP 1, Debian from disk to the login prompt (seed 002's stack took 4.0). */
  diskSmp8OverSmp1: 1.5,
} as const;

/** `bootgate lab -- echo` start to its first output line should stay within this (issue 3). */
export const LAB_FIRST_OUTPUT_BUDGET_MS = 10_000;
const LAB_PREFIX = 'lab.firstOutput';
const LAB_RATIO = 'ratio.lab.firstOutputOverBudget';

/** The lab's start-to-first-output figures (measured on the host, lab/first-output.ts), the ratio to its budget. */
export function labFigures(firstLineMs: readonly number[]): Figure[] {
  const figures = seriesFigures(LAB_PREFIX, 'bootgate lab (QEMU TCG): start to first output line', 'ms', firstLineMs);
  if (firstLineMs.length > 0) figures.push(fig(LAB_RATIO, 'bootgate lab start to first output line / the 10 s budget', median(firstLineMs) / LAB_FIRST_OUTPUT_BUDGET_MS, 'ratio', 1));
  return figures;
}

/** Runs per stack of the comparison a series belongs to. */
function seriesRuns(key: SeriesKey, opts: { runs: number; linuxRuns: number }): number {
  return key.startsWith('linux.') || key.startsWith('uefi.') || key.startsWith('disk.') ? opts.linuxRuns : opts.runs;
}

/** The figure-name prefix of a series (`linux.own.smp1` -> `linux.own.smp1.resetToInit`). */
export function prefixOf(key: SeriesKey): string {
  if (key.startsWith('pio.')) return `${key}.roundTrip`;
  if (key.startsWith('disk.')) return `${key}.resetToLogin`;
  return key.startsWith('linux.') || key.startsWith('uefi.') ? `${key}.resetToInit` : key;
}

/** The hand-over series of an own-VMM SMP 8 Debian boot series. */
const HANDOVER = { 'linux.own.smp8': 'handover.own.smp8', 'linux.base.smp8': 'handover.base.smp8' } as const;

function values(samples: Samples, key: SeriesKey): number[] {
  return (samples[key]?.samples ?? []).map((s) => s.value);
}

function handoverFigures(samples: Samples, key: keyof typeof HANDOVER, who: string): Part {
  const got = samples[key]?.samples ?? [];
  const withHandover = got.flatMap((s): Array<NonNullable<Sample['handover']>> => (s.handover ? [s.handover] : []));
  const medians = withHandover.flatMap((h) => (h.medianMs === undefined ? [] : [h.medianMs]));
  const maxes = withHandover.map((h) => h.maxMs);
  const prefix = HANDOVER[key];
  const figures = [
    ...seriesFigures(`${prefix}.medianMs`, `AP hand-over wait, ${who}, Debian SMP 8: median of the boot`, 'ms', medians),
    ...seriesFigures(`${prefix}.maxMs`, `AP hand-over wait, ${who}, Debian SMP 8: longest of the boot`, 'ms', maxes),
  ];
  if (maxes.length > 0) figures.push(fig(`${prefix}.maxMs.max`, `AP hand-over wait, ${who}, Debian SMP 8: longest of all boots`, Math.max(...maxes), 'ms'));
  const failures: Failure[] = [];
  if (got.length > withHandover.length) failures.push({ what: `AP hand-over wait, ${who}`, reason: `${got.length - withHandover.length} of ${got.length} boots reported no handover in their exit profile` });
  else if (withHandover.length > medians.length) failures.push({ what: `AP hand-over wait median, ${who}`, reason: 'the exit profile reports no handover.medianMs (VMMs before it was added report only the count and the longest)' });
  return { figures, failures };
}

/**
 * The own VMM's reset vector counted from its process's start, as QEMU's is from its spawn: Node's
 * start-up and the CLI's loading, with the device owner's worker started meanwhile
 * (vmm/owner-prewarm.ts), are in it. The series' own figure counts from runVm.
 */
const FROM_PROCESS = {
  'resetVector.own.smp1': { qemu: 'resetVector.qemu.smp1', smp: 1 },
  'resetVector.own.smp8': { qemu: 'resetVector.qemu.smp8', smp: 8 },
} as const;

/** The figure names of one FROM_PROCESS entry: its median and its ratio over QEMU. */
const fromProcessNames = (key: string, smp: number) => ({ median: `${key}.fromProcess.median`, ratio: `ratio.resetVector.smp${smp}.ownFromProcessOverQemu` });

function fromProcessFigures(samples: Samples): Part {
  const figures: Figure[] = [];
  const failures: Failure[] = [];
  for (const [key, { qemu, smp }] of Object.entries(FROM_PROCESS) as Array<[keyof typeof FROM_PROCESS, (typeof FROM_PROCESS)[keyof typeof FROM_PROCESS]]>) {
    const got = samples[key]?.samples ?? [];
    if (got.length === 0) continue;
    const totals = got.flatMap((s) => (s.processMs === undefined ? [] : [s.value + s.processMs]));
    if (totals.length < got.length) {
      failures.push({ what: `VMM start to reset vector SMP ${smp}, own VMM from its process's start`, reason: `${got.length - totals.length} of ${got.length} boots' config events carry no processMs` });
      continue;
    }
    const m = median(totals);
    const names = fromProcessNames(key, smp);
    figures.push(fig(names.median, `VMM start to reset vector, own VMM, SMP ${smp}, from the process's start (Node and the CLI counted), median`, m, 'ms'));
    const q = values(samples, qemu);
    if (q.length > 0) figures.push(fig(names.ratio, `VMM start to reset vector SMP ${smp}, own VMM from its process's start / QEMU from its spawn`, m / median(q), 'ratio'));
  }
  return { figures, failures };
}

function outsideGuest(samples: Samples): Figure[] {
  const outside = (samples['linux.own.smp1']?.samples ?? []).flatMap((s) => (s.outsideGuestMs === undefined ? [] : [s.outsideGuestMs]));
  const own = values(samples, 'linux.own.smp1');
  const qemu = values(samples, 'linux.qemu.smp1');
  if (outside.length === 0 || own.length === 0 || qemu.length === 0) return [];
  const m = median(outside);
  return [
    fig('linux.own.smp1.outsideGuest.median', `${SERIES['linux.own.smp1'].label}: outside the guest (exit handling), median`, m, 'ms'),
    // The rest is the guest running (and KVM's entry/exit work), the same on both stacks.
    fig('ratio.linux.smp1.ownOverQemu.freeExits', 'Debian reset to init SMP 1, own / QEMU if exit handling were free', (median(own) - m) / median(qemu), 'ratio'),
  ];
}

const side = (samples: Samples, key: SeriesKey) => ({ label: SERIES[key].label, samples: values(samples, key) });

/** The ratio figures: name, label, the two series, target, least samples. */
const RATIOS: Array<{ name: string; label: string; over: SeriesKey; under: SeriesKey; target?: number; minSamples?: number }> = [
  { name: 'ratio.pio.ownOverC', label: 'PIO exit round trip, own VMM / C loop', over: 'pio.own', under: 'pio.c', target: TARGETS.pio },
  { name: 'ratio.pio.ownNativeOverC', label: 'PIO exit round trip, own VMM on a native vCPU thread / C loop', over: 'pio.own.native', under: 'pio.c', target: TARGETS.pio },
  { name: 'ratio.resetVector.smp1.ownOverQemu', label: 'VMM start to reset vector SMP 1, own VMM / QEMU', over: 'resetVector.own.smp1', under: 'resetVector.qemu.smp1' },
  { name: 'ratio.resetVector.smp8.ownOverQemu', label: 'VMM start to reset vector SMP 8, own VMM / QEMU', over: 'resetVector.own.smp8', under: 'resetVector.qemu.smp8' },
  { name: 'ratio.linux.smp1.ownOverQemu', label: 'Debian reset to init SMP 1, own VMM / QEMU', over: 'linux.own.smp1', under: 'linux.qemu.smp1', target: TARGETS.linuxSmp1, minSamples: LINUX_MIN_SAMPLES },
  { name: 'ratio.linux.smp8.ownOverQemu', label: 'Debian reset to init SMP 8, own VMM / QEMU', over: 'linux.own.smp8', under: 'linux.qemu.smp8', target: TARGETS.linuxSmp8 },
  { name: 'ratio.linux.own.smp8OverSmp1', label: 'Debian reset to init, own VMM SMP 8 / SMP 1', over: 'linux.own.smp8', under: 'linux.own.smp1', target: TARGETS.smp8OverSmp1 },
  { name: 'ratio.uefi.smp1.ownOverQemu', label: 'OVMF reset to init SMP 1, own VMM / QEMU', over: 'uefi.own.smp1', under: 'uefi.qemu.smp1' },
  { name: 'ratio.disk.smp1.ownOverQemu', label: 'Debian from disk, reset to login SMP 1, own VMM / QEMU', over: 'disk.own.smp1', under: 'disk.qemu.smp1' },
  { name: 'ratio.disk.smp8.ownOverQemu', label: 'Debian from disk, reset to login SMP 8, own VMM / QEMU', over: 'disk.own.smp8', under: 'disk.qemu.smp8' },
  { name: 'ratio.disk.own.smp8OverSmp1', label: 'Debian from disk, reset to login, own VMM SMP 8 / SMP 1', over: 'disk.own.smp8', under: 'disk.own.smp1', target: TARGETS.diskSmp8OverSmp1 },
  { name: 'ratio.linux.smp8.ownOverBaseline', label: 'Debian reset to init SMP 8, own VMM / --baseline', over: 'linux.own.smp8', under: 'linux.base.smp8' },
];

/** Every figure and failure the samples give. */
export function benchFigures(samples: Samples, opts: { runs: number; linuxRuns: number; only?: readonly ComparisonName[] | null }, iterations: number): Part {
  const withPio = opts.only == null || opts.only.includes('pio');
  const figures: Figure[] = withPio ? [fig('pio.iterations', 'PIO guest: port-0x80 writes per run', iterations, 'count')] : [];
  const failures: Failure[] = [];
  const add = (p: Part) => {
    figures.push(...p.figures);
    failures.push(...p.failures);
  };
  for (const key of Object.keys(SERIES) as SeriesKey[]) {
    const s = samples[key];
    if (!s) continue;
    const runs = seriesRuns(key, opts);
    figures.push(...seriesFigures(prefixOf(key), SERIES[key].label, SERIES[key].unit, values(samples, key)));
    if (s.error !== undefined) failures.push({ what: SERIES[key].label, reason: s.error });
    else if (s.samples.length < runs) failures.push({ what: SERIES[key].label, reason: `${s.samples.length} of ${runs} runs gave a sample, and none reported an error` });
  }
  for (const r of RATIOS) add(ratioFigure(r.name, r.label, { over: side(samples, r.over), under: side(samples, r.under) }, r));
  if (samples['linux.own.smp8']) add(handoverFigures(samples, 'linux.own.smp8', 'own VMM'));
  if (samples['linux.base.smp8']) {
    add(handoverFigures(samples, 'linux.base.smp8', 'own VMM at --baseline'));
    for (const stat of ['medianMs', 'maxMs'] as const) {
      const over = figures.find((f) => f.name === `handover.own.smp8.${stat}.median`);
      const under = figures.find((f) => f.name === `handover.base.smp8.${stat}.median`);
      if (over && under) figures.push(fig(`ratio.handover.${stat}.ownOverBaseline`, `AP hand-over wait (${stat === 'medianMs' ? 'median' : 'longest'} per boot), own VMM / --baseline`, over.value / under.value, 'ratio'));
    }
  }
  add(fromProcessFigures(samples));
  figures.push(...outsideGuest(samples));
  return { figures, failures };
}

/**
 * Every figure a bench with these options must print: per series each run and the median, the
 * ratios, the hand-over waits, and (without --only) the lab's start.
 */
export function promisedFigures(opts: { runs: number; linuxRuns: number; baseline: string | null; only?: readonly ComparisonName[] | null }): string[] {
  const only = opts.only ?? null;
  const keys = plannedSeries(opts.linuxRuns, opts.baseline !== null, only);
  const names = [...(only === null || only.includes('pio') ? ['pio.iterations'] : []), ...keys.flatMap((k) => seriesNames(prefixOf(k), seriesRuns(k, opts)))];
  names.push(...RATIOS.filter((r) => keys.includes(r.over) && keys.includes(r.under)).map((r) => r.name));
  for (const [key, prefix] of Object.entries(HANDOVER)) {
    if (!keys.includes(key as SeriesKey)) continue;
    names.push(...seriesNames(`${prefix}.medianMs`, opts.linuxRuns), ...seriesNames(`${prefix}.maxMs`, opts.linuxRuns), `${prefix}.maxMs.max`);
  }
  if (keys.includes('linux.base.smp8')) names.push('ratio.handover.medianMs.ownOverBaseline', 'ratio.handover.maxMs.ownOverBaseline');
  for (const [key, { qemu, smp }] of Object.entries(FROM_PROCESS)) {
    if (!keys.includes(key as SeriesKey)) continue;
    const n = fromProcessNames(key, smp);
    names.push(n.median);
    if (keys.includes(qemu)) names.push(n.ratio);
  }
  if (only === null) names.push(...seriesNames(LAB_PREFIX, opts.runs), LAB_RATIO);
  return names;
}

/** All failures of a run: the measurements' own and a line per promised figure not printed. */
export function allFailures(promised: readonly string[], part: Part): Failure[] {
  return [...part.failures, ...missingFigures(promised, part.figures)];
}
