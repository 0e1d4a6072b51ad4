// `npm run soak -- --runs N [--target NAME]... [FILE-FILTER]...`: the conformance run N times in
// a row with no reruns (BOOTGATE_NO_RERUN=1: a wedged lab or a fault fails the boot instead of
// being retried), each run's reports in its own folder, then each testcase's pass rate by its
// JUnit identity (reports/identity.ts), the runs' wall times and the flaky and rerun counts.
// Exits 1 when any testcase failed in any run, any run failed or left testcases out, or anything
// was rerun or flaky despite BOOTGATE_NO_RERUN; 2 for bad options. Flakes are measured, not hidden.
//
// A soak of 10 runs takes hours (a conformance run in the nested lab is 30-40 min), so it can be
// built up over several sittings: each finished run leaves run-N/soak-run.json (its wall time,
// exit code and the commit it tested), and `--resume --out DIR` counts those runs and goes on to
// --runs in all. A run that was cut off (no soak-run.json) is set aside, renamed with its evidence,
// and named in the report; it is run again, since it never finished to count either way. Runs of
// another commit are refused: a soak measures one version of the code.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type JunitCase, readJunit } from '../reports/read-junit.js';
import { checkTargets, DEFAULT_TARGET, main as conformance, REPORT_DIR_ENV } from './conformance.js';

/** targets/vmm/lab-rerun.ts reads exactly this: set to 1, nothing is rerun. */
export const NO_RERUN_ENV = 'BOOTGATE_NO_RERUN';

export const USAGE = `usage: npm run soak -- --runs N [--target NAME]... [--out DIR [--resume]] [FILE-FILTER]...
  --runs N        conformance runs in all, one after the other (1..1000)
  --target NAME   as for npm run conformance (default ${DEFAULT_TARGET}); repeatable
  --out DIR       where run-1/, run-2/, ... go (default reports/soak/<start time>)
  --resume        count the finished runs already in --out DIR (same commit) and run the rest
  FILE-FILTER     passed to vitest (e.g. reset-vector)
Every run has ${NO_RERUN_ENV}=1. Exit 1 when any testcase failed in any run.`;

export interface SoakOptions {
  help: boolean;
  runs: number;
  targets: string[];
  out: string | undefined;
  resume: boolean;
  filters: string[];
}

/** Throws a TypeError naming the bad option. */
export function parseSoakArgs(argv: string[]): SoakOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string' },
        target: { type: 'string', multiple: true },
        out: { type: 'string' },
        resume: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
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
  const resume = parsed.values.resume ?? false;
  if (resume && parsed.values.out === undefined) throw new TypeError('--resume needs the soak\'s folder (fix: --resume --out reports/soak/<its start time>)');
  const targets = (parsed.values.target ?? []).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  return { help, runs, targets: targets.length > 0 ? [...new Set(targets)] : [DEFAULT_TARGET], out: parsed.values.out, resume, filters: parsed.positionals };
}

export interface SoakRun {
  run: number;
  wallMs: number;
  exitCode: number;
  /** Every testcase of the run's junit.xml files (every target, @lab ones included, reports into one). */
  cases: JunitCase[];
}

/** What a finished run leaves in its folder, so that a later --resume counts it. */
export interface RunRecord {
  run: number;
  wallMs: number;
  exitCode: number;
  /** `git describe --always --dirty` of the checkout the run tested. */
  commit: string;
  targets: string[];
  filters: string[];
  finishedAt: string;
}
export const RUN_RECORD = 'soak-run.json';

/** The runs already in a soak folder: finished ones (with their record) and cut-off ones (without). */
export function priorRuns(out: string): { finished: RunRecord[]; cutOff: number[]; setAside: string[] } {
  const finished: RunRecord[] = [];
  const cutOff: number[] = [];
  const setAside: string[] = [];
  if (!existsSync(out)) return { finished, cutOff, setAside };
  for (const entry of readdirSync(out, { withFileTypes: true })) {
    if (entry.isDirectory() && /^run-\d+\.cut-off-/.test(entry.name)) setAside.push(entry.name);
    const m = /^run-(\d+)$/.exec(entry.name);
    if (!entry.isDirectory() || !m) continue;
    const record = join(out, entry.name, RUN_RECORD);
    if (existsSync(record)) finished.push(JSON.parse(readFileSync(record, 'utf8')) as RunRecord);
    else cutOff.push(Number(m[1]));
  }
  finished.sort((a, b) => a.run - b.run);
  cutOff.sort((a, b) => a - b);
  return { finished, cutOff, setAside: setAside.sort() };
}

