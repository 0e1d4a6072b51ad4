// `node dist/scripts/bench.js [--json FILE] [--iterations N] [--runs N] [--seabios FILE]` (npm run bench):
// the benchmark baseline. Comparisons, each run alternating between the stacks so that drift
// on the host hits both alike, the median taken per stack:
//   1. port-I/O exit round trip on guests/bench/pio-loop.asm: the own VMM vs the raw C loop
//      native/kvm-exit-loop.c (target: own/C <= 1.10);
//   2. SeaBIOS reset to boot attempt ("Booting from" / "No bootable device" on the serial console,
//      timed from spawn): the own VMM vs QEMU with -accel kvm (target: own/QEMU <= 0.8);
//   3. the nested lab's start to first output (target: 10 s);
//   4. Debian reset to init, own VMM vs QEMU -accel kvm at SMP 1 (target 0.8) and own SMP 8 /
//      SMP 1 (target 1.5): scripts/bench-linux.ts, in the lab where this KVM cannot run Linux.
// Stacks compared with each other always share one /dev/kvm. Benchmarks report, they do not gate: a missed target
// still exits 0; a measurement that could not be made exits 1 and says why, and so does a stack
// with fewer samples than runs or any promised figure (promisedFigures) that was not printed.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveFixture } from '../fixtures/fixtures.js';
import { buildPioLoop, DEFAULT_PIO_ITERATIONS, repoRoot } from '../guests/bench/build.js';
import { type FirstOutputSample, measureLabFirstOutput } from '../lab/first-output.js';
import { BootgateError, configError } from '../vmm/errors.js';
import { benchLinux, LINUX_STACKS } from './bench-linux.js';
import {
  alternate,
  describeError as describe,
  type Failure,
  fig,
  type Figure,
  failuresOf,
  guarded,
  median,
  medianOf,
  missingFigures,
  seriesFigures,
  seriesNames,
} from './bench-figures.js';

export { type Figure, median, seriesFigures };
import type { PortStats } from '../vmm/events.js';

const USAGE = `usage: node dist/scripts/bench.js [--json FILE] [--iterations N] [--runs N] [--seabios FILE]
  --json FILE       also write every figure as [{name, value, unit, ratio, target}]
  --iterations N    port-0x80 writes in the PIO guest (default ${DEFAULT_PIO_ITERATIONS})
  --runs N          runs per stack and comparison, alternating (default 3)
  --seabios FILE    SeaBIOS image for both stacks (default: fixture seabios-256k)
  --linux-runs N    runs of the Debian reset-to-init comparison, 4 boots each (default 2; 0: leave
                    it out); in the nested lab where this host's KVM cannot run Linux (~1 min a boot)`;

/** The POST-code port the PIO guest writes (guests/bench/pio-loop.asm). */
const POST_PORT = 0x80;
const PIO_RATIO_TARGET = 1.1;
const SEABIOS_RATIO_TARGET = 0.8;
/** SeaBIOS's first boot attempt; with no disks "Booting from Hard Disk..." comes first. */
const BOOT_ATTEMPT = /No bootable device|Booting from/;
const SEABIOS_BANNER = /SeaBIOS \(version/;
const SEABIOS_FIXTURE = 'seabios-256k';
const SEABIOS_MEM_MIB = 512;
const VMM_TIMEOUT_S = 120;
/** Our own deadline for any child: the VMM's timeout plus room to write its final event. */
const CHILD_DEADLINE_MS = (VMM_TIMEOUT_S + 30) * 1000;
const KILL_GRACE_MS = 3000;
/** How long the own VMM may take to exit by itself after its --until line. */
const VMM_EXIT_GRACE_MS = 10_000;
const TAIL_CHARS = 2000;
const QEMU = 'qemu-system-x86_64';

export interface BenchOptions {
  help: boolean;
  json: string | null;
  iterations: number;
  runs: number;
  seabios: string | null;
  /** Runs of the Debian comparison (four boots each); 0 leaves it out. */
  linuxRuns: number;
}



// ---------------------------------------------------------------- options

function intOption(option: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw configError(option, raw, `an integer in [${min}, ${max}]`);
  }
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'string' },
        iterations: { type: 'string' },
        runs: { type: 'string' },
        seabios: { type: 'string' },
        'linux-runs': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    throw new BootgateError('E_CONFIG', (err as Error).message, { hint: USAGE.split('\n')[0]!, cause: err });
  }
  const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    help: values.help === true,
    json: str(values.json) ?? null,
    iterations: intOption('--iterations', str(values.iterations), DEFAULT_PIO_ITERATIONS, 2, 0xffff_ffff),
    runs: intOption('--runs', str(values.runs), 3, 1, 100),
    seabios: str(values.seabios) ?? null,
    linuxRuns: intOption('--linux-runs', str(values['linux-runs']), 2, 0, 20),
  };
}

