// `node dist/targets/vmm/lab-series.js PLAN.json [PREVIOUS_EXIT]`, inside the nested lab: the own
// VMM's boots of a lab batch, one after another in this one process (lab-series-plan.ts says why
// and holds the plan). Each boot is the `boot` command as the CLI runs it (vmm/cli/boot-command.ts
// bootOnce), its console and messages written to the files `node ... > out 2> err` would have
// written; the batch's shell steps (the kvm trace's arm and save, the rerun test) run in one shell
// that lives as long as this process, since the trace functions keep state between calls.
//
// After a boot that did not end cleanly, that is a thread of it never stopped or the boot threw
// (not a refusal), this process leaves with SERIES_RESTART once more boots remain, and the batch
// script starts a fresh one for them. A boot that failed its verdict, timed out or was refused
// ended cleanly: runVm stopped and joined every thread of it and unmapped its memory (its
// stuckThreads list is empty), so the next boot shares the process, as a quirk boot's neighbours do.

import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { type BootOutcome, type BootOutput, bootOnce } from '../../vmm/cli/boot-command.js';
import { refusalLine } from '../../vmm/cli/main.js';
import { prewarmOwner, releasePrewarmedOwner } from '../../vmm/owner-prewarm.js';
import { parseSeriesProgress, SERIES_RESTART, type SeriesBoot, type SeriesPlan } from './lab-series-plan.js';

/** What runSeries needs from the world; the unit tests give fakes. */
export interface SeriesDeps {
  boot(argv: string[], out: BootOutput): Promise<BootOutcome>;
  /** Run shell text in the series' shell: its exit status. */
  shell(text: string): Promise<number>;
  /** A line to the host (the `@@batch` progress lines). */
  say(line: string): void;
  /** A line to the progress file, on disk before the call returns. */
  record(line: string): void;
  /** Flush the boot's files to the share (a lab killed later loses what its page cache held). */
  sync(): void;
  /** The boot's stdout and stderr files, truncated. */
  openOutput(out: string, err: string): BootOutput & { close(): void };
  /** Start the next boot's device-owner worker early; end it if no boot took it. */
  prewarm?(): void;
  release?(): Promise<void>;
}

/** One attempt: the shell before, the boot, the shell after. `clean` is false when the process must not run another boot (see the header). */
async function attempt(b: SeriesBoot, deps: SeriesDeps): Promise<{ code: number; clean: boolean }> {
  deps.prewarm?.();
  if (b.before) await deps.shell(b.before);
  const output = deps.openOutput(b.out, b.err);
  let code: number;
  let clean = true;
  try {
    const outcome = await deps.boot(b.argv, { ...output, sharedProcess: true });
    code = outcome.code;
    if (outcome.stuckThreads.length > 0) {
      output.stderr(`bootgate: ending the series process: ${outcome.stuckThreads.join(', ')} never stopped\n`);
      clean = false;
    }
  } catch (e) {
    // As the CLI: a refusal is one line and exit 2, anything else exit 70 with its stack.
    const refusal = refusalLine(e, 'boot');
    if (refusal !== undefined) {
      output.stderr(`${refusal}\n`);
      code = 2;
    } else {
      output.stderr(`bootgate: E_INTERNAL: ${(e as Error).stack ?? e}\n`);
      code = 70;
      clean = false;
    }
  } finally {
    output.close();
    await deps.release?.();
  }
  if (b.after) await deps.shell(b.after);
  return { code, clean };
}

/**
 * Runs the plan's boots not yet done (per `progressText`), in order; 0 once all are done,
 * SERIES_RESTART after a boot that did not end cleanly while others remain, or before the second
 * attempt of a boot whose first did not end cleanly. A boot the last runner started and never
 * finished is recorded as ended with `previousExit` (that runner's code).
 */
