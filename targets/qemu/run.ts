// One QEMU boot's bookkeeping, in the own VMM's terms: the event log (milestones, console text,
// resets), the outcome (the first one wins), and how QEMU ending on its own or refusing to start
// is classified; at the end the BootResult. Milestones are the times the SeaBIOS patterns of
// vmm/metrics/milestones.ts first appear on a console, in ms from QEMU's spawn. No process here:
// targets/qemu/boot.ts drives it, the unit tests feed it directly.

import type { Result } from 'execa';
import type { Diagnostic, MilestoneName } from '../../vmm/events.js';
import { ConsoleMatcher, SEABIOS_MILESTONES, stripAnsi } from '../../vmm/metrics/milestones.js';
import type { BootResult } from '../boot-result.js';
import type { QmpEvent } from './qmp.js';
import type { QemuBootRequest } from './target.js';

/** How long a matched --until line may stay unfinished before the run stops anyway. */
const UNTIL_LINE_GRACE_MS = 1_000;
const SERIAL_TAIL = 3_000;
export const STDERR_TAIL = 4_000;

type Status = BootResult['status'];

/** One boot: the event log, the consoles, the outcome, in the own VMM's terms. Exported for its unit tests. */
export class QemuRun {
  /** performance.now() and the wall clock (ms since the epoch) at QEMU's spawn (at construction until then). */
  t0 = performance.now();
  epochAtT0 = Date.now();
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
  /** When the guest shut the machine down (QMP SHUTDOWN), ms from the spawn. */
  shutdownAt: number | undefined;
  #settle!: () => void;
  #guestShutdown!: () => void;
  /**
   * Resolves when the guest powers off (or resets under -no-reboot): under -no-shutdown QEMU is
   * then paused, not gone, so the driver can still read the machine before it quits QEMU and the
   * exit, with COM1 drained to its end, classifies the run (exitOutcome).
   */
  readonly guestShutdown = new Promise<void>((r) => (this.#guestShutdown = r));
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

  /** Times count from now: QEMU is being spawned. */
  startClock(): void {
    this.t0 = performance.now();
    this.epochAtT0 = Date.now();
  }

  /** vCPU 0's first KVM_RUN exit (first-exit.ts), at `epochMs` on the wall clock: the `reset-vector` milestone. */
  firstExit(epochMs: number, reason: number): void {
    const t = Math.round((epochMs - this.epochAtT0) * 10) / 10;
    this.milestone('reset-vector', `vCPU 0's first KVM_RUN exit (QEMU trace kvm_run_exit, exit reason ${reason}), ms from QEMU's spawn`, t);
  }

  emit(ev: Record<string, unknown> & { event: string }, t = this.since()): void {
    this.events.push({ ...ev, t });
  }

  /** Called once per milestone name, the first time it is reached (boot.ts acts on some). */
  onFirstMilestone: ((name: MilestoneName) => void) | undefined;

  milestone(name: MilestoneName, detail?: string, t = this.since()): void {
    this.emit({ event: 'milestone', name, ...(detail === undefined ? {} : { detail }) }, t);
    if (!(name in this.milestones)) {
      this.milestones[name] = t;
      this.onFirstMilestone?.(name);
    }
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
      if (data.guest === true && this.shutdownAt === undefined) {
        this.shutdownAt = this.since();
        this.#guestShutdown();
      }
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
export function exitOutcome(run: QemuRun, r: Result, stderrTail: string): void {
  if (run.status !== undefined) return; // we ended it (quit, kill)
  const sd = run.shutdown?.data ?? {};
  const reason = String(sd.reason ?? '');
  if (r.signal) {
    run.fail('E_INTERNAL', `QEMU died from ${r.signal}${stderrTail ? `: ${stderrTail}` : ' (no stderr)'}`);
  } else if (reason === 'guest-panic') {
    run.fail('E_GUEST', `the guest panicked: ${stderrTail}`);
  } else if (reason === 'guest-reset' || reason === 'guest-shutdown') {
    shutdownOutcome(run, reason, 0);
  } else if (r.exitCode === 0 || (r.exitCode ?? 0) % 2 === 1) {
    // ACPI power-off exits 0; isa-debug-exit exits (value << 1) | 1, as the own VMM reports it.
    run.exitCode = r.exitCode ?? 0;
    run.milestone('power-off', reason || `exit ${r.exitCode}`);
    run.finish('power-off', reason || 'isa-debug-exit');
  } else {
    run.fail('E_INTERNAL', `QEMU exited with code ${r.exitCode}: ${stderrTail || '(no stderr)'}`);
  }
}

/**
 * The guest shut the machine down (QMP SHUTDOWN's reason): a power-off, or a reset -no-reboot
 * turned into one; the power-off milestone at the SHUTDOWN event, not at QEMU's later exit.
 */
export function shutdownOutcome(run: QemuRun, reason: string, exitCode = 0): void {
  if (run.status !== undefined) return;
  if (reason === 'guest-panic') return run.fail('E_GUEST', 'the guest panicked (QMP SHUTDOWN guest-panic)');
  run.exitCode = exitCode; // ACPI power-off: QEMU without -no-shutdown exits 0
  if (reason === 'guest-reset') {
    run.milestone('power-off', 'guest-reset (-no-reboot)', run.shutdownAt);
    run.finish('power-off', 'guest reset with -no-reboot');
  } else {
    run.milestone('power-off', reason || 'guest-shutdown', run.shutdownAt);
    run.finish('power-off', reason || 'guest-shutdown');
  }
}

/** QEMU refused to start (bad option, unknown accelerator, accelerator not usable): its own words. */
export function startupError(accel: string, r: Result, stderr: string): NonNullable<BootResult['error']> {
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

/** The BootResult of a finished run (QEMU reaped), with a diagnostic when it failed. */
export function finalResult(run: QemuRun, req: QemuBootRequest, result: Result | undefined, stderr: string): BootResult {
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