/** A soak folder's name for a run that was cut off, set aside at `when`. */
export function cutOffName(run: number, when: Date): string {
  return `run-${run}.cut-off-${when.toISOString().replace(/[:.]/g, '-')}`;
}

/** Why the finished runs cannot be continued by this soak, or undefined when they can. */
export function resumeProblem(finished: readonly RunRecord[], now: Pick<RunRecord, 'commit' | 'targets' | 'filters'>, runs: number): string | undefined {
  const gap = finished.findIndex((r, i) => r.run !== i + 1);
  if (gap >= 0) return `the finished runs are not run-1 to run-${finished.length} (run-${finished[gap]!.run} is the ${gap + 1}. one): not a soak this tool wrote`;
  const other = finished.find((r) => r.commit !== now.commit);
  if (other) return `run-${other.run} tested ${other.commit}, this checkout is ${now.commit}: a soak measures one version of the code (fix: a new --out, or check out ${other.commit})`;
  const key = (r: Pick<RunRecord, 'targets' | 'filters'>) => JSON.stringify([[...r.targets].sort(), [...r.filters].sort()]);
  const unlike = finished.find((r) => key(r) !== key(now));
  if (unlike) return `run-${unlike.run} ran --target ${unlike.targets.join(',')} ${unlike.filters.join(' ')}, not what was asked now (fix: the same options, or a new --out)`;
  if (finished.length > runs) return `${finished.length} runs are finished already, more than --runs ${runs}`;
  return undefined;
}

/** The checkout's commit as a soak records it; 'unknown' outside a git checkout. */
export function checkoutCommit(): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
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
export function formatSoak(runs: readonly SoakRun[], v: SoakVerdict, setAside: readonly string[] = []): string {
  const lines: string[] = [];
  for (const a of setAside) lines.push(`set aside (cut off before it finished; run again): ${a}`);
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
  const commit = checkoutCommit();
  const prior = priorRuns(out);
  if (!opts.resume && (prior.finished.length > 0 || prior.cutOff.length > 0)) {
    console.error(`soak: ${out} holds runs already (fix: --resume to continue that soak, or another --out)`);
    return 2;
  }
  const cannot = resumeProblem(prior.finished, { commit, targets: opts.targets, filters: opts.filters }, opts.runs);
  if (cannot) {
    console.error(`soak: cannot resume ${out}: ${cannot}`);
    return 2;
  }
  const setAside = [...prior.setAside];
  for (const n of prior.cutOff) {
    const to = cutOffName(n, new Date());
    renameSync(join(out, `run-${n}`), join(out, to));
    setAside.push(to);
  }
  console.log(
    `soak: ${opts.runs} conformance run(s) on ${opts.targets.join(', ')}${opts.filters.length ? ` (${opts.filters.join(' ')})` : ''} at ${commit}, ${NO_RERUN_ENV}=1, reports in ${out}/run-N${prior.finished.length ? `; ${prior.finished.length} finished already` : ''}`,
  );
  for (const a of setAside) console.log(`soak: set aside ${a} (cut off before it finished; run again)`);
  const runs: SoakRun[] = prior.finished.map((r) => ({ run: r.run, wallMs: r.wallMs, exitCode: r.exitCode, cases: junitFiles(join(out, `run-${r.run}`)).flatMap((f) => readJunit(f)) }));
  const targetArgs = opts.targets.flatMap((t) => ['--target', t]);
  for (let i = runs.length + 1; i <= opts.runs; i++) {
    const dir = join(out, `run-${i}`);
    console.log(`soak: run ${i} of ${opts.runs}`);
    const t0 = performance.now();
    const exitCode = await conformance([...targetArgs, ...opts.filters], { ...env, [NO_RERUN_ENV]: '1', [REPORT_DIR_ENV]: dir });
    const wallMs = performance.now() - t0;
    const cases = junitFiles(dir).flatMap((f) => readJunit(f));
    runs.push({ run: i, wallMs, exitCode, cases });
    const record: RunRecord = { run: i, wallMs, exitCode, commit, targets: opts.targets, filters: opts.filters, finishedAt: new Date().toISOString() };
    writeFileSync(join(dir, RUN_RECORD), `${JSON.stringify(record, null, 2)}\n`);
    console.log(`soak: run ${i} took ${seconds(wallMs)}, exit ${exitCode}, reports ${relative(process.cwd(), dir) || dir}`);
  }
  const verdict = aggregate(runs);
  console.log(`\n${formatSoak(runs, verdict, setAside)}`);
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
