// `npm run conformance -- --target qemu:tcg`: every conformance suite on the chosen targets.
// Reads --target (repeatable or comma-separated; default vmm:kvm), checks each name — the own VMM,
// or qemu:<accel> with an accelerator the QEMU binary has — and answers a bad one with one line
// naming it and the fix (exit 2) before anything boots. Then runs `vitest run --project
// conformance` with BOOTGATE_TARGETS set and stdio inherited. Positional arguments go to vitest
// as test-file filters (`-- --target qemu:kvm reset-vector`).
// Then it reads back the JUnit each run wrote and exits non-zero, saying why, when vitest failed,
// when a run wrote no report, when a testcase failed in the report (a duplicate identity fails
// only there), or when the run is incomplete: testcases this host should run were not run. An
// explicit opt-out (BOOTGATE_LINUX=0) is printed as incomplete but keeps the exit code.

import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { checkQemuAccelerator } from '../targets/qemu/target.js';
import { labInnerTarget, labUnavailable } from '../lab/index.js';
import { selectedTargets } from '../targets/index.js';
import { completeness, type JunitCase, readJunit } from '../reports/read-junit.js';

export const USAGE = `usage: npm run conformance -- [--target NAME]... [FILE-FILTER]...
  --target NAME   vmm:kvm (default), qemu:tcg, qemu:kvm or qemu:<accel> for any accelerator
                  your QEMU has (nvmm, whpx, hvf, ...); repeat it or separate names with commas;
                  NAME@lab (vmm:kvm@lab, qemu:kvm@lab) boots that stack inside the nested lab, each
                  suite's boots in one lab VM; several targets give one report, side by side
  FILE-FILTER     passed to vitest (e.g. reset-vector)
  env QEMU        the QEMU binary (default qemu-system-x86_64 on PATH)`;

export const DEFAULT_TARGET = 'vmm:kvm';
/** Where a host run's reports go (vitest.config.ts reads the same variable). */
export const REPORT_DIR_ENV = 'BOOTGATE_REPORT_DIR';
export const DEFAULT_REPORT_DIR = 'reports/out';

/** The report folder of a run. */
export function reportDirOf(env: NodeJS.ProcessEnv): string {
  return env[REPORT_DIR_ENV] ?? DEFAULT_REPORT_DIR;
}

export interface RunReport {
  /** The report folder, relative to the repository. */
  dir: string;
  /** Its testcases, or undefined when the run wrote no junit.xml. */
  cases: JunitCase[] | undefined;
}

/**
 * The lines to print about the reports and whether they fail the run: a missing report, failed
 * testcases, testcases not run. Only an explicit opt-out may leave testcases out and pass.
 */
export function judgeReports(reports: readonly RunReport[]): { fail: boolean; lines: string[] } {
  const lines: string[] = [];
  let fail = false;
  for (const r of reports) {
    if (r.cases === undefined) {
      lines.push(`no junit.xml written by this run in ${r.dir} (the reporter says why above)`);
      fail = true;
      continue;
    }
    const c = completeness(r.cases);
    if (c.failed > 0) {
      lines.push(`${c.failed} testcase${c.failed === 1 ? '' : 's'} failed (${join(r.dir, 'summary.md')})`);
      fail = true;
    }
    if (c.notRun.size === 0) continue;
    const total = [...c.notRun.values()].reduce((a, b) => a + b, 0);
    const why = [...c.notRun].map(([reason, n]) => `${n}: ${reason}`).join('; ');
    if (c.optedOut) {
      lines.push(`incomplete by explicit opt-out: ${total} testcase${total === 1 ? '' : 's'} not run (${why})`);
    } else {
      lines.push(`incomplete: ${total} testcase${total === 1 ? '' : 's'} not run (${why}); a run that leaves out what this host should run fails`);
      fail = true;
    }
  }
  return { fail, lines };
}

/**
 * A previous run's junit.xml must never stand for this run's: removed before the run (an mtime
 * test would trust the lab VM's clock for files it writes through the share).
 */