// ---------------------------------------------------------------- child processes

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Tracked {
  child: ChildProcess;
  /** Resolves on 'exit'; rejects when the program could not be started. */
  exit: Promise<Exit>;
  /** Resolves on 'close' (exited and stdio drained). */
  closed: Promise<Exit>;
  stdout: Tail;
  stderr: Tail;
}

/** The last TAIL_CHARS characters of a stream, for failure messages. */
class Tail {
  private text = '';
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-TAIL_CHARS);
  }
  toString(): string {
    return this.text.trim();
  }
}

/** Every child we started, so a signal to the runner takes them down too. */
const live = new Set<ChildProcess>();

/** Resolves with the child's status on `event` ('exit': process gone; 'close': stdio drained too). */
function ended(child: ChildProcess, event: 'exit' | 'close'): Promise<Exit> {
  return new Promise<Exit>((resolve) => {
    child.once(event, (code: number | null, signal: NodeJS.Signals | null) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
}

function spawnTracked(cmd: string, args: string[], installHint: string): Tracked {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const stdout = new Tail();
  const stderr = new Tail();
  child.stdout!.setEncoding('latin1');
  child.stderr!.setEncoding('latin1');
  child.stderr!.on('data', (c: string) => stderr.push(c));
  const exitEvent = ended(child, 'exit');
  const closeEvent = ended(child, 'close');
  const started = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      live.delete(child);
      const missing = err.code === 'ENOENT';
      reject(
        new BootgateError(missing ? 'E_FIXTURE' : 'E_INTERNAL', `cannot run ${cmd}: ${err.message}`, {
          hint: missing ? installHint : undefined,
          cause: err,
        }),
      );
    });
  });
  const exit = started.then(() => exitEvent);
  const closed = started.then(() => closeEvent);
  // Callers may not await both; keep an early spawn failure from being an unhandled rejection.
  exit.catch(() => undefined);
  closed.catch(() => undefined);
  return { child, exit, closed, stdout, stderr };
}

function timer(ms: number): { elapsed: Promise<'timeout'>; cancel: () => void } {
  let handle: NodeJS.Timeout | undefined;
  const elapsed = new Promise<'timeout'>((resolve) => {
    handle = setTimeout(() => resolve('timeout'), ms);
  });
  return { elapsed, cancel: () => clearTimeout(handle) };
}

async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  const t = timer(ms);
  try {
    const r = await Promise.race([p.then(() => 'done' as const, () => 'done' as const), t.elapsed]);
    return r === 'done';
  } finally {
    t.cancel();
  }
}

/** SIGTERM, then SIGKILL after a grace period; returns once the child is gone. */
async function stopChild(t: Tracked): Promise<void> {
  const { child } = t;
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await settlesWithin(t.exit, KILL_GRACE_MS)) return;
  child.kill('SIGKILL');
  await t.exit.catch(() => undefined);
}

function describeExit(e: Exit | null): string {
  if (e === null) return 'still running';
  return e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
}

/** Runs to completion (or the deadline) collecting all of stdout. */
async function runCollect(cmd: string, args: string[], installHint: string): Promise<Exit & { stdout: string; stderr: string }> {
  const t = spawnTracked(cmd, args, installHint);
  let out = '';
  t.child.stdout!.on('data', (c: string) => {
    out += c;
  });
  const deadline = timer(CHILD_DEADLINE_MS);
  try {
    const r = await Promise.race([t.closed, deadline.elapsed]);
    if (r === 'timeout') {
      throw new BootgateError('E_TIMEOUT', `${cmd} did not finish within ${CHILD_DEADLINE_MS / 1000} s; stderr: ${t.stderr}`);
    }
    return { ...r, stdout: out, stderr: t.stderr.toString() };
  } finally {
    deadline.cancel();
    await stopChild(t);
  }
}

