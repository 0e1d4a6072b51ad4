// Targets `qemu:<accel>`: the same suites on QEMU with any accelerator (`-accel tcg|kvm|nvmm|
// whpx|hvf|...`). One qemu-system-x86_64 per boot, started with execa on a machine equivalent to
// the own VMM's (qemu-args.ts), paused until the harness has read the memory map at reset
// (`info mtree -f`: what serves the reset vector) and connected the consoles. Observed through
// the console (COM1 on stdout, the 0x402 debug console on a socket; milestones are the times the
// SeaBIOS patterns of vmm/metrics/milestones.ts first appear, from process start) and QMP (RESET,
// SHUTDOWN, STOP events; the high firmware copy read back with pmemsave; registers on failure).
// Produces the same BootResult as the own VMM. Every way out — until-matched, guest power-off or
// isa-debug-exit, timeout, crash, refused command line — ends with the process killed and reaped
// in `finally`; the result's `config` event carries the pid so a test can check it is gone.
// PCI test devices become pci-testdev (one 64-bit prefetchable membar each; other BAR lists are
// refused) and are read back with query-pci at the until match, as the own VMM's `pci-bars` and
// `machine` events.
// Guests by name (`guest`: guests/catalog.ts, as the own VMM resolves them): their firmware and,
// for Linux guests, -kernel/-initrd/-append; the probe's reboot= method runs as on the own VMM.
// debian-irqtest needs the own VMM's interrupt test device and is refused (suites skip it).
// Cannot observe (reported as skipped by the suites): the single-stepped first instruction, the
// exit profile, trapped ROM writes, the own VMM's quirk switches.

import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Result, type ResultPromise } from 'execa';
import { type RebootMethod, resolveGuest } from '../../guests/catalog.js';
import { BootgateError } from '../../vmm/errors.js';
import type { Diagnostic, MilestoneName } from '../../vmm/events.js';
import { ConsoleMatcher, SEABIOS_MILESTONES, stripAnsi } from '../../vmm/metrics/milestones.js';
import type { BootResult } from './boot-result.js';
import { ACCEL_NAME, DEFAULT_MEM_MIB, guestLinux, type LinuxBoot, PCI_TESTDEV_ID, pcRamSplit, qemuArgs } from './qemu-args.js';
import { qemuAccelerators, qemuMachine, requireQemu } from './qemu-binary.js';
import { type QemuFirmware, resolveQemuFirmware } from './qemu-firmware.js';
import { parseFlatViews, resetVectorMapping, type ResetVectorMapping } from './qemu-mtree.js';
import { parseQueryPci, readbackBars } from './qemu-pci.js';
import { connectUnixSocket, QmpClient, type QmpEvent } from './qemu-qmp.js';
import { parseInfoRegisters } from './qemu-registers.js';
import type { Observation, Target } from './targets.js';
import type { BootRequest } from './vmm-target.js';

export interface QemuBootRequest extends BootRequest {
  /** -no-reboot: a guest reset ends the run (status power-off, a `reset` event) instead of rebooting. */
  noReboot?: boolean;
  /** A Linux kernel of the caller's own instead of a catalog guest (the CLI's --kernel). */
  linux?: LinuxBoot;
  /** COM1 text as it arrives (the CLI prints it live). */
  onSerial?: (text: string) => void;
}

/** What QEMU lets the suites see. */
export const QEMU_OBSERVES: ReadonlySet<Observation> = new Set<Observation>(['reset-vector-mapping', 'debugcon', 'firmware-high-hash', 'bar-readback']);
/** Time QEMU gets to leave after `quit` before it is killed. */
const QUIT_GRACE_MS = 3_000;
/** Time the failure diagnostics (registers over QMP) may take. */
const DIAGNOSE_MS = 2_000;
const SERIAL_TAIL = 3_000;
/** How long a matched --until line may stay unfinished before the run stops anyway. */
const UNTIL_LINE_GRACE_MS = 1_000;
/** How long the debug console may take to deliver its last bytes after QEMU exited. */
const CONSOLE_DRAIN_MS = 1_000;
/** How long a failed QMP handshake waits for QEMU's exit before blaming the handshake. */
const STARTUP_EXIT_WAIT_MS = 2_000;
/** query-status run states that mean QEMU paused the guest because something broke. */
const STOPPED_BY_ERROR = ['internal-error', 'io-error', 'guest-panicked'];
const STDERR_TAIL = 4_000;

