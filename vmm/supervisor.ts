// The VMM process's main thread: starts the device owner and (SMP > 1) the vCPU threads at once, so
// the vCPU threads load while the owner builds the VM; relays their events into the JSON-lines
// stream and the console, watches for the awaited console line and the timeout, stops everything
// (kicking vCPUs out of the guest), and writes the final event with the merged exit profile and a
// diagnostic when the run failed. Nothing is left running: workers are terminated on every path.

import { closeSync, openSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type VmConfig, vcpuRunners } from './config.js';
import type { Diagnostic, ExitProfile, VmmEvent } from './events.js';
import { emptySnapshot, mergeProfile } from './metrics/exit-accounting.js';
import { ConsoleMatcher, SEABIOS_MILESTONES } from './metrics/milestones.js';
import { ControlBlock, StopMode } from './vcpu/control.js';
import { Mailbox } from './vcpu/mailbox.js';
import { stopDeadline } from './vcpu/stop-deadline.js';
import { describeThread } from './vcpu/stuck-thread.js';
import { impossibleReason, impossibleStates } from './vcpu/impossible-state.js';
import { PostedWrites } from './vcpu/posted-writes.js';
import { takePrewarmedOwner } from './owner-prewarm.js';
import { workerEntry } from './worker-entry.js';
import { OWNER, type OwnerWorkerData, type StampedEvent, type StoppedReport, type VcpuWorkerData, type WorkerMessage } from './vcpu/messages.js';

const STOP_GRACE_MS = 3_000;
/**
 * After a stop request, how long the threads have to report (kicked again every STOP_REKICK_MS)
 * before the run ends without them: a thread stuck in the accelerator or in a wait must not keep
 * the process, and a batch of boots behind it, alive past the timeout.
 */
export const STOP_REPORT_DEADLINE_MS = 10_000;
const STOP_REKICK_MS = 500;
const SERIAL_TAIL_BYTES = 4_000;
/** How long a matched --until line may stay unfinished before the run stops anyway (as targets/qemu/run.ts). */
const UNTIL_LINE_GRACE_MS = 1_000;

export type RunStatus = 'power-off' | 'until-matched' | 'timeout' | 'error' | 'killed';

export interface RunResult {
  status: RunStatus;
  exitCode: number;
  resets: number;
  wallMs: number;
  profile: ExitProfile;
  error?: { code: string; message: string; hint?: string };
  diagnostic?: Diagnostic;
  serial: string;
  /** Threads that never stopped (still running when the run ended): the process must exit to end them. */
  stuckThreads: string[];
}

export interface RunIo {
  /** Guest COM1 output (the CLI prints it). */
  console?: (text: string) => void;
  /** 0x402 debug console output. */
  debugcon?: (text: string) => void;
  /**
   * The process runs other boots too (a lab series): Node's start-up before this run and the
   * process's peak RSS are not this run's, so the config and final events leave them out.
   */
  sharedProcess?: boolean;
}

class EventLog {
  private fd: number | null;
  constructor(path: string | undefined) {
    this.fd = path ? openSync(path, 'w') : null;
  }
  write(ev: VmmEvent): void {
    if (this.fd !== null) writeSync(this.fd, `${JSON.stringify(ev)}\n`);
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export async function runVm(config: VmConfig, firmwarePath: string, io: RunIo = {}, varsTemplatePath?: string): Promise<RunResult> {
  const workerUrl = workerEntry();
  // Node's start-up and the CLI's loading come before this; the config event says how long they took.
  const processMs = performance.now();
  const startEpochMs = performance.timeOrigin + processMs;
  const since = (): number => Math.round((performance.timeOrigin + performance.now() - startEpochMs) * 10) / 10;
  const log = new EventLog(config.eventsFile);
  const control = ControlBlock.create(config.smp);
  // At SMP 1 the owner runs vCPU 0 itself: no vCPU threads, no mailboxes. Native vCPU threads
  // (--vcpu-threads native) are the owner's: it posts their reports.
  const runners = vcpuRunners(config);
  const vcpuThreads = runners === 'worker' ? config.smp : 0;
  const nativeReports = runners === 'native' ? config.smp : 0;
  const mailboxes = Array.from({ length: vcpuThreads }, () => Mailbox.create());
  const posted = PostedWrites.create();
  const workers: Worker[] = [];
  /** Per worker (same order): OWNER or its vCPU number. */
  const keys: number[] = [];
  /** Keyed by thread: OWNER for the device owner, else the vCPU number. */
  const reports = new Map<number, StoppedReport>();
  const matcher = new ConsoleMatcher(SEABIOS_MILESTONES, config.until ? new RegExp(config.until) : undefined);
  let serial = '';
  let stopReason = null as RunStatus | null;
  let firmwarePanic = undefined as { port: string; line: string } | undefined;
  const keepAlive = (): void => {};
  process.on('SIGUSR2', keepAlive); // kicks must not kill the process
  log.write({
    event: 'config',
    t: since(),
    config: { ...config, firmwarePath },
    quirks: config.quirks,
    ...(io.sharedProcess ? {} : { processMs: Math.round(processMs * 10) / 10 }),
  });
  log.write({ event: 'milestone', t: 0, name: 'vmm-start' });

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });

  const guard = stopDeadline({
    keys: () => keys,
    reported: (key) => reports.has(key),
    kickAll: () => control.kickAll(),
    deadlineMs: STOP_REPORT_DEADLINE_MS,
    rekickMs: STOP_REKICK_MS,
    onExpire: (missing) => {
      for (const key of missing) {
        // The owner at SMP 1 runs vCPU 0 and registered as it.
        const tid = control.threadId(key === OWNER ? 0 : key);
        const state = tid === undefined ? 'it never registered' : `thread ${tid}: ${describeThread(tid)}`;
        // Inside KVM_RUN the accelerator did not honour the kick; anywhere else the wait is ours.
        const code = state.includes('KVM_RUN') ? 'E_ACCEL' : 'E_INTERNAL';
        reports.set(key, {
          vcpu: key,
          error: { code, message: `${threadName(key)} did not stop within ${STOP_REPORT_DEADLINE_MS / 1000} s of the stop request (kicked every ${STOP_REKICK_MS} ms; ${state})` },
        });
      }
      resolveDone();
    },
  });

  const stop = (reason: RunStatus, mode: StopMode): void => {
    if (stopReason === null) stopReason = reason;
    control.requestStop(mode);
    control.kickAll();
    guard.arm();
  };

  let untilGrace: NodeJS.Timeout | undefined;
  const onEvent = (ev: StampedEvent): void => {
    if (ev.event === 'serial') {
      const text = String(ev.data);
      if (ev.port === 'com1') {
        serial = (serial + text).slice(-64 * 1024);
        io.console?.(text);
      } else io.debugcon?.(text);
      for (const m of matcher.feed(String(ev.port), text)) {
        log.write({ event: 'milestone', t: ev.t, name: m.name, detail: m.line });
      }
      log.write(ev as VmmEvent);
      if (matcher.panic !== undefined && stopReason === null) {
        firmwarePanic = matcher.panic;
        log.write({ event: 'firmware-panic', t: ev.t, ...matcher.panic });
        stop('error', StopMode.Stop);
      } else if (matcher.untilMatched && stopReason === null) {
        // Stop at the end of the matched line (its milestones whole), or after a grace for a line that never ends (a prompt).
        if (matcher.untilLineEnded()) stop('until-matched', StopMode.Stop);
        else
          untilGrace ??= setTimeout(() => {
            if (stopReason === null) stop('until-matched', StopMode.Stop);
          }, UNTIL_LINE_GRACE_MS).unref();
      }
      return;
    }
    log.write(ev as VmmEvent);
  };
  const onMessage = (msg: WorkerMessage): void => {
    if (msg.type === 'event') return onEvent(msg.event);
    if (msg.type === 'prewarmed') return;
    if (msg.type === 'events') {
      for (const ev of msg.events) onEvent(ev);
      return;
    }
    const key = msg.report.outcome ? OWNER : msg.report.vcpu;
    reports.set(key, msg.report);
    if (key === OWNER && stopReason === null) {
      const o = msg.report.outcome;
      stopReason = o?.status === 'power-off' ? 'power-off' : msg.report.error ? 'error' : 'killed';
      control.requestStop(StopMode.Stop);
      control.kickAll();
      guard.arm();
    }
    if (reports.size >= workers.length + nativeReports) resolveDone();
  };

  const exited: Array<Promise<void>> = [];
  const attach = (w: Worker, vcpu: number): void => {
    workers.push(w);
    keys.push(vcpu);
    exited.push(new Promise<void>((r) => w.once('exit', () => r())));
    w.on('message', onMessage);
    w.on('error', (e) => {
      reports.set(vcpu, { vcpu, error: { code: 'E_INTERNAL', message: `${threadName(vcpu)} crashed: ${e.message}` } });
      stop('error', StopMode.Stop);
      if (reports.size >= workers.length + nativeReports) resolveDone();
    });
    w.on('exit', () => {
      if (!reports.has(vcpu)) {
        reports.set(vcpu, { vcpu, error: { code: 'E_INTERNAL', message: `${threadName(vcpu)} exited early` } });
        stop('error', StopMode.Stop);
      }
      // The owner's exit also ends the native vCPU threads' reports: none can come after it.
      if (reports.size >= workers.length + nativeReports || (vcpu === OWNER && nativeReports > 0)) resolveDone();
    });
  };