/** Records, per named pattern, the first time (ms since spawn) a stdout line matches it. */
export class LineMarks {
  readonly seen = new Map<string, number>();
  private partial = '';

  constructor(private readonly marks: ReadonlyArray<readonly [string, RegExp]>) {}

  /** Feed a chunk received `atMs` after spawn; a partial line is tested too, so a match is never late. */
  push(chunk: string, atMs: number): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop()!.slice(-TAIL_CHARS);
    for (const line of [...lines, this.partial]) {
      for (const [name, re] of this.marks) {
        if (!this.seen.has(name) && re.test(line)) this.seen.set(name, atMs);
      }
    }
  }
}

interface Watched {
  marks: Map<string, number>;
  exit: Exit | null;
  timedOut: boolean;
  stdoutTail: string;
  stderrTail: string;
}

/**
 * Spawns, watches stdout until the `stop` mark is seen, the child ends or the deadline passes.
 * After the stop mark: 'kill' stops the child at once; 'wait' lets it exit by itself first.
 */
async function watchStdout(
  cmd: string,
  args: string[],
  marks: ReadonlyArray<readonly [string, RegExp]>,
  stop: string,
  afterStop: 'kill' | 'wait',
  installHint: string,
): Promise<Watched> {
  const t0 = performance.now();
  const t = spawnTracked(cmd, args, installHint);
  const lines = new LineMarks(marks);
  let onStop: () => void = () => undefined;
  const stopped = new Promise<'stopped'>((resolve) => {
    onStop = () => resolve('stopped');
  });
  t.child.stdout!.on('data', (chunk: string) => {
    lines.push(chunk, performance.now() - t0);
    t.stdout.push(chunk);
    if (lines.seen.has(stop)) onStop();
  });
  const deadline = timer(CHILD_DEADLINE_MS);
  let exit: Exit | null = null;
  try {
    const r = await Promise.race([stopped, t.closed, deadline.elapsed]);
    if (r === 'stopped' && afterStop === 'wait') {
      if (await settlesWithin(t.exit, VMM_EXIT_GRACE_MS)) exit = await t.exit;
      else console.error(`bench: ${cmd} ${args[0]} did not exit within ${VMM_EXIT_GRACE_MS / 1000} s of its stop line; stopping it`);
    }
    if (r !== 'stopped' && r !== 'timeout') exit = r;
    return { marks: lines.seen, exit, timedOut: r === 'timeout', stdoutTail: t.stdout.toString(), stderrTail: t.stderr.toString() };
  } finally {
    deadline.cancel();
    await stopChild(t);
  }
}

function notSeenError(what: string, pattern: RegExp, w: Watched, extra = ''): BootgateError {
  const how = w.timedOut ? `within ${CHILD_DEADLINE_MS / 1000} s` : `before it ended (${describeExit(w.exit)})`;
  return new BootgateError(
    w.timedOut ? 'E_TIMEOUT' : 'E_GUEST',
    `${what} printed no stdout line matching /${pattern.source}/ ${how}${extra}; stdout tail: ${JSON.stringify(w.stdoutTail.slice(-400))}; stderr tail: ${JSON.stringify(w.stderrTail.slice(-400))}`,
  );
}

// ---------------------------------------------------------------- the C baseline

export interface BaselineResult {
  exits: number;
  firstToLastNs: number;
  roundTripNs: number;
  wallNs: number;
}

export function parseBaselineOutput(stdout: string): BaselineResult {
  const line = stdout.trim().split('\n').pop() ?? '';
  let parsed: Partial<Record<keyof BaselineResult, unknown>>;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new BootgateError('E_INTERNAL', `kvm-exit-loop printed ${JSON.stringify(line)}, not a JSON line`, { cause: err });
  }
  for (const key of ['exits', 'firstToLastNs', 'roundTripNs', 'wallNs'] as const) {
    if (typeof parsed[key] !== 'number') throw new BootgateError('E_INTERNAL', `kvm-exit-loop output lacks "${key}": ${line}`);
  }
  return parsed as BaselineResult;
}

