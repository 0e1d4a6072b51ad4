// The one vCPU run loop (after Firecracker's vstate/vcpu.rs): explicit states, a gate that says
// before every entry whether to run, pause or stop, and a pluggable exit handler. The same loop
// runs on a vCPU thread (its handler hands device accesses to the device owner) and, at SMP 1, on
// the device-owner thread itself (its handler serves the buses directly). Exit accounting is
// wrapped here once: two clock reads per exit, the end of one exit's handling starting the next
// entry's interval.
//
// States: Running (in or between guest entries), Paused (a machine reset is under way: the gate
// acknowledged and waits for the resume; the vCPU is then reopened, the old one released),
// Stopped (the loop returned). A vCPU that shut down (triple fault) or whose access asked for a
// machine reset is parked: it does not enter the guest again until the gate pauses it for the
// reset or stops it (on hardware the reset takes the CPU at once).

import { ExitKind } from '../accel/exit-info.js';
import type { ExitInfo } from '../accel/exit-info.js';
import type { Vcpu, VcpuIntrospection } from '../accel/types.js';
import { getLE } from '../devices/device.js';
import { BootgateError } from '../errors.js';
import type { ExitAccounting } from '../metrics/exit-accounting.js';

export enum RunState {
  Running = 0,
  Paused = 1,
  Stopped = 2,
}

/** The control plane as the runner sees it. */
export interface RunGate {
  /**
   * Before every entry: Running to enter the guest, Paused when a machine reset asks this vCPU to
   * pause, Stopped to end. With `parked` (the vCPU shut down) it must not answer Running: it
   * waits until the reset pauses the vCPU, or a stop.
   */
  poll(parked: boolean): RunState;
  /** In Paused: acknowledge and wait; Running when resumed (the runner reopens the vCPU), or Stopped. */
  awaitResume(): RunState;
}

/** Serves the exits the runner cannot decide alone. */
export interface ExitHandler {
  /** Serve a PIO exit in place: the value of its first element, or -1 when no device claimed the port. */
  pio(exit: ExitInfo, vcpu: Vcpu): number;
  /** Serve an MMIO exit in place: the name of the region that served it ('unassigned' when none). */
  mmio(exit: ExitInfo, vcpu: Vcpu): string;
  /** Whether the access just served went to another thread (counted as a hand-over). */
  readonly handedOver: boolean;
  /** Whether the access just served asked for a machine reset: the vCPU then waits for it, parked. */
  readonly resetAsked: boolean;
  /** The vCPU shut down (triple fault): ask for the machine reset. */
  shutdown(vcpu: Vcpu): void;
  /** A kick made the vCPU leave the guest. */
  interrupted(vcpu: Vcpu): void;
  /** After every exit's handling (`t`: when the exit happened). */
  afterExit(t: number): void;
}

export interface RunnerOptions {
  vcpu: Vcpu;
  gate: RunGate;
  handler: ExitHandler;
  acct: ExitAccounting;
  /** The replacement of `old` after a machine reset rebuilt the VM (the runner drops `old`). */
  reopen(old: Vcpu): Vcpu;
  /** Where a guest-physical address is, for a fatal exit's message ("in bios-high"). */
  describeGpa?(gpa: number): string;
  /** Runs right before every guest entry (the scrub-irr-live-vector quirk, irr-scrubber.ts). */
  beforeEntry?(vcpu: Vcpu): void;
}

export class VcpuRunner {
  state = RunState.Running;
  vcpu: Vcpu;
  /** The vCPU shut down or asked for a machine reset: it must not enter the guest until the reset. */
  parked = false;

  constructor(private readonly o: RunnerOptions) {
    this.vcpu = o.vcpu;
  }