  const owner: OwnerWorkerData = {
    role: 'owner',
    config,
    firmwarePath,
    varsTemplatePath,
    startEpochMs,
    controlSab: control.sab,
    mailboxSabs: mailboxes.map((m) => m.sab),
    postedSab: posted.sab,
  };
  attach(takePrewarmedOwner(owner) ?? new Worker(workerUrl, { workerData: owner }), OWNER);
  for (let i = 0; i < vcpuThreads; i++) {
    const data: VcpuWorkerData = {
      role: 'vcpu',
      vcpu: i,
      backend: 'kvm',
      quirks: config.quirks,
      sampleRip: config.sampleRipMs !== undefined,
      startEpochMs,
      controlSab: control.sab,
      mailboxSab: mailboxes[i]!.sab,
      postedSab: posted.sab,
    };
    attach(new Worker(workerUrl, { workerData: data }), i);
  }

  const timer = setTimeout(() => stop('timeout', StopMode.Diagnose), config.timeoutS * 1000);
  const sampler = config.sampleRipMs === undefined ? undefined : setInterval(() => control.kick(0), config.sampleRipMs);
  await done;
  clearTimeout(timer);
  guard.clear();
  if (sampler !== undefined) clearInterval(sampler);
  // Give stragglers a grace period, then terminate every worker regardless. A worker stuck in a
  // system call does not end on terminate(): it is named, and the CLI exits the process.
  const graceOf = () => new Promise<void>((r) => setTimeout(r, STOP_GRACE_MS).unref());
  const ended = new Set<number>();
  exited.forEach((p, i) => void p.then(() => ended.add(i)));
  await Promise.race([Promise.all(exited), graceOf()]);
  await Promise.race([Promise.all(workers.map((w) => w.terminate())), graceOf()]);
  // One turn of the event loop: every 'exit' that came has run its bookkeeping above.
  await new Promise<void>((r) => setImmediate(r));
  const stuckThreads = keys.flatMap((key, i) => (ended.has(i) ? [] : [threadName(key)]));
  process.off('SIGUSR2', keepAlive);

  const wallMs = since();
  const snaps = [...reports.values()].flatMap((r) => (r.snapshot ? [r.snapshot] : []));
  if (snaps.length === 0) snaps.push(emptySnapshot(0));
  const profile = mergeProfile(snaps, wallMs, config.smp);
  const ownerReport = reports.get(OWNER);
  const error =
    ownerReport?.error ??
    [...reports.values()].find((r) => r.error)?.error ??
    (firmwarePanic
      ? {
          code: 'E_GUEST',
          message: `firmware panicked: "${firmwarePanic.line}" (on ${firmwarePanic.port}); it halts there for good`,
        }
      : undefined);
  const status: RunStatus = stopReason ?? (error ? 'error' : 'killed');
  const outcome = ownerReport?.outcome;
  let exitCode = 1;
  if (status === 'until-matched') exitCode = 0;
  else if (status === 'power-off') exitCode = config.until ? 1 : (outcome?.code ?? 0);
  else if (status === 'timeout') exitCode = 124;
  let diagnostic: Diagnostic | undefined;
  if (status === 'timeout' || status === 'error' || (status === 'power-off' && config.until)) {
    const registers = [...reports.values()].filter((r) => r.registers && r.vcpu !== OWNER).map((r) => ({ vcpu: r.vcpu, regs: r.registers! }));
    const impossible = impossibleStates(registers);
    diagnostic = {
      reason:
        (status === 'timeout'
          ? `timed out after ${config.timeoutS} s${config.until ? ` waiting for /${config.until}/` : ''}`
          : status === 'power-off'
            ? `guest powered off (${outcome?.source}) before the console matched /${config.until}/`
            : (error?.message ?? 'error')) + impossibleReason(impossible),
      registers,
      lastExits: snaps.flatMap((s) => s.lastExits.map((e) => ({ vcpu: s.vcpu, ...e }))),
      devices: [...reports.values()].sort((a, b) => a.vcpu - b.vcpu).flatMap((r) => r.devices ?? []),
      serialTail: serial.slice(-SERIAL_TAIL_BYTES),
      ...(impossible.length > 0 ? { impossibleStates: impossible } : {}),
    };
  }
  const resets = outcome?.resets ?? 0;
  log.write({ event: 'exit-profile', t: wallMs, profile });
  log.write({
    event: 'final',
    t: wallMs,
    status,
    exitCode,
    resets,
    wallMs,
    ...(io.sharedProcess ? {} : { maxRssBytes: process.resourceUsage().maxRSS * 1024 }),
    profile,
    error,
    diagnostic,
    milestones: matcher.seen(),
  } as VmmEvent);
  log.close();
  return { status, exitCode, resets, wallMs, profile, error, diagnostic, serial, stuckThreads };
}

function threadName(key: number): string {
  return key === OWNER ? 'the device-owner thread' : `vCPU ${key} thread`;
}
