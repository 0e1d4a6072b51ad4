// runInLab: run one command inside a fresh lab VM and come back with its exit code.
// Steps: fixtures and the cached initramfs (lab/kernel.ts, lab/initramfs.ts); a per-run folder
// with the job share (setup.sh from lab/scripts.ts) and the files QEMU writes; QEMU under TCG
// (lab/qemu-args.ts); then follow the console, stdout, stderr and status files until the status
// says `exit N` and QEMU has powered off, the deadline passes, the caller aborts, or QEMU dies.
// Every path out kills QEMU and waits for it to be gone (lab/reaper.ts also covers signals to
// this process). The deadline counts from QEMU's start: the lab boot is part of it.
// Left out: stdin (the command reads /dev/null), networking, reusing one VM for several commands.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cacheRoot, fixtureCacheDir } from '../fixtures/fixtures.js';
import { BootgateError, configError } from '../vmm/errors.js';
import { FileFollower } from './follow.js';
import { labInitramfs } from './initramfs.js';
import { labKernel } from './kernel.js';
import { type LabEnding, type LabOutcome, labOutcome } from './outcome.js';
import { projectRoot } from './project.js';
import { labCpu, labKvmAmdParams, labTcgThread, qemuArgs } from './qemu-args.js';
import { deathSignalPrefix, type LabQemuKind, labQemuBinary } from './qemu.js';
import { track } from './reaper.js';
import { LAB_SCRATCH_DIRS, setupScript } from './scripts.js';
import { parseStatus } from './status.js';
import { labKernelImage } from './vmlinux.js';

export const LAB_DEFAULTS = { smp: 2, memMiB: 2048, timeoutS: 600 } as const;
/** How often the output files are read. */
const POLL_MS = 20;
/** After `exit N` the guest powers off at once; give QEMU this long before killing it. */
const POWEROFF_GRACE_MS = 10_000;
const CONSOLE_KEEP = 64 * 1024;
const OUTPUT_KEEP = 16 * 1024;
const TAIL_LINES = 25;

export type LabStream = 'stdout' | 'stderr';

export interface LabRunOptions {
  /** argv of the command, run in `cwd` inside the lab. */
  command: readonly string[];
  /** Default: this process's working directory. */
  cwd?: string;
  /** The command's whole environment. Default: this process's. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Host folders writable inside the lab at their own path. Default: the bootgate repository. */
  rw?: readonly string[];
  smp?: number;
  memMiB?: number;
  /** Seconds from QEMU's start (boot included) until the VM is killed. */
  timeoutS?: number;
  onOutput?: (stream: LabStream, chunk: Buffer) => void;
  /** The lab kernel's console (quiet boot, the init's own lines). */
  onConsole?: (chunk: Buffer) => void;
  /** Aborting kills the VM; the result says `aborted`. */
  signal?: AbortSignal;
  /** Progress lines (fixture downloads). */
  log?: (line: string) => void;
  /** Extra kernel command line words, e.g. `loglevel=7` to see the whole boot on the console. */
  kernelArgs?: readonly string[];
  /** Which QEMU runs the lab (lab/qemu.ts): by default the patched build where it can be had (defaultLabQemuKind), else the fixture. */
  qemu?: LabQemuKind;
}

export interface LabResult extends LabOutcome {
  consoleTail: string;
  stdoutTail: string;
  stderrTail: string;
  qemuPid?: number;
  /** ms from runInLab's start: QEMU spawned, the command about to start, its first output byte, the end. */
  timings: { spawnMs: number; readyMs?: number; firstOutputMs?: number; wallMs: number };
}

/** The last `lines` lines of `text`. */
export function tailLines(text: string, lines = TAIL_LINES): string {
  return text.replaceAll('\r', '').replace(/\s+$/, '').split('\n').slice(-lines).join('\n');
}