/** native/build/kvm-exit-loop, built with `make -C native` when missing or older than its source. */
async function ensureBaseline(root: string): Promise<string> {
  const bin = join(root, 'native', 'build', 'kvm-exit-loop');
  const src = join(root, 'native', 'kvm-exit-loop.c');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  const r = await runCollect('make', ['-C', join(root, 'native')], 'apt-get install make gcc');
  if (r.code !== 0) {
    throw new BootgateError('E_INTERNAL', `make -C native failed (${describeExit(r)}): ${r.stderr.slice(-600)}`, {
      hint: 'apt-get install gcc make linux-libc-dev',
    });
  }
  return bin;
}

async function measureBaseline(bin: string, image: string, iterations: number): Promise<number> {
  const r = await runCollect(bin, [image], `make -C native`);
  if (r.code !== 0) {
    throw new BootgateError('E_ACCEL', `kvm-exit-loop failed (${describeExit(r)}): ${r.stderr || '(no stderr)'}`);
  }
  const res = parseBaselineOutput(r.stdout);
  if (res.exits !== iterations) {
    throw new BootgateError('E_GUEST', `kvm-exit-loop saw ${res.exits} port-0x80 exits, the guest makes ${iterations}`);
  }
  return res.roundTripNs / 1000;
}

// ---------------------------------------------------------------- the own VMM

function vmmCli(root: string): string {
  const cli = join(root, 'dist', 'vmm', 'cli', 'main.js');
  if (!existsSync(cli)) {
    const source = existsSync(join(root, 'vmm', 'cli', 'main.ts')) ? 'exists but is not built' : 'does not exist yet';
    throw new BootgateError('E_CONFIG', `the own VMM CLI dist/vmm/cli/main.js is missing: vmm/cli/main.ts ${source}`, {
      hint: 'write vmm/cli/main.ts (`boot --target vmm:kvm`), then npx tsc -p .',
    });
  }
  return cli;
}

type EventRecord = Record<string, unknown>;

/** The JSON-lines events file (vmm/events.ts); a truncated last line (killed mid-write) is dropped. */
export function parseEvents(text: string): EventRecord[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.flatMap((line, i) => {
    try {
      return [JSON.parse(line) as EventRecord];
    } catch (err) {
      if (i === lines.length - 1) return [];
      throw new BootgateError('E_INTERNAL', `events file line ${i + 1} is not JSON: ${line.slice(0, 200)}`, { cause: err });
    }
  });
}

async function readEvents(path: string, what: string, run: Exit & { stderr: string }): Promise<EventRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BootgateError('E_INTERNAL', `${what} wrote no events file (${describeExit(run)}); stderr: ${run.stderr.slice(-600) || '(none)'}`, {
      cause: err,
    });
  }
  return parseEvents(text);
}

function finalEvent(events: EventRecord[], what: string): EventRecord {
  const final = [...events].reverse().find((e) => e.event === 'final');
  if (!final) throw new BootgateError('E_INTERNAL', `${what}: the events file has no "final" event (vmm/events.ts)`);
  if (final.status === 'timeout' || final.status === 'error' || final.status === 'killed') {
    const error = final.error as { code?: string; message?: string } | undefined;
    throw new BootgateError('E_GUEST', `${what} ended with status ${final.status}${error ? `: ${error.code}: ${error.message}` : ''}`);
  }
  return final;
}

/** The own VMM's port-0x80 round trip in µs, from the final event's profile.hottestPorts. */
export function vmmPioRoundTripUs(events: EventRecord[], iterations: number): number {
  const what = 'own VMM (pio-loop)';
  const final = finalEvent(events, what);
  const ports = (final.profile as { hottestPorts?: unknown } | undefined)?.hottestPorts;
  if (!Array.isArray(ports)) {
    throw new BootgateError('E_INTERNAL', `${what}: the final event lacks profile.hottestPorts (ExitProfile in vmm/events.ts)`);
  }
  const post = ports.find((p: Partial<PortStats>) => p?.port === POST_PORT) as Partial<PortStats> | undefined;
  if (!post) {
    const listed = ports.map((p: Partial<PortStats>) => p?.port).join(', ');
    throw new BootgateError('E_INTERNAL', `${what}: profile.hottestPorts has no port 0x80 entry (ports: ${listed || 'none'})`);
  }
  const { count, firstMs, lastMs } = post;
  if (typeof count !== 'number' || typeof firstMs !== 'number' || typeof lastMs !== 'number') {
    throw new BootgateError('E_INTERNAL', `${what}: the port 0x80 entry lacks count/firstMs/lastMs: ${JSON.stringify(post)}`);
  }
  if (count !== iterations) throw new BootgateError('E_GUEST', `${what} counted ${count} port-0x80 exits, the guest makes ${iterations}`);
  return ((lastMs - firstMs) * 1000) / (count - 1);
}