export async function runSeries(plan: SeriesPlan, progressText: string, previousExit: number, deps: SeriesDeps): Promise<number> {
  const { done, inFlight, rerunPending } = parseSeriesProgress(progressText);
  if (inFlight !== undefined) {
    deps.record(`done ${inFlight} ${previousExit}`);
    deps.say(`@@batch ${inFlight} exit ${previousExit}`);
    done.add(inFlight);
  }
  const todo = plan.boots.filter((b) => !done.has(b.id));
  if (todo.length > 0 && plan.setup) await deps.shell(plan.setup);
  for (const [i, b] of todo.entries()) {
    // A second attempt the last runner left for this one was announced (`retry`) by it.
    const second = b.id === rerunPending;
    deps.record(`start ${b.id}`);
    if (!second) deps.say(`@@batch ${b.id} start`);
    let run = await attempt(b, deps);
    if (!second && b.rerunIf && (await deps.shell(b.rerunIf)) === 0) {
      deps.record(`rerun ${b.id}`);
      deps.say(`@@batch ${b.id} retry`);
      if (!run.clean) return SERIES_RESTART;
      deps.record(`start ${b.id}`);
      run = await attempt(b, deps);
    }
    deps.sync();
    deps.record(`done ${b.id} ${run.code}`);
    deps.say(`@@batch ${b.id} exit ${run.code}`);
    if (!run.clean && i < todo.length - 1) return SERIES_RESTART;
  }
  return 0;
}

/** A shell that lives as long as the series: each call's status comes back on a marker line. */
export class SeriesShell {
  private readonly sh: ChildProcessByStdio<Writable, Readable, null>;
  private buffer = '';
  private waiting: { resolve(code: number): void; reject(e: Error): void } | undefined;
  private ended: string | undefined;
  private static readonly MARKER = '@@series-shell-status ';

  constructor(env: Record<string, string>) {
    this.sh = spawn('sh', [], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
    this.sh.stdout.setEncoding('utf8');
    this.sh.stdout.on('data', (chunk: string) => this.onData(chunk));
    // A shell that died fails the call waiting on it and every later one, not the process on a write's EPIPE.
    this.sh.stdin.on('error', () => {});
    this.sh.on('exit', (code, signal) => {
      this.ended = `the series' shell ended (${signal ?? `exit ${code}`})`;
      this.waiting?.reject(new Error(this.ended));
      this.waiting = undefined;
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.startsWith(SeriesShell.MARKER) && this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve(Number(line.slice(SeriesShell.MARKER.length)));
      } else {
        writeSync(1, `${line}\n`);
      }
    }
  }

  run(text: string): Promise<number> {
    if (this.ended) return Promise.reject(new Error(this.ended));
    if (this.waiting) return Promise.reject(new Error('one shell call at a time'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.sh.stdin.write(`${text}\necho "${SeriesShell.MARKER}$?"\n`);
    });
  }

  close(): void {
    this.sh.stdin.end();
  }
}

function fileOutput(out: string, err: string): BootOutput & { close(): void } {
  const fds = [openSync(out, 'w'), openSync(err, 'w')] as const;
  return {
    stdout: (t) => void writeSync(fds[0], t),
    stderr: (t) => void writeSync(fds[1], t),
    close: () => fds.forEach((fd) => closeSync(fd)),
  };
}

async function main(argv: string[]): Promise<number> {
  const [planFile, previous] = argv;
  if (!planFile || !existsSync(planFile)) {
    process.stderr.write(`bootgate lab series: E_CONFIG: no plan file ${JSON.stringify(planFile)} (fix: run through a lab batch, targets/vmm/lab-batch.ts)\n`);
    return 2;
  }
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as SeriesPlan;
  const progressText = existsSync(plan.progress) ? readFileSync(plan.progress, 'utf8') : '';
  const shell = new SeriesShell(plan.env);
  try {
    return await runSeries(plan, progressText, Number(previous ?? 0), {
      boot: bootOnce,
      shell: (text) => shell.run(text),
      say: (line) => void writeSync(1, `${line}\n`),
      record: (line) => {
        appendFileSync(plan.progress, `${line}\n`);
        const fd = openSync(plan.progress, 'r');
        fsyncSync(fd);
        closeSync(fd);
      },
      sync: () => void spawnSync('sync'),
      openOutput: fileOutput,
      prewarm: () => prewarmOwner(),
      release: () => releasePrewarmedOwner(),
    });
  } finally {
    shell.close();
  }
}

const isEntry = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\/dist\//, '/dist/'));
if (isEntry) {
  main(process.argv.slice(2)).then(
    // Exit now: a series that ends on a boot with stuck threads must not wait for them.
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`bootgate lab series: E_INTERNAL: ${(e as Error).stack ?? e}\n`);
      process.exit(70);
    },
  );
}