export function qemuTarget(accel: string, env: NodeJS.ProcessEnv = process.env): Target {
  if (!ACCEL_NAME.test(accel)) {
    throw new BootgateError('E_CONFIG', `invalid target qemu:${accel}: the accelerator must be a name like tcg, kvm, nvmm, whpx or hvf`, {
      hint: 'use qemu:<accel> with a name from `qemu-system-x86_64 -accel help`',
    });
  }
  return {
    name: `qemu:${accel}`,
    observes: QEMU_OBSERVES,
    async unavailable() {
      return undefined; // a selected QEMU target that cannot start fails with QEMU's own words
    },
    boot: (req) => bootOnQemu(accel, req, env),
  };
}

/** Checks a qemu target name against the binary: one line naming the problem and the fix, or undefined. */
export function checkQemuAccelerator(accel: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let binary: string;
  let accels: string[];
  try {
    binary = requireQemu(env);
    accels = qemuAccelerators(binary);
  } catch (e) {
    return e instanceof BootgateError ? `qemu:${accel}: ${e.toLine()}` : String(e);
  }
  if (accels.includes(accel)) return undefined;
  return `unknown accelerator ${JSON.stringify(accel)} in target qemu:${accel}: ${binary} has ${accels.join(', ')} (fix: use ${accels.map((a) => `qemu:${a}`).join(' or ')})`;
}

type Status = BootResult['status'];

