// The device owner's side of native vCPU threads (accel/types.ts NativeVcpuThreads), the default at
// SMP > 1 (and SMP 1 with `--vcpu-threads native`): no vCPU has a JavaScript thread. The owner
// opens every vCPU, steps vCPU 0 through the reset vector itself, and then serves each vCPU's exits
// as its native thread rings the bell: one runner per vCPU (runner.ts serveExit: the same
// accounting and exit kinds as every other path), the devices served in place (the direct
// handler), and the vCPU entered again unless it is parked, a reset or power-off is pending, or the
// run stops. Every exit the owner serves is a hop between two threads, so each is counted as a
// hand-over (its wait: from the exit to the end of its service).
//
// What a thread does not hand over (kept-exits.c): a postable port write (posted-writes.ts) or a
// debug-console byte it queues and re-enters; the owner applies the queue before serving anything
// else, debug-console bytes through the vCPU's own instance (one vCPU's debug lines never mix with
// another's), and counts each in that vCPU's profile. A POST code write it only counts (a latch no
// read returns); an MMIO access in a page the owner found empty (unassigned-pages.ts) it answers
// as the bus would, until the MMIO map changes. A PM timer read it answers from its own clock (the
// owner sets the PM epoch once: every guest read then comes from one clock), a byte read of a
// ShadowRead register from the value the owner published (publishShadows: after each exit it
// serves, before the vCPU enters again), and a CONFIG_DATA read from the PCI configuration image
// the owner keeps (publishPciImage: after each configuration write, and at a reset). The counts
// are folded into the profiles. A machine
// reset pauses the threads (kicks them and serves what comes out without entering again), and
// after the VM's rebuild reopens every vCPU from the new handles.

import { type ExitInfo, ExitKind } from '../accel/exit-info.js';
import { NativeState, type NativeVcpuThreads, type Vcpu, type VcpuBackend } from '../accel/types.js';
import { SyncKind } from '../devices/device.js';
import { type SyncMapping, SyncPortMap } from '../devices/sync-devices.js';
import { BootgateError } from '../errors.js';
import { ExitAccounting } from '../metrics/exit-accounting.js';
import type { QuirkName } from '../quirks.js';
import { codeAround } from './code-dump.js';
import type { ControlBlock, GuestRamPlace } from './control.js';
import { DirectExitHandler } from './direct-exit-handler.js';
import { irrScrubber } from './irr-scrubber.js';
import type { StoppedReport } from './messages.js';
import { openRegistered } from './open-vcpu.js';
import type { PostedWrite } from './posted-writes.js';
import { type ResetStep, stepResetVector } from './reset-step.js';
import { releaseRunPage } from './run-page.js';
import { type ExitHandler, RunState, VcpuRunner } from './runner.js';
import { UNASSIGNED_PAGE_SIZE } from './unassigned-pages.js';

/** The threads' empty-page table's size (vcpu-pool.h BG_EMPTY_PAGES). */
const EMPTY_PAGES_MAX = 64;
/** The pm-timer-two-clocks quirk: how far the threads' PM epoch is after the owner's (7,159 ticks). */
const TWO_CLOCKS_SKEW_MS = 2;
/** How long the threads get to start (they need microseconds; a missing one is a host fault). */
const START_TIMEOUT_MS = 10_000;
/** How long a paused or stopping vCPU may take to leave the guest after its kick. */
const LEAVE_TIMEOUT_MS = 30_000;

/** The devices served in place, but every exit came through a hop: counted as a hand-over. */
export class NativeExitHandler extends DirectExitHandler {
  override readonly handedOver = true;
  /** Called with an MMIO access no device claimed (the owner may then let the threads answer its page). */
  onUnassigned?: (gpa: number, size: number) => void;

  override mmio(exit: ExitInfo, vcpu: Vcpu): string {
    const region = super.mmio(exit, vcpu);
    if (region === 'unassigned') this.onUnassigned?.(exit.gpa, exit.size);
    return region;
  }
}