async function measureVmmPio(root: string, image: string, iterations: number, eventsPath: string): Promise<number> {
  const args = [vmmCli(root), 'boot', '--target', 'vmm:kvm', '--firmware-file', image, '--timeout', String(VMM_TIMEOUT_S), '--events', eventsPath];
  const r = await runCollect(process.execPath, args, 'install Node.js');
  return vmmPioRoundTripUs(await readEvents(eventsPath, 'own VMM (pio-loop)', r), iterations);
}

/** First time (ms since VMM start) of each milestone in the events file. */
export function milestones(events: EventRecord[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const e of events) {
    if (e.event === 'milestone' && typeof e.name === 'string' && typeof e.t === 'number' && !seen.has(e.name)) seen.set(e.name, e.t);
  }
  return seen;
}

// ---------------------------------------------------------------- SeaBIOS to boot attempt

interface BootSample {
  bootAttemptMs: number;
  bannerMs: number | null;
  milestones: Map<string, number>;
}

const BOOT_MARKS = [
  ['banner', SEABIOS_BANNER],
  ['boot-attempt', BOOT_ATTEMPT],
] as const;

/** QEMU's pc machine with the given BIOS and nothing else; -nographic makes SeaBIOS use the serial console. */
export function qemuArgs(bios: string): string[] {
  return [
    ...['-accel', 'kvm', '-machine', 'pc', '-m', String(SEABIOS_MEM_MIB), '-smp', '1', '-bios', bios],
    ...['-nodefaults', '-nographic', '-vga', 'none', '-serial', 'stdio', '-no-reboot'],
  ];
}

async function measureQemuSeabios(bios: string): Promise<BootSample> {
  const w = await watchStdout(QEMU, qemuArgs(bios), BOOT_MARKS, 'boot-attempt', 'kill', 'apt-get install qemu-system-x86');
  const at = w.marks.get('boot-attempt');
  if (at === undefined) throw notSeenError('QEMU', BOOT_ATTEMPT, w);
  return { bootAttemptMs: at, bannerMs: w.marks.get('banner') ?? null, milestones: new Map() };
}

async function measureVmmSeabios(root: string, firmware: string[], eventsPath: string): Promise<BootSample> {
  const args = [
    ...[vmmCli(root), 'boot', '--target', 'vmm:kvm', ...firmware, '--mem', String(SEABIOS_MEM_MIB)],
    ...['--timeout', String(VMM_TIMEOUT_S), '--until', BOOT_ATTEMPT.source, '--events', eventsPath],
  ];
  const w = await watchStdout(process.execPath, args, BOOT_MARKS, 'boot-attempt', 'wait', 'install Node.js');
  const events = existsSync(eventsPath) ? parseEvents(await readFile(eventsPath, 'utf8')) : [];
  const at = w.marks.get('boot-attempt');
  if (at === undefined) {
    const final = [...events].reverse().find((e) => e.event === 'final');
    throw notSeenError('own VMM (SeaBIOS)', BOOT_ATTEMPT, w, final ? ` (final event: status ${String(final.status)})` : ' (no final event)');
  }
  return { bootAttemptMs: at, bannerMs: w.marks.get('banner') ?? null, milestones: milestones(events) };
}

// ---------------------------------------------------------------- runs and figures






function bootFigures(prefix: string, label: string, samples: BootSample[], baseline?: { median: number; target: number }): Figure[] {
  const out = seriesFigures(`${prefix}.bootAttempt`, `${label}: spawn to boot attempt`, 'ms', samples.map((s) => s.bootAttemptMs), baseline);
  const banners = samples.flatMap((s) => (s.bannerMs === null ? [] : [s.bannerMs]));
  if (banners.length > 0) out.push(fig(`${prefix}.banner.median`, `${label}: spawn to SeaBIOS banner, median`, median(banners), 'ms'));
  const names = [...new Set(samples.flatMap((s) => [...s.milestones.keys()]))];
  for (const name of names) {
    const ts = samples.flatMap((s) => (s.milestones.has(name) ? [s.milestones.get(name)!] : []));
    out.push(fig(`${prefix}.milestone.${name}.median`, `${label}: milestone ${name} (ms since VMM start), median`, median(ts), 'ms'));
  }
  return out;
}