function clearReport(root: string, dir: string): void {
  rmSync(resolve(root, dir, 'junit.xml'), { force: true });
}

/** The run's junit.xml, or no cases when it wrote none (or one that does not parse). */
function readReport(root: string, dir: string): RunReport {
  try {
    return { dir, cases: readJunit(resolve(root, dir, 'junit.xml')) };
  } catch {
    return { dir, cases: undefined };
  }
}

export interface ConformanceOptions {
  help: boolean;
  targets: string[];
  filters: string[];
}

/** Throws a TypeError naming the bad option. */
export function parseConformanceArgs(argv: string[]): ConformanceOptions {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { target: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new TypeError(`${(e as Error).message} (fix: see --help)`);
  }
  const targets = (parsed.values.target ?? [])
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  return { help: parsed.values.help ?? false, targets: targets.length > 0 ? [...new Set(targets)] : [DEFAULT_TARGET], filters: parsed.positionals };
}

/** The first problem with the target names as one line, or undefined when every name can run. */
export function checkTargets(names: string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const name of names) {
    const inner = labInnerTarget(name);
    if (inner !== undefined) {
      const p = checkTargets([inner], env) ?? labUnavailable(env);
      if (p) return p;
      continue;
    }
    try {
      selectedTargets({ BOOTGATE_TARGETS: name });
    } catch (e) {
      const what = (e as Error).message.replace(/ in BOOTGATE_TARGETS/, '');
      return `${what} (fix: --target vmm:kvm or --target qemu:<accel>, e.g. qemu:tcg)`;
    }
    if (name.startsWith('qemu:')) {
      const problem = checkQemuAccelerator(name.slice('qemu:'.length), env);
      if (problem) return problem;
    }
  }
  return undefined;
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'vitest.config.ts'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no vitest.config.ts above ${fileURLToPath(import.meta.url)}; run from the bootgate checkout`);
    dir = parent;
  }
  return dir;
}

/** Runs vitest's conformance project on `targets`; resolves with its exit code (128+n on signal n). */
export function runVitest(targets: string[], filters: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const root = repoRoot();
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const child = spawn(process.execPath, [vitest, 'run', '--project', 'conformance', ...filters], {
    cwd: root,
    stdio: 'inherit',
    // The main job runs the nested lab's full matrix: what npm test leaves out there, the boots that
    // need the lab's patched QEMU (built on first use) among them (targets/vmm/lab-target.ts).
    env: { BOOTGATE_LAB_MATRIX: 'full', ...env, BOOTGATE_TARGETS: targets.join(',') },
  });
  // Ctrl-C reaches vitest through the terminal; a TERM sent to this process alone is passed on.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.on('error', (e) => {
      console.error(`conformance: cannot start vitest (${vitest}): ${e.message} (fix: npm ci)`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGTERM', forward);
      resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGKILL' ? 9 : 15));
    });
  });
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let opts: ConformanceOptions;
  try {
    opts = parseConformanceArgs(argv);
  } catch (e) {
    console.error(`conformance: ${(e as Error).message}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const problem = checkTargets(opts.targets, env);
  if (problem) {
    console.error(`conformance: ${problem}`);
    return 2;
  }
  console.log(`conformance: targets ${opts.targets.join(', ')}`);
  const root = repoRoot();
  // Every target in one vitest run, so one JUnit and one summary hold them side by side;
  // `<target>@lab` targets batch each suite's boots into a lab VM of their own (targets/index.ts).
  clearReport(root, reportDirOf(env));
  const code = await runVitest(opts.targets, opts.filters, env);
  const verdict = judgeReports([readReport(root, reportDirOf(env))]);
  for (const line of verdict.lines) console.error(`conformance: ${line}`);
  return code || (verdict.fail ? 1 : 0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`conformance: ${(err as Error).stack ?? err}`);
      process.exitCode = 1;
    },
  );
}