export interface NativeVcpusOptions {
  threads: NativeVcpuThreads;
  backend: VcpuBackend;
  control: Pick<ControlBlock, 'kick' | 'registerVcpu' | 'vcpuHandle' | 'waitNoKicks' | 'scrubVector'>;
  count: number;
  quirks: readonly QuirkName[];
  clockOffset: number;
  /** Serves vCPU `index`'s exits (NativeExitHandler on the device owner). */
  handlerFor(index: number): ExitHandler;
  describeGpa(gpa: number): string;
  /** How long a kicked vCPU may take to leave the guest (default 30 s). */
  leaveTimeoutMs?: number;
  /** Whether vCPUs may enter the guest now (no stop, no pending reset or power-off). */
  mayRun(): boolean;
  /** Apply every queued write, in order (the owner's drain of `threads.postedRing`): before any exit is served. */
  drainPosted(): void;
  /** Apply a queued write to the owner's devices (OwnerService.applyPosted). */
  applyOwnerPosted(write: PostedWrite): void;
  /** Whether no device claims any byte of the 4 KiB page at `base` (the owner's MMIO bus). */
  isEmptyPage(base: number): boolean;
  /** Publish every ShadowRead value (the owner's devices' current ones) through publishShadow. */
  publishShadows(): void;
  /** The PM timer's epoch (PmTimer epochMs: performance.timeOrigin-based ms), for the threads' PM timer and the vCPUs' own instances. */
  pmTimerEpochMs: number;
  emit(event: Record<string, unknown>): void;
}

export class NativeVcpus {
  private readonly runners: VcpuRunner[] = [];
  readonly accounts: ExitAccounting[] = [];
  private seen = 0;
  /** Per vCPU: its own instances of the sync devices a JavaScript vCPU thread served itself. */
  private readonly syncMaps: SyncPortMap[];
  private readonly postedData = new Uint8Array(4);
  /** The threads' empty-page table (page numbers), in its order. */
  private emptyPages: number[] = [];
  /** The threads' sync-register table, in its order (an entry's index names its read counts). */
  private syncTable: readonly SyncMapping[] = [];

  constructor(private readonly o: NativeVcpusOptions) {
    this.syncMaps = Array.from({ length: o.count }, () => new SyncPortMap({ pmTimerEpochMs: o.pmTimerEpochMs, emit: o.emit }));
    const twoClocks = o.quirks.includes('pm-timer-two-clocks');
    o.threads.setPmEpoch(o.pmTimerEpochMs - performance.timeOrigin + (twoClocks ? TWO_CLOCKS_SKEW_MS : 0), twoClocks ? 2 : 0);
  }

  /**
   * Where the sync registers are now (the owner's bus moved one): the vCPUs' instances and the
   * threads' table, in the bus's order (the owner's shadow indices). The reads the threads
   * answered under the old table are counted first, under its ports.
   */
  setSyncTable(mappings: readonly SyncMapping[]): void {
    this.foldLocalReads();
    for (const m of this.syncMaps) m.update(mappings);
    this.syncTable = mappings.map((m) => ({ kind: m.kind, port: m.port, span: m.span }));
    this.o.threads.setSyncTable(this.syncTable);
  }

  /** Copy these functions' configuration space into the threads' PCI image (and the latch, after a reset). */
  publishPciImage(functions: ReadonlyArray<{ devfn: number; config: Uint8Array | undefined }>, latch?: number): void {
    this.o.threads.publishPciImage(functions, latch);
  }

  /** Publish table entry `index`'s ShadowRead value (a byte, or -1: reads go to the owner). */
  publishShadow(index: number, value: number): void {
    this.o.threads.publishShadow(index, value);
  }

  /** Count the PM timer, shadow and CONFIG_DATA reads the threads answered into their vCPUs' profiles (at the entry's first port). */
  private foldLocalReads(): void {
    for (let e = 0; e < this.syncTable.length; e++) {
      const { kind, port } = this.syncTable[e]!;
      if (kind !== SyncKind.PmTimer && kind !== SyncKind.ShadowRead && kind !== SyncKind.ConfigData) continue;
      for (let i = 0; i < this.accounts.length; i++) {
        const r = this.o.threads.takeLocalReads(i, e);
        this.accounts[i]!.pioFolded(ExitKind.IoIn, port, r.count, r.firstMs, r.lastMs, r.value);
      }
    }
  }

  /** An access no device claimed: if its whole page is empty, the threads answer that page from now on (at most EMPTY_PAGES). */
  learnUnassigned(gpa: number, size: number): void {
    const page = Math.floor(gpa / UNASSIGNED_PAGE_SIZE);
    if (Math.floor((gpa + size - 1) / UNASSIGNED_PAGE_SIZE) !== page || this.emptyPages.includes(page)) return;
    if (this.emptyPages.length >= EMPTY_PAGES_MAX || !this.o.isEmptyPage(page * UNASSIGNED_PAGE_SIZE)) return;
    this.emptyPages.push(page);
    this.o.threads.setEmptyPages(this.emptyPages);
  }