/** One boot: the event log, the consoles, the outcome, in the own VMM's terms. Exported for its unit tests. */
export class QemuRun {
  readonly t0 = performance.now();
  readonly events: BootResult['events'] = [];
  readonly milestones: Record<string, number> = {};
  readonly matcher: ConsoleMatcher;
  serial = '';
  debugcon = '';
  resets = 0;
  status: Status | undefined;
  error: BootResult['error'];
  reason: string | undefined;
  exitCode = -1;
  shutdown: QmpEvent | undefined;
  #settle!: () => void;
  #untilTimer: NodeJS.Timeout | undefined;
  readonly settled = new Promise<void>((r) => (this.#settle = r));

  constructor(
    readonly target: string,
    readonly req: QemuBootRequest,
  ) {
    this.matcher = new ConsoleMatcher(SEABIOS_MILESTONES, req.until ? new RegExp(req.until) : undefined);
  }

  since(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10;
  }

  emit(ev: Record<string, unknown> & { event: string }, t = this.since()): void {
    this.events.push({ ...ev, t });
  }

  milestone(name: MilestoneName, detail?: string, t = this.since()): void {
    this.emit({ event: 'milestone', name, ...(detail === undefined ? {} : { detail }) }, t);
    if (!(name in this.milestones)) this.milestones[name] = t;
  }

  console(port: 'com1' | 'debugcon', text: string): void {
    const t = this.since();
    if (port === 'com1') {
      this.serial += text;
      this.req.onSerial?.(text);
    } else this.debugcon += text;
    this.emit({ event: 'serial', port, data: text }, t);
    for (const m of this.matcher.feed(port, text)) this.milestone(m.name, m.line, t);
    // Firmware that panicked halts for good: stop at the line, as the own VMM does (supervisor.ts).
    const panic = (this.matcher as { panic?: { port: string; line: string } }).panic;
    if (panic && this.status === undefined) {
      this.emit({ event: 'firmware-panic', ...panic }, t);
      this.fail('E_GUEST', `firmware panicked: "${panic.line}" (on ${panic.port}); it halts there for good`);
    }
    if (port === 'com1' && this.matcher.untilMatched) this.untilMatched();
  }

  /**
   * Stop once the matched line is complete, so the milestones on it (e.g. "Booting from Hard
   * Disk...") are whole even when the console chunk ended mid-line; a line that never ends (a
   * prompt) stops after UNTIL_LINE_GRACE_MS.
   */
  untilMatched(): void {
    if (this.status !== undefined) return;
    const line = this.matcher.untilLine ?? '';
    const win = stripAnsi(this.serial.slice(-4096));
    const at = win.lastIndexOf(line);
    if (at >= 0 && win.indexOf('\n', at + line.length) >= 0) this.finish('until-matched');
    else this.#untilTimer ??= setTimeout(() => this.finish('until-matched'), UNTIL_LINE_GRACE_MS);
  }

  qmpEvent(ev: QmpEvent): void {
    const data = ev.data ?? {};
    if (ev.event === 'RESET') {
      this.resets++;
      this.emit({ event: 'reset', source: String(data.reason ?? 'reset'), guest: data.guest, count: this.resets });
      this.milestone('reset', String(data.reason ?? 'reset'));
    } else if (ev.event === 'SHUTDOWN') {
      this.shutdown ??= ev;
    } else if (ev.event === 'GUEST_PANICKED') {
      this.fail('E_GUEST', `the guest panicked: ${JSON.stringify(data)}`);
    }
  }

  /** The first outcome wins. */
  finish(status: Status, reason?: string): void {
    if (this.status !== undefined) return;
    this.status = status;
    this.reason = reason;
    clearTimeout(this.#untilTimer);
    this.#settle();
  }

  fail(code: string, message: string, hint?: string): void {
    if (this.status !== undefined) return;
    this.error = { code, message, ...(hint ? { hint } : {}) };
    this.finish('error', message);
  }
}

/** Classifies how QEMU ended on its own once the guest ran. */
function exitOutcome(run: QemuRun, r: Result, stderrTail: string): void {
  if (run.status !== undefined) return; // we ended it (quit, kill)
  const sd = run.shutdown?.data ?? {};
  const reason = String(sd.reason ?? '');
  if (r.signal) {
    run.fail('E_INTERNAL', `QEMU died from ${r.signal}${stderrTail ? `: ${stderrTail}` : ' (no stderr)'}`);
  } else if (reason === 'guest-panic') {
    run.fail('E_GUEST', `the guest panicked: ${stderrTail}`);
  } else if (reason === 'guest-reset') {
    // -no-reboot turned a guest reset into the end of the run.
    run.exitCode = r.exitCode ?? 0;
    run.milestone('power-off', 'guest-reset (-no-reboot)');
    run.finish('power-off', 'guest reset with -no-reboot');
  } else if (reason === 'guest-shutdown' || r.exitCode === 0 || (r.exitCode ?? 0) % 2 === 1) {
    // ACPI power-off exits 0; isa-debug-exit exits (value << 1) | 1, as the own VMM reports it.
    run.exitCode = r.exitCode ?? 0;
    run.milestone('power-off', reason || `exit ${r.exitCode}`);
    run.finish('power-off', reason || 'isa-debug-exit');
  } else {
    run.fail('E_INTERNAL', `QEMU exited with code ${r.exitCode}: ${stderrTail || '(no stderr)'}`);
  }
}

/** QEMU refused to start (bad option, unknown accelerator, accelerator not usable): its own words. */
function startupError(accel: string, r: Result, stderr: string): NonNullable<BootResult['error']> {
  const said = stderr.trim() || `exit ${r.exitCode ?? r.signal} without a message`;
  if (r.signal) return { code: 'E_INTERNAL', message: `QEMU died from ${r.signal} while starting: ${said}` };
  if (/invalid accelerator/.test(said)) {
    return { code: 'E_CONFIG', message: `QEMU has no accelerator ${JSON.stringify(accel)}: ${said}`, hint: 'use an accelerator from `qemu-system-x86_64 -accel help` (qemu:tcg works everywhere)' };
  }
  if (/accel|kvm|hvf|whpx|nvmm|hax/i.test(said)) {
    return { code: 'E_ACCEL', message: `QEMU could not use -accel ${accel}: ${said}`, hint: `check that the ${accel} accelerator is usable on this host (e.g. /dev/kvm access), or use qemu:tcg` };
  }
  return { code: 'E_CONFIG', message: `QEMU refused to start: ${said}` };
}

function firmwareFacts(fw: QemuFirmware): { region: string; bytes: number; path: string } {
  const path = fw.kind === 'bios' ? fw.path : fw.code;
  // QEMU names the -bios image pc.bios and the first pflash unit system.flash0 (hw/i386/pc_sysfw.c).
  return { region: fw.kind === 'bios' ? 'pc.bios' : 'system.flash0', bytes: statSync(path).size, path };
}

function vmHighWaterBytes(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p.catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
}

export async function bootOnQemu(accel: string, req: QemuBootRequest, env: NodeJS.ProcessEnv = process.env): Promise<BootResult> {
  const target = `qemu:${accel}`;
  const run = new QemuRun(target, req);
  const dir = mkdtempSync(join(tmpdir(), 'bootgate-qemu-'));
  const qmpSocket = join(dir, 'qmp.sock');
  let proc: ResultPromise | undefined;
  let result: Result | undefined;
  let qmp: QmpClient | undefined;
  let debugcon: Socket | undefined;
  let mapping: ResetVectorMapping | undefined;
  let stderr = '';
  const stderrTail = () => stderr.trim().slice(-STDERR_TAIL);
  let timer: NodeJS.Timeout | undefined;
  try {
    if (req.quirks?.length) {
      throw new BootgateError('E_CONFIG', `${target} has no quirk switches (asked for ${req.quirks.join(', ')})`, {
        hint: 'quirks are own-VMM misbehaviours; run known-bad cases on vmm:kvm',
      });
    }
    const binary = requireQemu(env);
    const linux = await linuxFor(req);
    const guestFirmware = req.firmware === undefined && req.firmwareFile === undefined ? linux.firmware : undefined;
    const firmware = await resolveQemuFirmware({ ...req, ...(guestFirmware ? { firmware: guestFirmware } : {}) }, { machine: () => qemuMachine(binary) });
    const fw = firmwareFacts(firmware);
    let varsPath: string | undefined;
    if (firmware.kind === 'flash' && firmware.varsTemplate) {
      varsPath = join(dir, 'vars.fd');
      copyFileSync(firmware.varsTemplate, varsPath);
    }
    const memMiB = req.memMiB ?? DEFAULT_MEM_MIB;
    const args = qemuArgs({
      accel,
      smp: req.smp,
      memMiB,
      firmware,
      varsPath,
      qmpSocket,
      debugconSocket: join(dir, 'debugcon.sock'),
      noReboot: req.noReboot,
      pciTestDevices: req.pciTestDevices,
      physBits: req.physBits,
      linux: linux.boot,
    });

    proc = execa(binary, args, { reject: false, stdin: 'ignore', buffer: { stdout: false } });
    const guest = req.guest ?? (req.linux ? 'kernel' : undefined);
    run.emit({ event: 'config', config: { target, accel, binary, args, firmware, guest, smp: req.smp, memMiB, timeoutS: req.timeoutS, until: req.until }, quirks: [], pid: proc.pid }, 0);
    run.milestone('vmm-start', `${binary} pid ${proc.pid}`, 0);
    proc.stdout!.on('data', (chunk: Buffer) => run.console('com1', chunk.toString('latin1')));
    proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = proc.then((r) => (result = r));
    // Waiting for QEMU's sockets stops when QEMU exits or the run ends (timeout).
    const aborted = new AbortController();
    void exited.then(() => aborted.abort());
    void run.settled.then(() => aborted.abort());
    timer = setTimeout(() => run.finish('timeout', `timed out after ${req.timeoutS} s${req.until ? ` waiting for /${req.until}/` : ''}`), req.timeoutS * 1000);

    // Paused at reset: connect, look at the memory map, start the guest.
    try {
      qmp = await QmpClient.connect(qmpSocket, { timeoutMs: req.timeoutS * 1000, signal: aborted.signal, onEvent: (ev) => run.qmpEvent(ev) });
      run.milestone('vm-created', `QEMU ${qmp.greeting.version.package || 'unknown'}, ${req.smp} vCPU, ${memMiB} MiB, -accel ${accel}`);
      debugcon = await connectUnixSocket(join(dir, 'debugcon.sock'), { timeoutMs: 5_000, signal: aborted.signal });
      debugcon.on('data', (chunk: Buffer) => run.console('debugcon', chunk.toString('latin1')));
      debugcon.on('error', () => {});
      mapping = resetVectorMapping(parseFlatViews(await qmp.hmp('info mtree -f')), fw.region, fw.bytes);
      run.emit({ event: 'reset-vector-mapping', ...mapping, imageBytes: fw.bytes });
      void exited.then(() => exitOutcome(run, result!, stderrTail()));
      qmp.execute('cont').catch(() => {});
    } catch (e) {
      // QEMU may close the socket it just created before its exit reaches us: give the exit a moment.
      if (!aborted.signal.aborted) await withTimeout(exited, STARTUP_EXIT_WAIT_MS);
      if (result === undefined) throw e;
      const err = startupError(accel, result!, stderr);
      run.fail(err.code, err.message, err.hint);
    }

    // A STOP we did not ask for: QEMU paused the guest on an internal error (e.g. KVM emulation failure).
    qmp?.waitForEvent('STOP', req.timeoutS * 1000).then(async (ev) => {
      if (!ev || run.status !== undefined || !qmp) return;
      const st = await withTimeout(qmp.execute<{ status: string }>('query-status'), DIAGNOSE_MS);
      if (st && STOPPED_BY_ERROR.includes(st.status)) run.fail('E_ACCEL', `QEMU stopped the guest (${st.status}): ${stderrTail() || '(no stderr)'}`);
    });
    await run.settled;
    clearTimeout(timer);

    if (qmp && result === undefined) {
      // Still running: read what only a live QEMU can show, then ask it to quit.
      if (run.status === 'until-matched' && mapping) {
        const dump = join(dir, 'high.bin');
        const ok = await withTimeout(qmp.execute('pmemsave', { val: 2 ** 32 - fw.bytes, size: fw.bytes, filename: dump }), DIAGNOSE_MS);
        if (ok !== undefined) {
          const sha256 = createHash('sha256').update(readFileSync(dump)).digest('hex');
          run.emit({ event: 'firmware-high', mapped: mapping.firmware, sha256, bytes: fw.bytes });
        }
      }
      if (req.pciTestDevices?.length) await readBack(run, qmp, memMiB);
      if (run.status === 'timeout' || run.status === 'error') {
        const text = await withTimeout(qmp.hmp('info registers -a'), DIAGNOSE_MS);
        if (text) run.emit({ event: 'registers', vcpus: parseInfoRegisters(text) });
      }
      const rss = proc.pid === undefined ? undefined : vmHighWaterBytes(proc.pid);
      if (rss !== undefined) run.emit({ event: 'max-rss', bytes: rss });
      void qmp.execute('quit').catch(() => {});
      await withTimeout(exited, QUIT_GRACE_MS);
    }
  } catch (e) {
    const err = e instanceof BootgateError ? e : new BootgateError('E_INTERNAL', `qemu target: ${(e as Error).message}`, { cause: e });
    run.fail(err.code, err.message, err.hint);
  } finally {
    clearTimeout(timer);
    qmp?.close();
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    if (proc) result = await proc; // reaped; execa also waits for stdout (COM1) to drain
    // QEMU is gone, so the debug console ends: read what it wrote last (a probe's verdict) first.
    const dbg = debugcon;
    if (dbg && !dbg.destroyed && !dbg.readableEnded) await withTimeout(new Promise((r) => dbg.once('close', r)), CONSOLE_DRAIN_MS);
    dbg?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  return finalResult(run, req, result, stderr);
}

/** The request's Linux boot and the firmware its guest comes with; nothing for a firmware-only boot. */
async function linuxFor(req: QemuBootRequest): Promise<{ boot?: LinuxBoot; firmware?: string }> {
  if (req.guest !== undefined && req.linux !== undefined) {
    throw new BootgateError('E_CONFIG', `a catalog guest (${req.guest}) and a kernel of its own (${req.linux.kernel}) are exclusive`, { hint: 'pass only one' });
  }
  if (req.guest === undefined) {
    if (req.reboot !== undefined || req.reboots !== undefined || req.irqtest !== undefined) {
      throw new BootgateError('E_CONFIG', 'reboot, reboots and irqtest need a guest', { hint: 'pass guest debian-probe (--guest debian-probe)' });
    }
    return { boot: req.linux };
  }
  const guest = await resolveGuest(req.guest, { reboot: req.reboot as RebootMethod | undefined, reboots: req.reboots, irqtest: req.irqtest, append: req.append });
  return { boot: guestLinux(guest), firmware: guest.firmware };
}

/**
 * The test devices' BARs (query-pci) and the machine they were judged against, as the own VMM's
 * `pci-bars` and `machine` events: phys-bits as the vCPU has it (what CPUID 0x80000008 reports),
 * RAM split as QEMU's pc splits it. Only pci-testdev's membar (BAR 2, 64-bit prefetchable) is a
 * scenario BAR; its fixed BARs 0 and 1 are left out.
 */
async function readBack(run: QemuRun, qmp: QmpClient, memMiB: number): Promise<void> {
  const pci = await withTimeout(qmp.execute('query-pci'), DIAGNOSE_MS);
  if (pci !== undefined) {
    const bars = readbackBars(parseQueryPci(pci), PCI_TESTDEV_ID, (b) => b.type === 'memory' && b.mem64 === true && b.prefetch === true);
    run.emit({ event: 'pci-bars', bars });
  }
  const cpus = await withTimeout(qmp.execute<Array<{ 'qom-path': string }>>('query-cpus-fast'), DIAGNOSE_MS);
  const path = cpus?.[0]?.['qom-path'];
  const physBits = path ? await withTimeout(qmp.execute<number>('qom-get', { path, property: 'phys-bits' }), DIAGNOSE_MS) : undefined;
  if (typeof physBits !== 'number') return;
  const { below4g, above4g } = pcRamSplit(memMiB);
  const memoryMap = [{ name: 'ram', gpa: 0, size: below4g }, ...(above4g > 0 ? [{ name: 'ram-high', gpa: 2 ** 32, size: above4g }] : [])];
  run.emit({ event: 'machine', physBits, memoryMap });
}

function finalResult(run: QemuRun, req: QemuBootRequest, result: Result | undefined, stderr: string): BootResult {
  const wallMs = run.since();
  const status = run.status ?? 'error';
  let exitCode = 1;
  if (status === 'until-matched') exitCode = 0;
  else if (status === 'power-off') exitCode = req.until ? 1 : run.exitCode;
  else if (status === 'timeout') exitCode = 124;
  let diagnostic: Diagnostic | undefined;
  if (status === 'timeout' || status === 'error' || (status === 'power-off' && req.until)) {
    const regs = run.events.find((e) => e.event === 'registers')?.vcpus as Diagnostic['registers'] | undefined;
    const tail = stderr.trim().slice(-STDERR_TAIL);
    diagnostic = {
      reason:
        status === 'power-off'
          ? `guest powered off (${run.reason}) before the console matched /${req.until}/`
          : `${run.reason ?? status}${tail && status === 'timeout' ? `; QEMU stderr: ${tail}` : ''}`,
      registers: regs ?? [],
      lastExits: [],
      serialTail: run.serial.slice(-SERIAL_TAIL),
    };
  }
  const maxRss = run.events.find((e) => e.event === 'max-rss')?.bytes as number | undefined;
  // Reboots as the console shows them (a banner per POST) beside QMP's RESET count, which `resets` reports.
  const banner = SEABIOS_MILESTONES.find((m) => m.name === 'firmware-banner')!.pattern;
  const banners = stripAnsi(run.serial).match(new RegExp(banner.source, 'g'))?.length ?? 0;
  run.emit({ event: 'reboots', qmpResets: run.resets, consoleBanners: banners, consoleReboots: Math.max(0, banners - 1) }, wallMs);
  run.emit({ event: 'final', status, exitCode, resets: run.resets, wallMs, qemuExit: result ? { code: result.exitCode ?? null, signal: result.signal ?? null } : null }, wallMs);
  return {
    target: run.target,
    status,
    exitCode,
    serial: run.serial,
    debugcon: run.debugcon,
    milestones: run.milestones,
    resets: run.resets,
    wallMs,
    maxRssBytes: maxRss,
    error: run.error,
    diagnostic,
    events: run.events,
    stderr: stderr || (run.error ? `${run.error.message}${run.error.hint ? ` (fix: ${run.error.hint})` : ''}` : ''),
  };
}