  /** Run until stopped; throws a BootgateError on an exit the machine cannot go on from. */
  run(): void {
    const { gate, acct } = this.o;
    let tEnd = performance.now();
    for (;;) {
      const next = gate.poll(this.parked);
      if (next === RunState.Stopped) {
        this.state = RunState.Stopped;
        return;
      }
      if (next === RunState.Paused) {
        this.state = RunState.Paused;
        if (gate.awaitResume() === RunState.Stopped) {
          this.state = RunState.Stopped;
          return;
        }
        this.reopen();
        this.state = RunState.Running;
        tEnd = performance.now();
        continue;
      }
      const vcpu = this.vcpu;
      this.beforeEntry();
      const kind = vcpu.run();
      const t1 = performance.now();
      acct.runMs += t1 - tEnd;
      tEnd = this.serveExit(kind, t1);
    }
  }

  /** What runs right before every guest entry (a quirk's step). */
  beforeEntry(): void {
    this.o.beforeEntry?.(this.vcpu);
  }

  /** After a machine reset rebuilt the VM: the vCPU reopened from it, not parked. */
  reopen(): void {
    this.vcpu = this.o.reopen(this.vcpu);
    this.parked = false;
  }

  /**
   * Account and serve one exit of `vcpu` (its kind as run() returned it, `t1` when it came), and
   * set `parked`; returns when the handling ended. Throws on an exit the machine cannot go on from.
   * A thread that enters the guest elsewhere (a native vCPU thread) calls this for each exit.
   */
  serveExit(kind: ExitKind, t1: number): number {
    const { handler, acct } = this.o;
    const vcpu = this.vcpu;
    const exit = vcpu.exit;
    let tEnd: number;
    switch (kind) {
      case ExitKind.IoIn:
      case ExitKind.IoOut: {
        const value = handler.pio(exit, vcpu);
        tEnd = performance.now();
        if (value < 0) acct.unassignedPio++;
        if (handler.handedOver) acct.handover(tEnd - t1, exit.port);
        acct.pio(kind, exit.port, value, t1, tEnd);
        this.parked = handler.resetAsked;
        break;
      }
      case ExitKind.MmioRead:
      case ExitKind.MmioWrite: {
        const region = handler.mmio(exit, vcpu);
        tEnd = performance.now();
        if (region === 'unassigned') acct.unassigned(exit.gpa);
        if (handler.handedOver) acct.handover(tEnd - t1, exit.gpa, true);
        acct.mmio(kind, exit.gpa, getLE(exit.data), region, t1, tEnd);
        this.parked = handler.resetAsked;
        break;
      }
      case ExitKind.Interrupted:
        vcpu.setImmediateExit(false);
        handler.interrupted(vcpu);
        tEnd = performance.now();
        acct.other(kind, t1, tEnd);
        break;
      case ExitKind.Shutdown:
        handler.shutdown(vcpu);
        this.parked = true;
        tEnd = performance.now();
        acct.other(kind, t1, tEnd);
        break;
      default:
        acct.other(kind, t1, performance.now());
        throw this.fatal(kind);
    }
    handler.afterExit(t1);
    return tEnd;
  }

  /** Hlt (no in-kernel irqchip?), a stray Debug, system events, entry failures and internal errors end the run. */
  private fatal(kind: ExitKind): BootgateError {
    const vcpu = this.vcpu;
    const exit = vcpu.exit;
    let where = '';
    try {
      const fp = vcpu.fetchPoint();
      const gpa = fp.csBase + fp.rip;
      const place = this.o.describeGpa?.(gpa);
      where = ` at cs:rip ${fp.csSelector.toString(16)}:${fp.rip.toString(16)} (gpa 0x${gpa.toString(16)}${place ? `, ${place}` : ''})`;
    } catch {
      where = ' (registers unreadable)';
    }
    const words = kind === ExitKind.InternalError ? (vcpu as Partial<VcpuIntrospection>).internalErrorData?.() : undefined;
    const extra =
      kind === ExitKind.InternalError || kind === ExitKind.SystemEvent
        ? ` suberror ${exit.suberror}${words?.length ? ` data [${words.map((d) => `0x${d.toString(16)}`).join(', ')}]` : ''}`
        : kind === ExitKind.FailEntry || kind === ExitKind.Unknown
          ? ` reason ${exit.reason}`
          : '';
    return new BootgateError('E_GUEST', `vCPU ${vcpu.index} stopped with exit ${ExitKind[kind]}${extra}${where}`);
  }
}
