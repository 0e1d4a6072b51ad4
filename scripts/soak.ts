// `npm run soak -- --runs N [--target NAME]... [FILE-FILTER]...`: the conformance run N times in
// a row with no reruns (BOOTGATE_NO_RERUN=1: a wedged lab or a fault fails the boot instead of
// being retried), each run's reports in its own folder, then each testcase's pass rate by its
// JUnit identity (reports/identity.ts), the runs' wall times and the flaky and rerun counts.
// Exits 1 when any testcase failed in any run, any run failed or left testcases out, or anything
// was rerun or flaky despite BOOTGATE_NO_RERUN; 2 for bad options. Flakes are measured, not hidden.

import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type JunitCase, readJunit } from '../reports/read-junit.js';
import { checkTargets, DEFAULT_TARGET, main as conformance, REPORT_DIR_ENV } from './conformance.js';

/** targets/vmm/lab-batch.ts reads exactly this: set to 1, nothing is rerun. */
export const NO_RERUN_ENV = 'BOOTGATE_NO_RERUN';

export const USAGE = `usage: npm run soak -- --runs N [--target NAME]... [--out DIR] [FILE-FILTER]...
  --runs N        conformance runs, one after the other (1..1000)
  --target NAME   as for npm run conformance (default ${DEFAULT_TARGET}); repeatable
  --out DIR       where run-1/, run-2/, ... go (default reports/soak/<start time>)
  FILE-FILTER     passed to vitest (e.g. reset-vector)
Every run has ${NO_RERUN_ENV}=1. Exit 1 when any testcase failed in any run.`;

export interface SoakOptions {
  help: boolean;
  runs: number;
  targets: string[];
  out: string | undefined;
  filters: string[];
}

/** Throws a TypeError naming the bad option. */
export function parseSoakArgs(argv: string[]): SoakOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { runs: { type: 'string' }, target: { type: 'string', multiple: true }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new TypeError(`${(e as Error).message} (fix: see --help)`);
  }
  const help = parsed.values.help ?? false;
  const raw = parsed.values.runs;
  const runs = Number(raw);
  if (!help && (raw === undefined || !/^\d+$/.test(raw) || runs < 1 || runs > 1000)) {
    throw new TypeError(`--runs must be an integer in [1, 1000], got ${raw === undefined ? 'nothing' : JSON.stringify(raw)} (fix: --runs 10)`);
  }
  const targets = (parsed.values.target ?? []).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  return { help, runs, targets: targets.length > 0 ? [...new Set(targets)] : [DEFAULT_TARGET], out: parsed.values.out, filters: parsed.positionals };
}

export interface SoakRun {
  run: number;
  wallMs: number;
  exitCode: number;
  /** Every testcase of the run's junit.xml files (every target, @lab ones included, reports into one). */
  cases: JunitCase[];
}

export interface CaseTally {
  id: string;
  passed: number;
  flaky: number;
  failed: number;
  skipped: number;
  /** Runs that had no such testcase at all. */
  absent: number;
}

export interface SoakVerdict {
  tallies: CaseTally[];
  flaky: number;
  /** Attempts beyond the first, from the flaky./rerun.attempts properties. */
  reruns: number;
  /** Why the soak fails; empty when it passes. */
  problems: string[];
}

export function identityOf(c: JunitCase): string {
  return `${c.classname} / ${c.name}`;
}