async function benchPio(root: string, opts: BenchOptions, tmp: string): Promise<{ figures: Figure[]; failures: Failure[] }> {
  const image = await buildPioLoop(opts.iterations);
  const bin = await ensureBaseline(root);
  const [c, vmm] = await alternate<number>(opts.runs, [
    { label: 'C baseline', run: () => measureBaseline(bin, image, opts.iterations), show: (us) => `${us.toFixed(2)} µs` },
    { label: 'own VMM', run: (i) => measureVmmPio(root, image, opts.iterations, join(tmp, `pio-${i}.jsonl`)), show: (us) => `${us.toFixed(2)} µs` },
  ]);
  const figures = [
    fig('pio.iterations', 'PIO guest: port-0x80 writes per run', opts.iterations, 'count'),
    ...seriesFigures('pio.c.roundTrip', 'PIO exit round trip, C baseline', 'us', c!.samples),
    ...seriesFigures('pio.vmm.roundTrip', 'PIO exit round trip, own VMM', 'us', vmm!.samples, medianOf(c!.samples, PIO_RATIO_TARGET)),
  ];
  return { figures, failures: failuresOf([c!, vmm!], 'PIO exit round trip', opts.runs) };
}

async function benchSeabios(root: string, opts: BenchOptions, tmp: string): Promise<{ figures: Figure[]; failures: Failure[] }> {
  const bios = opts.seabios ?? (await resolveFixture(SEABIOS_FIXTURE));
  const firmware = opts.seabios ? ['--firmware-file', opts.seabios] : ['--firmware', SEABIOS_FIXTURE];
  const show = (s: BootSample) => `boot attempt at ${s.bootAttemptMs.toFixed(0)} ms`;
  const [qemu, vmm] = await alternate<BootSample>(opts.runs, [
    { label: 'QEMU -accel kvm', run: () => measureQemuSeabios(bios), show },
    { label: 'own VMM', run: (i) => measureVmmSeabios(root, firmware, join(tmp, `seabios-${i}.jsonl`)), show },
  ]);
  const baseline = medianOf(
    qemu!.samples.map((s) => s.bootAttemptMs),
    SEABIOS_RATIO_TARGET,
  );
  const figures = [...bootFigures('seabios.qemu', 'SeaBIOS, QEMU -accel kvm', qemu!.samples), ...bootFigures('seabios.vmm', 'SeaBIOS, own VMM', vmm!.samples, baseline)];
  return { figures, failures: failuresOf([qemu!, vmm!], 'SeaBIOS reset to boot attempt', opts.runs) };
}


// ---------------------------------------------------------------- the nested lab (lab/)

/** `bootgate lab` start to the command's first output line should stay within this (issue 3). */
const LAB_FIRST_OUTPUT_BUDGET_MS = 10_000;

/** `bootgate lab -- echo` from spawn to its first output line; the ratio is to the 10 s budget. */
async function benchLab(opts: BenchOptions): Promise<{ figures: Figure[]; failures: Failure[] }> {
  const show = (s: FirstOutputSample) => `first output line at ${s.firstLineMs.toFixed(0)} ms, exit at ${s.exitMs.toFixed(0)} ms`;
  const [lab] = await alternate<FirstOutputSample>(opts.runs, [{ label: 'bootgate lab', run: () => measureLabFirstOutput(), show }]);
  const label = 'bootgate lab (QEMU TCG): start to first output line (ratio: to the 10 s budget)';
  const figures = seriesFigures('lab.firstOutput', label, 'ms', lab!.samples.map((s) => s.firstLineMs), { median: LAB_FIRST_OUTPUT_BUDGET_MS, target: 1 });
  return { figures, failures: failuresOf([lab!], 'bootgate lab start to first output line', opts.runs) };
}

// ---------------------------------------------------------------- output

