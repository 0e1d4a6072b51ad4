// What one run of a bench comparison yields, read off a BootResult (or the C loop's line): pure,
// so the unit tests feed it synthetic results. Each function says exactly what it measures, and
// throws a BootgateError naming the boot and the missing piece when the result cannot give it.

import { type BootResult, consoleTimeOf } from '../../targets/index.js';
import { BootgateError } from '../../vmm/errors.js';

/** The POST-code port the PIO guest writes (guests/bench/pio-loop.asm). */
export const POST_PORT = 0x80;

/** One boot's sample: the figure's value, and for the own VMM what its exit profile adds. */
export interface Sample {
  value: number;
  /** AP exits handed to the device-owner thread: how many, the median wait (absent from VMMs before it was reported) and the longest. */
  handover?: { count: number; medianMs?: number; maxMs: number };
  /** Own VMM, SMP 1: the part of `value` its threads spent outside KVM_RUN. */
  outsideGuestMs?: number;
  /** Own VMM: ms from the Node process's start to the VMM's (its config event's processMs). */
  processMs?: number;
}

function ended(r: BootResult): string {
  return `${r.status}${r.error ? `: ${r.error.message}` : r.diagnostic ? `: ${r.diagnostic.reason}` : ''}`;
}

/** When the guest started running: the own VMM's `reset-vector` milestone, QEMU's `guest-start` event. */
function guestStartMs(r: BootResult): number | undefined {
  return r.milestones['reset-vector'] ?? r.events.find((e) => e.event === 'guest-start')?.t;
}

/**
 * Debian reset to init: the `init` milestone (the probe's init line on COM1) minus the moment the
 * guest started running. Own VMM: its `reset-vector` milestone (the first instruction, single-
 * stepped once every vCPU thread is up). QEMU: its `guest-start` event (QMP `cont` answered; QEMU
 * waited at reset with -S until then). Neither stack's own start-up is counted.
 */
export function resetToInitMs(r: BootResult, what: string): Sample {
  if (r.status !== 'until-matched') throw new BootgateError('E_GUEST', `${what}: the probe's init line never came (${ended(r)})`);
  const init = r.milestones.init;
  const start = guestStartMs(r);
  if (init === undefined || start === undefined) {
    throw new BootgateError('E_INTERNAL', `${what}: no init milestone, or neither a reset-vector milestone nor a guest-start event (milestones: ${Object.keys(r.milestones).join(', ')})`);
  }
  const sample: Sample = { value: init - start };
  const h = r.profile?.handover;
  if (h) sample.handover = { count: h.count, maxMs: h.maxMs, ...(typeof h.medianMs === 'number' ? { medianMs: h.medianMs } : {}) };
  return sample;
}

/**
 * Debian from disk, reset to login prompt: when `prompt` first showed on COM1 (the serial events'
 * clock) minus the same start as resetToInitMs. SeaBIOS, GRUB, the kernel, the initramfs and
 * systemd up to the serial getty's prompt.
 */
export function resetToLoginMs(r: BootResult, prompt: string, what: string): Sample {
  if (r.status !== 'until-matched') throw new BootgateError('E_GUEST', `${what}: the login prompt never came (${ended(r)})`);
  const login = consoleTimeOf(r, prompt);
  const start = guestStartMs(r);
  if (login === undefined || start === undefined) {
    throw new BootgateError('E_INTERNAL', `${what}: no serial event with "${prompt}", or neither a reset-vector milestone nor a guest-start event`);
  }
  return { value: login - start };
}

/** The own VMM's processMs (Node's start-up and the CLI's loading), from its config event. */
export function processStartMs(r: BootResult): number | undefined {
  const config = r.events.find((e) => e.event === 'config');
  const ms = config && 'processMs' in config ? config.processMs : undefined;
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : undefined;
}