/** Per testcase over all runs, by identity; and what makes the soak fail. */
export function aggregate(runs: readonly SoakRun[]): SoakVerdict {
  const tallies = new Map<string, CaseTally>();
  let flaky = 0;
  let reruns = 0;
  const problems: string[] = [];
  for (const r of runs) {
    const seen = new Set<string>();
    for (const c of r.cases) {
      const id = identityOf(c);
      if (seen.has(id)) problems.push(`run ${r.run}: two testcases are "${id}"`);
      seen.add(id);
      const t = tallies.get(id) ?? { id, passed: 0, flaky: 0, failed: 0, skipped: 0, absent: 0 };
      t[c.result]++;
      tallies.set(id, t);
      if (c.result === 'flaky') flaky++;
      const attempts = Number(c.properties['flaky.attempts'] ?? c.properties['rerun.attempts'] ?? 1);
      if (Number.isFinite(attempts) && attempts > 1) reruns += attempts - 1;
    }
    if (r.exitCode !== 0) problems.push(`run ${r.run}: npm run conformance exited ${r.exitCode}`);
    if (r.cases.length === 0) problems.push(`run ${r.run}: no testcases in its reports`);
  }
  for (const t of tallies.values()) t.absent = runs.length - (t.passed + t.flaky + t.failed + t.skipped);
  const sorted = [...tallies.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const failed = sorted.filter((t) => t.failed > 0);
  if (failed.length > 0) problems.push(`${failed.length} testcase${failed.length === 1 ? '' : 's'} failed in at least one run`);
  const absent = sorted.filter((t) => t.absent > 0);
  if (absent.length > 0) problems.push(`${absent.length} testcase${absent.length === 1 ? '' : 's'} missing from some runs' reports`);
  if (flaky > 0 || reruns > 0) problems.push(`${flaky} flaky result(s) and ${reruns} rerun(s) although ${NO_RERUN_ENV}=1`);
  return { tallies: sorted, flaky, reruns, problems };
}

function pct(n: number, of: number): string {
  return of === 0 ? '   —' : `${((100 * n) / of).toFixed(0).padStart(3)}%`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The soak's report: per run, per testcase (clean passes / runs it ran in), totals, problems. */
export function formatSoak(runs: readonly SoakRun[], v: SoakVerdict): string {
  const lines: string[] = [];
  for (const r of runs) {
    const n = (result: JunitCase['result']) => r.cases.filter((c) => c.result === result).length;
    lines.push(`run ${r.run}: ${seconds(r.wallMs)}, exit ${r.exitCode}, ${r.cases.length} testcases: ${n('passed')} passed, ${n('flaky')} flaky, ${n('failed')} failed, ${n('skipped')} skipped`);
  }
  const walls = runs.map((r) => r.wallMs).sort((a, b) => a - b);
  if (walls.length > 0) {
    const total = walls.reduce((a, b) => a + b, 0);
    lines.push(`wall time: total ${seconds(total)}, per run min ${seconds(walls[0]!)}, median ${seconds(walls[walls.length >> 1]!)}, max ${seconds(walls[walls.length - 1]!)}`);
  }
  lines.push('', 'pass rate per testcase (clean passes / runs it ran in; flaky, failed, skipped, absent runs):');
  for (const t of v.tallies) {
    const ran = t.passed + t.flaky + t.failed;
    const extra = [t.flaky && `${t.flaky} flaky`, t.failed && `${t.failed} FAILED`, t.skipped && `${t.skipped} skipped`, t.absent && `${t.absent} absent`].filter(Boolean).join(', ');
    lines.push(`  ${`${t.passed}/${ran}`.padStart(7)} ${pct(t.passed, ran)}  ${t.id}${extra ? `  (${extra})` : ''}`);
  }
  lines.push('', `flaky: ${v.flaky}, reruns: ${v.reruns}`);
  lines.push(v.problems.length === 0 ? 'soak: passed' : `soak: FAILED: ${v.problems.join('; ')}`);
  return lines.join('\n');
}

/** Every junit.xml at or below `dir` (a run writes one; a report folder may hold sub-runs' too), skipping lab batch folders. */
export function junitFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'lab') found.push(...junitFiles(path));
    else if (entry.isFile() && entry.name === 'junit.xml') found.push(path);
  }
  return found.sort();
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let opts: SoakOptions;
  try {
    opts = parseSoakArgs(argv);
  } catch (e) {
    console.error(`soak: ${(e as Error).message}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const problem = checkTargets(opts.targets, env);
  if (problem) {
    console.error(`soak: ${problem}`);
    return 2;
  }
  // Absolute: vitest resolves a relative report folder against the repository, this process against its cwd.
  const out = resolve(opts.out ?? join('reports', 'soak', new Date().toISOString().replace(/[:.]/g, '-')));
  console.log(`soak: ${opts.runs} conformance run(s) on ${opts.targets.join(', ')}${opts.filters.length ? ` (${opts.filters.join(' ')})` : ''}, ${NO_RERUN_ENV}=1, reports in ${out}/run-N`);
  const runs: SoakRun[] = [];
  const targetArgs = opts.targets.flatMap((t) => ['--target', t]);
  for (let i = 1; i <= opts.runs; i++) {
    const dir = join(out, `run-${i}`);
    console.log(`soak: run ${i} of ${opts.runs}`);
    const t0 = performance.now();
    const exitCode = await conformance([...targetArgs, ...opts.filters], { ...env, [NO_RERUN_ENV]: '1', [REPORT_DIR_ENV]: dir });
    const wallMs = performance.now() - t0;
    const cases = junitFiles(dir).flatMap((f) => readJunit(f));
    runs.push({ run: i, wallMs, exitCode, cases });
    console.log(`soak: run ${i} took ${seconds(wallMs)}, exit ${exitCode}, reports ${relative(process.cwd(), dir) || dir}`);
  }
  const verdict = aggregate(runs);
  console.log(`\n${formatSoak(runs, verdict)}`);
  return verdict.problems.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`soak: ${(err as Error).stack ?? err}`);
      process.exitCode = 1;
    },
  );
}