function kvmModule(): string {
  try {
    const mods = readdirSync('/sys/module').filter((m) => /^kvm_(intel|amd|pvm)$/.test(m));
    return mods.length > 0 ? mods.join(', ') : 'kvm module not identified';
  } catch {
    return 'kvm module not identified';
  }
}

function formatValue(f: Figure): string {
  if (f.unit === 'count') return String(f.value);
  return `${f.value.toFixed(f.unit === 'us' ? 2 : 0)} ${f.unit === 'us' ? 'µs' : 'ms'}`;
}

export function formatTable(figures: Figure[]): string {
  const width = Math.max(6, ...figures.map((f) => f.label.length));
  const rows = figures.map((f) => {
    const ratio =
      f.ratio === null
        ? ''
        : f.target === null
          ? `  ratio ${f.ratio.toFixed(2)}`
          : `  ratio ${f.ratio.toFixed(2)} (target <= ${f.target.toFixed(2)}: ${f.ratio <= f.target ? 'met' : 'MISSED'})`;
    return `${f.label.padEnd(width)}  ${formatValue(f).padStart(10)}${ratio}`;
  });
  return [`${'figure'.padEnd(width)}  ${'value'.padStart(10)}`, ...rows].join('\n');
}

export function jsonRows(figures: Figure[]): Array<Omit<Figure, 'label'>> {
  return figures.map(({ name, value, unit, ratio, target }) => ({ name, value, unit, ratio, target }));
}

function printReport(opts: BenchOptions, figures: Figure[], failures: Failure[]): void {
  console.log(`bootgate bench: ${opts.runs} run(s) per stack, alternating; medians compared`);
  console.log(`C baseline, own VMM and QEMU all run on this host's /dev/kvm (${kvmModule()}): the ratios compare stacks on one accelerator.`);
  if (opts.linuxRuns > 0) console.log('The Debian figures compare the own VMM and QEMU on one /dev/kvm as well: this host\'s, or the nested lab\'s where this one cannot run Linux.');
  console.log('');
  console.log(formatTable(figures));
  if (failures.length > 0) {
    console.log('');
    console.log('measurements that could not be made:');
    for (const f of failures) console.log(`  ${f.what}: ${f.reason}`);
  }
}

/** Every figure a bench with these options must print: per comparison and stack, each run and the median. */
export function promisedFigures(opts: Pick<BenchOptions, 'runs' | 'linuxRuns'>): string[] {
  const names = [
    'pio.iterations',
    ...seriesNames('pio.c.roundTrip', opts.runs),
    ...seriesNames('pio.vmm.roundTrip', opts.runs),
    ...seriesNames('seabios.qemu.bootAttempt', opts.runs),
    ...seriesNames('seabios.vmm.bootAttempt', opts.runs),
    ...seriesNames('lab.firstOutput', opts.runs),
  ];
  if (opts.linuxRuns > 0) for (const s of LINUX_STACKS) names.push(...seriesNames(`linux.${s.key}.resetToInit`, opts.linuxRuns));
  return names;
}

/** Prints the figures and every failure, a missing promised figure included; the exit code. */
export function finish(opts: BenchOptions, figures: Figure[], failures: Failure[]): number {
  const all = [...failures, ...missingFigures(promisedFigures(opts), figures)];
  printReport(opts, figures, all);
  return all.length > 0 ? 1 : 0;
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const root = repoRoot();
  const tmp = await mkdtemp(join(tmpdir(), 'bootgate-bench-'));
  try {
    const pio = await guarded('PIO exit round trip', () => benchPio(root, opts, tmp));
    const boot = await guarded('SeaBIOS reset to boot attempt', () => benchSeabios(root, opts, tmp));
    const lab = await guarded('bootgate lab start to first output line', () => benchLab(opts));
    const linux = opts.linuxRuns === 0 ? { figures: [], failures: [] } : await guarded('Debian reset to init', () => benchLinux(root, opts.linuxRuns));
    const figures = [...pio.figures, ...boot.figures, ...lab.figures, ...linux.figures];
    const failures = [...pio.failures, ...boot.failures, ...lab.failures, ...linux.failures];
    const code = finish(opts, figures, failures);
    if (opts.json) await writeFile(opts.json, `${JSON.stringify(jsonRows(figures), null, 2)}\n`);
    return code;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function killLiveChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killLiveChildren();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(describe(err));
      process.exitCode = 1;
    },
  );
}