function checkInt(option: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw configError(option, value, `an integer in [${min}, ${max}]`);
  return v;
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** The working directory must exist inside the lab: not hidden by a scratch tmpfs unless shared. */
export function checkCwd(cwd: string, rw: readonly string[]): void {
  const scratch = LAB_SCRATCH_DIRS.find((d) => isUnder(cwd, d));
  if (scratch && !rw.some((r) => isUnder(cwd, r))) {
    throw new BootgateError('E_CONFIG', `the working directory ${cwd} is below ${scratch}, which is an empty tmpfs inside the lab`, {
      hint: `share it: --rw ${cwd} (or run from a folder outside ${LAB_SCRATCH_DIRS.join(', ')})`,
    });
  }
}

/**
 * The project, and each cache folder (the fixtures, the built disk images) that lies below a
 * folder the lab covers with a tmpfs (BOOTGATE_CACHE_DIR=/tmp/...): a VMM inside must find the
 * same files as outside.
 */
export function defaultShares(cacheDirs: readonly string[] = [fixtureCacheDir(), join(cacheRoot(), 'images')]): string[] {
  const hidden = cacheDirs.filter((dir) => LAB_SCRATCH_DIRS.some((d) => isUnder(dir, d)) && existsSync(dir));
  return [projectRoot(), ...hidden];
}

/** Absolute, existing, de-duplicated writable shares; `/` itself is refused. */
export function checkRwShares(dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    const abs = resolve(d);
    if (abs === '/') throw configError('--rw', d, 'a folder below / (the host root is shared read-only)');
    if (!existsSync(abs) || !statSync(abs).isDirectory()) throw configError('--rw', d, 'an existing folder');
    if (!out.includes(abs)) out.push(abs);
  }
  return out;
}

class Keep {
  text = '';
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-this.max);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once the child has exited (at once when it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return; // never started: nothing to kill, no 'exit' will come
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited(child);
}

export interface PreparedLab {
  /** The uncompressed vmlinux (PVH boot), or the bzImage when it could not be made. */
  kernel: string;
  initrd: string;
}

let preparing: Promise<PreparedLab> | undefined;

/**
 * Everything a lab boot needs on disk: the fixtures (fetched on first use), the vmlinux and the
 * initramfs (built on first use, cached). Cheap when all is cached; call it before timing a boot.
 */
export function prepareLab(log?: (line: string) => void): Promise<PreparedLab> {
  // Lab lanes start their lab VMs at once: the second waits for the first's preparation.
  preparing ??= (async () => {
    const kernel = await labKernel(log);
    return { kernel: await labKernelImage(kernel.vmlinuz, kernel.vmlinuzSha256, log), initrd: await labInitramfs(kernel) };
  })().catch((e: unknown) => {
    preparing = undefined;
    throw e;
  });
  return preparing;
}