  /** The MMIO map changed (or the VM was rebuilt): the threads answer no page themselves any more. */
  forgetEmptyPages(): void {
    if (this.emptyPages.length === 0) return;
    this.foldEmptyHits();
    this.emptyPages = [];
    this.o.threads.setEmptyPages([]);
  }

  /** Count the accesses the threads answered in empty pages into their vCPUs' profiles. */
  private foldEmptyHits(): void {
    const t = performance.now();
    for (let i = 0; i < this.accounts.length; i++) {
      const acct = this.accounts[i]!;
      for (let e = 0; e < this.emptyPages.length; e++) {
        const { reads, writes } = this.o.threads.takeEmptyHits(i, e);
        const gpa = this.emptyPages[e]! * UNASSIGNED_PAGE_SIZE;
        for (let n = 0; n < reads + writes; n++) {
          acct.mmio(n < reads ? ExitKind.MmioRead : ExitKind.MmioWrite, gpa, 0, 'unassigned', t, t);
          acct.unassigned(gpa);
        }
      }
    }
  }

  /** A write a thread queued: through the vCPU's own instance when it has one for the port, else the owner's devices; counted in its profile. */
  applyPosted(w: PostedWrite): void {
    const data = this.postedData.subarray(0, w.size);
    for (let i = 0; i < w.size; i++) data[i] = (w.value >>> (8 * i)) & 0xff;
    if (!this.syncMaps[w.vcpu]!.serve(false, w.port, w.size, 1, data)) this.o.applyOwnerPosted(w);
    const t = this.o.threads.postedAtMs(w.atUs ?? 0);
    this.accounts[w.vcpu]?.pio(ExitKind.IoOut, w.port, w.value, t, t);
  }

  /** Start the threads, open the vCPUs, and step vCPU 0 through the reset vector (the step, for the owner to judge). */
  start(): ResetStep {
    const { threads, count } = this.o;
    for (let i = 0; i < count; i++) threads.spawn(i);
    const deadline = performance.now() + START_TIMEOUT_MS;
    for (let i = 0; i < count; i++) {
      while (threads.tid(i) === 0) {
        if (performance.now() > deadline) throw new BootgateError('E_INTERNAL', `the native thread of vCPU ${i} did not start within ${START_TIMEOUT_MS / 1000} s`);
        threads.waitBell(threads.bell, 10);
      }
    }
    const beforeEntry = irrScrubber(this.o.control, this.o.quirks);
    for (let i = 0; i < count; i++) {
      const acct = new ExitAccounting(i, this.o.clockOffset);
      const handler = this.o.handlerFor(i);
      this.accounts.push(acct);
      this.runners.push(
        new VcpuRunner({
          vcpu: this.open(i),
          // The owner decides every entry itself (enter()); a runner here never runs its own loop.
          gate: { poll: () => RunState.Stopped, awaitResume: () => RunState.Stopped },
          handler,
          acct,
          ...(beforeEntry ? { beforeEntry } : {}),
          reopen: (old) => {
            const fresh = this.open(i);
            releaseRunPage(this.o.control, old);
            return fresh;
          },
          describeGpa: this.o.describeGpa,
        }),
      );
    }
    return stepResetVector(this.runners[0]!.vcpu);
  }

  /** Enter every vCPU (after start's step was judged). */
  enterAll(): void {
    for (let i = 0; i < this.runners.length; i++) this.enter(i);
  }

  /** Serve every exit that came since the last call (after waiting up to `timeoutMs` for one). */
  serve(timeoutMs: number): void {
    const { threads } = this.o;
    const bell = threads.waitBell(this.seen, timeoutMs);
    if (bell === this.seen) return;
    this.seen = bell;
    this.o.drainPosted();
    for (let i = 0; i < this.runners.length; i++) {
      if (threads.state(i) !== NativeState.Exited) continue;
      // A write another vCPU queued before this exit is in the ring by now (posted-writes.ts).
      this.o.drainPosted();
      this.serveOne(i);
      // Before the vCPU enters again: it must not read a shadow older than the exit just served.
      this.o.publishShadows();
      if (!this.enter(i)) threads.idle(i);
    }
  }