/** The own VMM at SMP 1: from the first instruction to the stop, minus the time vCPU 0 spent in the guest. */
export function outsideGuestMs(r: BootResult): number | undefined {
  const start = r.milestones['reset-vector'];
  if (!r.profile || start === undefined) return undefined;
  return Math.max(0, r.profile.wallMs - start - r.profile.vcpuRunMs);
}

/**
 * VMM start to reset vector, from the `reset-vector` milestone of a boot made with
 * timeResetVector. Own VMM: ms from its own start (runVm, after Node has started and loaded the
 * VMM) to the return of vCPU 0's single-stepped first KVM_RUN. QEMU: ms from spawning
 * qemu-system-x86_64 (its exec and machine set-up included) to the return of vCPU 0's first
 * KVM_RUN, from QEMU's kvm_run_exit trace.
 */
export function resetVectorMs(r: BootResult, what: string): Sample {
  const t = r.milestones['reset-vector'];
  const step = r.events.find((e) => e.event === 'milestone' && e.name === 'reset-vector');
  if (t === undefined) throw new BootgateError('E_INTERNAL', `${what}: no reset-vector milestone (${ended(r)})`);
  if (step?.detail === 'single-step unavailable') throw new BootgateError('E_ACCEL', `${what}: the accelerator could not single-step, so the milestone is not the first instruction`);
  if (r.status !== 'until-matched') throw new BootgateError('E_GUEST', `${what}: SeaBIOS did not reach its boot attempt (${ended(r)})`);
  return { value: t };
}

/** The own VMM's port-0x80 round trip in µs: (last - first exit) / (count - 1), from the exit profile. */
export function pioRoundTripUs(r: BootResult, iterations: number, what = 'own VMM (pio-loop)'): Sample {
  if (r.status !== 'power-off') throw new BootgateError('E_GUEST', `${what} ended ${ended(r)}, not by the guest's isa-debug-exit`);
  const ports = r.profile?.hottestPorts;
  if (!Array.isArray(ports)) throw new BootgateError('E_INTERNAL', `${what}: the final event has no profile.hottestPorts (ExitProfile in vmm/events.ts)`);
  const post = ports.find((p) => p.port === POST_PORT);
  if (!post) throw new BootgateError('E_INTERNAL', `${what}: profile.hottestPorts has no port 0x80 entry (ports: ${ports.map((p) => p.port).join(', ') || 'none'})`);
  if (post.count !== iterations) throw new BootgateError('E_GUEST', `${what} counted ${post.count} port-0x80 exits, the guest makes ${iterations}`);
  return { value: ((post.lastMs - post.firstMs) * 1000) / (post.count - 1) };
}

export interface CLoopResult {
  exits: number;
  firstToLastNs: number;
  roundTripNs: number;
  wallNs: number;
}

/** native/kvm-exit-loop.c's one JSON line. */
export function parseCLoopOutput(stdout: string): CLoopResult {
  const line = stdout.trim().split('\n').pop() ?? '';
  let parsed: Partial<Record<keyof CLoopResult, unknown>>;
  try {
    parsed = JSON.parse(line) as Partial<Record<keyof CLoopResult, unknown>>;
  } catch (err) {
    throw new BootgateError('E_INTERNAL', `kvm-exit-loop printed ${JSON.stringify(line)}, not a JSON line`, { cause: err });
  }
  for (const key of ['exits', 'firstToLastNs', 'roundTripNs', 'wallNs'] as const) {
    if (typeof parsed[key] !== 'number') throw new BootgateError('E_INTERNAL', `kvm-exit-loop output lacks "${key}": ${line}`);
  }
  return parsed as CLoopResult;
}

/** The C loop's round trip in µs, checked against the guest's iteration count. */
export function cLoopRoundTripUs(stdout: string, iterations: number): Sample {
  const r = parseCLoopOutput(stdout);
  if (r.exits !== iterations) throw new BootgateError('E_GUEST', `kvm-exit-loop saw ${r.exits} port-0x80 exits, the guest makes ${iterations}`);
  return { value: r.roundTripNs / 1000 };
}