export async function runInLab(opts: LabRunOptions): Promise<LabResult> {
  const t0 = performance.now();
  const since = () => Math.round(performance.now() - t0);
  if (opts.command.length === 0) throw configError('command', opts.command, 'a program and its arguments after --');
  const smp = checkInt('--smp', opts.smp, LAB_DEFAULTS.smp, 1, 64);
  const memMiB = checkInt('--mem', opts.memMiB, LAB_DEFAULTS.memMiB, 256, 65536);
  const timeoutS = checkInt('--timeout', opts.timeoutS, LAB_DEFAULTS.timeoutS, 1, 86_400);
  const cwd = resolve(opts.cwd ?? process.cwd());
  if (!isAbsolute(cwd) || !existsSync(cwd)) throw configError('cwd', opts.cwd, 'an existing folder');
  const rw = checkRwShares(opts.rw ?? defaultShares());
  checkCwd(cwd, rw);

  // Building the patched QEMU takes minutes: that is said on stderr even when nobody asked for progress.
  const qemu = await labQemuBinary(opts.log ?? ((line) => process.stderr.write(`${line}\n`)), process.env, opts.qemu);
  const { kernel, initrd } = await prepareLab(opts.log);

  const dir = await mkdtemp(join(tmpdir(), 'bootgate-lab-'));
  const jobDir = join(dir, 'job');
  const files = { console: join(dir, 'console.log'), stdout: join(dir, 'stdout'), stderr: join(dir, 'stderr'), status: join(dir, 'status'), qemuLog: join(dir, 'qemu.log') };
  let child: ChildProcess | undefined;
  const followers: FileFollower[] = [];
  try {
    await mkdir(jobDir);
    await writeFile(join(jobDir, 'setup.sh'), setupScript({ rwShares: rw, cwd, env: opts.env ?? process.env, command: opts.command }));

    const consoleKeep = new Keep(CONSOLE_KEEP);
    const out = { stdout: new Keep(OUTPUT_KEEP), stderr: new Keep(OUTPUT_KEEP) };
    let statusText = '';
    let firstOutputMs: number | undefined;
    let readyMs: number | undefined;
    followers.push(
      new FileFollower(files.console, (c) => {
        consoleKeep.push(c);
        opts.onConsole?.(c);
      }),
      ...(['stdout', 'stderr'] as const).map(
        (stream) =>
          new FileFollower(files[stream], (c) => {
            firstOutputMs ??= since();
            out[stream].push(c);
            opts.onOutput?.(stream, c);
          }),
      ),
      new FileFollower(files.status, (c) => {
        statusText += c.toString('utf8');
      }),
    );
    const pollAll = async () => {
      for (const f of followers) await f.poll();
      if (readyMs === undefined && parseStatus(statusText).ready) readyMs = since();
    };

    const [cmd, ...prefix] = [...deathSignalPrefix(), qemu];
    const args = [...prefix, ...qemuArgs({ kernel, initrd, smp, memMiB, jobDir, rwShares: rw, files, append: opts.kernelArgs, tcgThread: labTcgThread(), cpu: labCpu(), kvmAmdParams: labKvmAmdParams() })];
    const spawned = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = spawned;
    track(spawned);
    const qemuStderr = new Keep(OUTPUT_KEEP);
    spawned.stderr!.on('data', (c: Buffer) => qemuStderr.push(c));
    let spawnError: Error | undefined;
    spawned.once('error', (e) => {
      spawnError = e;
    });
    const spawnMs = since();
    const deadline = performance.now() + timeoutS * 1000;

    let ending: LabEnding | undefined;
    let poweroffBy: number | undefined;
    while (ending === undefined) {
      await sleep(POLL_MS);
      await pollAll();
      const status = parseStatus(statusText);
      if (spawned.exitCode !== null || spawned.signalCode !== null || spawnError !== undefined) ending = 'vm-exited';
      else if (opts.signal?.aborted) ending = 'aborted';
      else if (performance.now() > deadline) ending = 'timeout';
      else if (status.exitCode !== undefined || status.setupFailed !== undefined) {
        // The guest powers off right after reporting; a VM that does not is killed after a grace.
        poweroffBy ??= performance.now() + POWEROFF_GRACE_MS;
        if (performance.now() > poweroffBy) ending = 'reported';
      }
    }
    const qemuExit = ending === 'vm-exited' ? { code: spawned.exitCode, signal: spawned.signalCode } : undefined;
    await kill(spawned);
    await pollAll();

    const tails = { console: tailLines(consoleKeep.text), stdout: tailLines(out.stdout.text), stderr: tailLines(out.stderr.text) };
    const outcome = labOutcome({
      ending,
      status: parseStatus(statusText),
      timeoutS,
      qemuPid: spawned.pid,
      qemuExit,
      spawnError,
      qemuStderr: qemuStderr.text,
      // Only a few CPU-state dumps at start and a "Triple fault" line at most (lab/qemu-args.ts).
      qemuLog: await readFile(files.qemuLog, 'utf8').catch(() => undefined),
      tails,
    });
    return {
      ...outcome,
      consoleTail: tails.console,
      stdoutTail: tails.stdout,
      stderrTail: tails.stderr,
      qemuPid: spawned.pid,
      timings: { spawnMs, readyMs, firstOutputMs, wallMs: since() },
    };
  } finally {
    if (child) await kill(child);
    for (const f of followers) await f.close();
    await rm(dir, { recursive: true, force: true });
  }
}