  /** Kick every vCPU out of the guest and serve what comes out, entering none again. */
  pause(): void {
    const { threads, control } = this.o;
    const deadline = performance.now() + this.leaveTimeoutMs;
    for (;;) {
      let inGuest = -1;
      this.o.drainPosted();
      for (let i = 0; i < this.runners.length; i++) {
        const s = threads.state(i);
        if (s === NativeState.Exited) {
          this.o.drainPosted();
          this.serveOne(i);
          threads.idle(i);
        } else if (s === NativeState.Run) inGuest = i;
      }
      if (inGuest < 0) {
        this.o.drainPosted();
        return;
      }
      if (performance.now() > deadline) throw new BootgateError('E_ACCEL', `vCPU ${inGuest} did not leave the guest within ${this.leaveTimeoutMs / 1000} s of its kick`);
      control.kick(inGuest);
      this.seen = threads.waitBell(this.seen, 10);
    }
  }

  /** After the VM's rebuild: every vCPU reopened from the published handles, not parked, and entered. */
  resumeAfterReset(): void {
    for (let i = 0; i < this.runners.length; i++) {
      this.runners[i]!.reopen();
      this.enter(i);
    }
  }

  /** End the threads (after pause()); whether all ended within the timeout. */
  stop(): boolean {
    const { threads } = this.o;
    for (let i = 0; i < this.runners.length; i++) threads.quit(i);
    const deadline = performance.now() + this.leaveTimeoutMs;
    for (let i = 0; i < this.runners.length; i++) {
      while (threads.state(i) !== NativeState.Done) {
        if (performance.now() > deadline) return false;
        this.o.control.kick(i);
        threads.waitBell(threads.bell, 10);
      }
    }
    for (let i = 0; i < this.runners.length; i++) {
      const acct = this.accounts[i]!;
      acct.runMs = threads.runMs(i);
      const p = threads.postCodes(i);
      acct.pioFolded(ExitKind.IoOut, p.port, p.count, p.firstMs, p.lastMs, p.value);
    }
    this.foldEmptyHits();
    this.foldLocalReads();
    for (const m of this.syncMaps) m.flush();
    threads.close();
    return true;
  }

  /**
   * At the run's end: every vCPU out of the guest, the threads ended, and each vCPU's report (its
   * exit profile; registers, the code at rip and its local APIC when diagnosing or when ending
   * failed, whose error vCPU 0's report carries). `ram`: guest RAM, for the code dump.
   */
  finish(diagnose: boolean, ram: GuestRamPlace | undefined): StoppedReport[] {
    let error: StoppedReport['error'];
    try {
      this.pause();
      if (!this.stop()) error = { code: 'E_ACCEL', message: `a native vCPU thread did not end within ${this.leaveTimeoutMs / 1000} s of the stop` };
    } catch (e) {
      const err = e instanceof BootgateError ? e : new BootgateError('E_INTERNAL', (e as Error).message, { cause: e });
      error = { code: err.code, message: err.message, hint: err.hint };
    }
    return this.runners.map((runner, i) => {
      const r: StoppedReport = { vcpu: i, snapshot: this.accounts[i]!.snapshot() };
      if (error && i === 0) r.error = error;
      if (diagnose || error) {
        const d = runner.vcpu.diagnose();
        r.registers = { ...d.registers, code: codeAround(ram, d.ripGpa) };
        r.devices = [d.lapic];
      }
      return r;
    });
  }

  private get leaveTimeoutMs(): number {
    return this.o.leaveTimeoutMs ?? LEAVE_TIMEOUT_MS;
  }

  vcpu(i: number): Vcpu {
    return this.runners[i]!.vcpu;
  }

  private open(i: number): Vcpu {
    return openRegistered(this.o.backend, this.o.control, i, this.o.quirks, this.o.threads.tid(i));
  }

  private serveOne(i: number): void {
    const runner = this.runners[i]!;
    const { kind, exitedMs } = this.o.threads.takeExit(i, runner.vcpu);
    this.accounts[i]!.runMs = this.o.threads.runMs(i);
    runner.serveExit(kind, exitedMs);
  }

  /** Enter vCPU `i` unless it is parked or no vCPU may run; whether it entered. */
  private enter(i: number): boolean {
    const runner = this.runners[i]!;
    if (runner.parked || !this.o.mayRun()) return false;
    runner.beforeEntry();
    this.o.threads.resume(i, runner.vcpu);
    return true;
  }
}
