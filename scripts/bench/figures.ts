// What every benchmark reports: figures (a measured value, or the ratio of two stacks' medians
// with its target), failures (a measurement that could not be made, with the reason), and the
// helpers that run stacks alternately and summarise their samples. A stack with fewer samples
// than runs is a failure even when nothing threw, and every figure a bench promises is either
// printed or named in a failure line (missingFigures): a bench that silently printed one sample
// per stack and no SMP 8 figures exited 0.

import { BootgateError } from '../../vmm/errors.js';

/** One reported number. A `ratio` figure is one stack's median over another's; `target` only on ratios. */
export interface Figure {
  name: string;
  label: string;
  value: number;
  unit: 'us' | 'ms' | 'count' | 'ratio';
  target: number | null;
}

export interface Failure {
  what: string;
  reason: string;
}

export interface Series<T> {
  label: string;
  samples: T[];
  error: unknown;
}

/** What a comparison contributes to the report. */
export interface Part {
  figures: Figure[];
  failures: Failure[];
}

/** Runs the stacks in turn `runs` times; a stack that fails once is not retried (its reason is kept). */
export async function alternate<T>(
  runs: number,
  stacks: Array<{ label: string; run: (i: number) => Promise<T>; show: (s: T) => string }>,
  /** Called after every boot or run, success or failure, with the series so far. */
  onProgress?: (series: Series<T>[]) => void,
): Promise<Series<T>[]> {
  const series = stacks.map((s) => ({ label: s.label, samples: [] as T[], error: undefined as unknown }));
  for (let i = 0; i < runs; i++) {
    for (const [k, stack] of stacks.entries()) {
      const s = series[k]!;
      if (s.error !== undefined) continue;
      try {
        const sample = await stack.run(i);
        s.samples.push(sample);
        console.error(`bench: ${stack.label}, run ${i + 1}: ${stack.show(sample)}`);
      } catch (err) {
        s.error = err;
        console.error(`bench: ${stack.label}, run ${i + 1}: failed: ${describeError(err)}`);
      }
      onProgress?.(series);
    }
  }
  return series;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function fig(name: string, label: string, value: number, unit: Figure['unit'], target: number | null = null): Figure {
  return { name, label, value, unit, target };
}

/** Per-run figures and the median of one stack's samples (none for no samples). */
export function seriesFigures(prefix: string, label: string, unit: Figure['unit'], samples: readonly number[]): Figure[] {
  if (samples.length === 0) return [];
  const out = samples.map((v, i) => fig(`${prefix}.run${i + 1}`, `${label}, run ${i + 1}`, v, unit));
  out.push(fig(`${prefix}.median`, `${label}, median`, median(samples), unit));
  return out;
}

/** The names seriesFigures gives `runs` samples: one per run and the median. */
export function seriesNames(prefix: string, runs: number): string[] {
  return [...Array.from({ length: runs }, (_, i) => `${prefix}.run${i + 1}`), `${prefix}.median`];
}

/**
 * The ratio of two stacks' medians. Nothing when a side has no samples (that stack's own failure
 * and the missing promised figure say why); a failure when a side has fewer than `minSamples`.
 */
export function ratioFigure(
  name: string,
  label: string,
  sides: { over: { label: string; samples: readonly number[] }; under: { label: string; samples: readonly number[] } },
  opts: { target?: number; minSamples?: number } = {},
): Part {
  const { over, under } = sides;
  if (over.samples.length === 0 || under.samples.length === 0) return { figures: [], failures: [] };
  const min = opts.minSamples ?? 1;
  if (over.samples.length < min || under.samples.length < min) {
    const reason = `the comparison needs at least ${min} samples per stack; ${over.label} has ${over.samples.length}, ${under.label} ${under.samples.length}`;
    return { figures: [], failures: [{ what: label, reason }] };
  }
  return { figures: [fig(name, label, median(over.samples) / median(under.samples), 'ratio', opts.target ?? null)], failures: [] };
}

/** A failure per stack that threw, or (given `runs`) that has fewer samples than runs without saying why. */
export function failuresOf(series: Series<unknown>[], what: string, runs?: number): Failure[] {
  return series.flatMap((s) => {
    if (s.error !== undefined) return [{ what: `${what}, ${s.label}`, reason: describeError(s.error) }];
    if (runs !== undefined && s.samples.length < runs) {
      return [{ what: `${what}, ${s.label}`, reason: `${s.samples.length} of ${runs} runs gave a sample, and none reported an error` }];
    }
    return [];
  });
}

/** A failure line for every promised figure that was not printed. */
export function missingFigures(promised: readonly string[], figures: readonly Figure[]): Failure[] {
  const printed = new Set(figures.map((f) => f.name));
  return promised.filter((name) => !printed.has(name)).map((name) => ({ what: `figure ${name}`, reason: 'promised but not measured' }));
}

export function describeError(err: unknown): string {
  if (err instanceof BootgateError) return err.toLine();
  return err instanceof Error ? err.message : String(err);
}

/** Runs one comparison; a failure before any sample (no guest image, no fixture) is reported, not thrown. */
export async function guarded(what: string, body: () => Promise<Part>): Promise<Part> {
  try {
    return await body();
  } catch (err) {
    console.error(`bench: ${what}: failed: ${describeError(err)}`);
    return { figures: [], failures: [{ what, reason: describeError(err) }] };
  }
}
