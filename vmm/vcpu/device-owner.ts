// The device-owner thread: builds the machine (pc-instance.ts), owns every device (QEMU's big lock,
// held by one thread), and carries out machine resets and power-off. At SMP > 1 it runs no vCPU:
// it sleeps on the doorbell (Atomics.wait), applies the writes the vCPU threads posted
// (posted-writes.ts), serves their mailboxes and publishes the values of shadow-read registers, so
// a device access costs at most one cross-thread hop and no vCPU ever leaves the guest for another
// one's access. At SMP 1 it runs vCPU 0 itself with the direct exit handler (own-vcpu.ts: no hop
// at all).
// A reset pauses every vCPU thread (epoch handshake), rebuilds the accelerator VM, publishes the
// new vCPU handles and resumes; each thread reopens its vCPU. The owner reports the outcome and the
// machine's final state (final-reports.ts); each vCPU thread reports its own accounting.

import type { SyncPortRange } from '../bus/bus.js';
import { type BusDevice, SyncKind } from '../devices/device.js';
import { vcpuRunners } from '../config.js';
import { BootgateError } from '../errors.js';
import { emitFinalReports, flushMachine } from '../machine/final-reports.js';
import type { PendingAction, PendingReset } from '../machine/machine.js';
import { snapshotPath, tripleFaultSource, writeLowMemory } from '../machine/memory-snapshot.js';
import { PcInstance } from '../machine/pc-instance.js';
import { codeAround } from './code-dump.js';
import { ControlBlock, NO_SHADOW, StopMode } from './control.js';
import { Mailbox } from './mailbox.js';
import { OWNER, type OwnerWorkerData, postEvent, postEvents, postStopped, type StampedEvent, stampEvent, type StoppedReport } from './messages.js';
import { NativeExitHandler, NativeVcpus } from './native-vcpus.js';
import { OwnerService } from './owner-service.js';
import { OwnVcpu } from './own-vcpu.js';
import { type PostedWrite, PostedWrites } from './posted-writes.js';
import { judgeResetStep } from './reset-step.js';
import { RipSampler } from './rip-sampler.js';
import { OWNER_SPIN_US, SPIN_US } from './spin.js';
import { UNASSIGNED_PAGE_SIZE } from './unassigned-pages.js';

const PAUSE_ACK_TIMEOUT_MS = 30_000;
/** The idle owner wakes this often to flush consoles and poll the interrupt path. */
const POLL_MS = 5;

type Outcome = NonNullable<StoppedReport['outcome']>;

export class DeviceOwner {
  private readonly control: ControlBlock;
  private readonly mailboxes: Mailbox[];
  /** The posted-write ring: shared with the JavaScript vCPU threads, or the native threads'. */
  private posted: PostedWrites;
  private applyPosted = (w: PostedWrite): void => this.service.applyPosted(w);
  private readonly clockOffset: number;
  private readonly machine: PcInstance;
  private readonly service: OwnerService;
  /** vCPUs run by their own JavaScript threads (none at SMP 1, nor with native vCPU threads). */
  private readonly threadVcpus: number[];
  /** SMP > 1 with --vcpu-threads native: every vCPU entered by a native thread, its exits served here. */
  private native: NativeVcpus | undefined;
  private seenDoorbell = 0;
  private shadowSources: Array<{ index: number; device: BusDevice; offset: number }> = [];
  private resets = 0;
  /** SMP 1: the vCPU this thread runs, and its accounting. */
  private own: OwnVcpu | undefined;
  /** Events stamped but not posted yet (native vCPU threads running: emit). */
  private queuedEvents: StampedEvent[] | undefined;

  constructor(private readonly data: OwnerWorkerData) {
    const { config } = data;
    this.control = new ControlBlock(data.controlSab, config.smp);
    this.mailboxes = data.mailboxSabs.map((sab) => new Mailbox(sab));
    this.posted = new PostedWrites(data.postedSab);
    this.clockOffset = performance.timeOrigin - data.startEpochMs;
    this.threadVcpus = vcpuRunners(config) === 'worker' ? Array.from({ length: config.smp }, (_, i) => i) : [];
    this.machine = new PcInstance({ ...data, emit: (e) => this.emit(e) });
    this.service = new OwnerService(() => this.machine.pc.machine, {
      resetStep: (step) => this.emit(judgeResetStep(step, (gpa) => this.machine.regionAt(gpa), config.quirks)),
      fatal: (vcpu) => {
        this.emit({ event: 'vcpu-fatal', vcpu });
        this.machine.pc.machine.requestPowerOff(`fatal exit on vCPU ${vcpu}`, 255);
      },
      tripleFault: (vcpu) => this.machine.pc.machine.requestReset(tripleFaultSource(vcpu)),
      beforeReply: () => this.publishShadows(),
      mmioMapVersion: () => this.control.mmioMapVersion,
    });
  }

  /**
   * Stamp `event` now and post it, or, while native vCPU threads run, queue it until the serving
   * pass has resumed every vCPU it served (flushEvents): a vCPU then waits for its exit's device
   * work, not for the owner to post the console lines the posted-write ring carried (in the
   * nested lab each post cost about a millisecond of the hop it came in).
   */
  private emit(event: Record<string, unknown>): void {
    if (this.queuedEvents) this.queuedEvents.push(stampEvent(event, this.clockOffset));
    else postEvent(event, this.clockOffset);
  }

  private flushEvents(): void {
    const queued = this.queuedEvents;
    if (!queued || queued.length === 0) return;
    this.queuedEvents = [];
    postEvents(queued);
  }

  start(): void {
    const { config } = this.data;
    const { pc, vm, accel, ram } = this.machine;
    this.emit({ event: 'milestone', name: 'vm-created', detail: `${config.smp} vCPU, ${config.memMiB} MiB` });
    this.emit({
      event: 'machine',
      physBits: vm.physBits,
      hostPhysBits: vm.hostPhysBits,
      ramBelow4G: pc.machine.ramBelow4G,
      ramAbove4G: pc.machine.ramAbove4G,
      memoryMap: pc.memoryMap.list().map((r) => ({ name: r.name, gpa: r.gpa, size: r.size, writable: r.flags.write })),
    });
    this.control.publishRam({ hostAddress: ram.address, below4G: pc.machine.ramBelow4G, above4G: pc.machine.ramAbove4G });
    pc.machine.pio.onSyncChange = (ranges) => this.publishSyncTable(ranges);
    pc.machine.mmio.onMapChange = () => {
      this.control.bumpMmioMap();
      this.native?.forgetEmptyPages();
    };
    if (vcpuRunners(config) !== 'owner') pc.irqPath.beforeInterrupt = () => this.publishShadows();
    if (config.quirks.includes('scrub-irr-live-vector')) pc.irqPath.onScrubVector = (vector) => this.control.publishScrubVector(vector);
    this.publishSyncTable(pc.machine.pio.syncRanges());
    this.control.publishVm(vm.vcpuHandles, accel.vcpuParams.mmapSize);
    let report: StoppedReport;
    try {
      const runners = vcpuRunners(config);
      const outcome = runners === 'worker' ? this.serveVcpuThreads() : runners === 'native' ? this.serveNativeVcpus() : this.runOwnVcpu();
      this.stopNative();
      report = this.report(outcome);
    } catch (e) {
      const err = e instanceof BootgateError ? e : new BootgateError('E_INTERNAL', (e as Error).message, { cause: e });
      this.control.requestStop(StopMode.Stop);
      this.control.kickAll();
      this.stopNative();
      report = this.report({ status: 'error', resets: this.resets });
      report.error = { code: err.code, message: err.message, hint: err.hint };
    }
    // Writes the vCPUs queued before the stop happened before it (console bytes among them).
    this.drainPosted(true);
    flushMachine(pc, config);
    emitFinalReports(pc, config, (e) => this.emit(e));
    // Answer every vCPU still waiting so none is left blocked.
    for (const mb of this.mailboxes) if (mb.pending) mb.reply(false);
    postStopped(report);
  }

  /** SMP > 1: serve the vCPU threads until the machine stops (the guest starts as vCPU 0's thread joins). */
  private serveVcpuThreads(): Outcome {
    for (;;) {
      if (this.control.stopMode !== StopMode.Running) return { status: 'stopped', resets: this.resets };
      const rang = this.serveMailboxes();
      const end = this.afterServing();
      if (end) return end;
      this.publishShadows();
      this.control.waitDoorbell(this.seenDoorbell, POLL_MS, rang);
    }
  }

  /**
   * After a round of service at SMP > 1: a pending power-off ends the run (its outcome), a pending
   * reset is carried out, and the consoles and the interrupt path are polled.
   */
  private afterServing(): Outcome | undefined {
    const { pc } = this.machine;
    const pending = this.takePending();
    if (pending?.kind === 'power-off') return this.powerOff(pending);
    if (pending) this.resetMachine(pending);
    const now = performance.now();
    pc.com1.poll(now);
    pc.debugcon.poll(now);
    pc.irqPath.poll();
    return undefined;
  }

  /**
   * Serve every pending mailbox if the bell rang; whether it had. Posted writes are applied first,
   * and again right before each request: a write another vCPU queued before it made its request
   * is in the ring by the time the request is seen pending (posted-writes.ts).
   */
  private serveMailboxes(): boolean {
    const bell = this.control.doorbell;
    if (bell === this.seenDoorbell) return false;
    this.seenDoorbell = bell;
    this.drainPosted();
    for (let i = 0; i < this.mailboxes.length; i++) {
      const mb = this.mailboxes[i]!;
      if (mb.pending) {
        this.drainPosted();
        this.service.serve(i, mb);
      }
    }
    return true;
  }

  private drainPosted(stopping = false): void {
    if (this.posted.pending && this.posted.drain(this.applyPosted, stopping) > 0) this.publishShadows();
  }

  /** Publish where the sync registers are, and which ShadowRead values come from which device. */
  private publishSyncTable(ranges: SyncPortRange[]): void {
    this.control.publishSyncPorts(ranges);
    this.native?.setSyncTable(ranges);
    this.shadowSources = ranges.flatMap((r, index) =>
      r.kind === SyncKind.ShadowRead && r.device.shadowRead !== undefined ? [{ index, device: r.device, offset: r.offset }] : [],
    );
    this.publishShadows();
  }

  /**
   * Publish every ShadowRead value (device.ts): after each request is carried out and before its
   * reply (for native threads: before the vCPU enters again), after posted writes, polls and
   * resets, and before any interrupt goes toward KVM. At SMP 1 no vCPU thread reads them.
   */
  private publishShadows(): void {
    const native = this.native;
    if (this.threadVcpus.length === 0 && native === undefined) return;
    for (const s of this.shadowSources) {
      const value = s.device.shadowRead!(s.offset) ?? NO_SHADOW;
      if (native) native.publishShadow(s.index, value);
      else this.control.publishShadow(s.index, value);
    }
  }

  private takePending(): PendingAction | null {
    const m = this.machine.pc.machine;
    const pending = m.pending;
    m.pending = null;
    return pending;
  }

  private powerOff(pending: Extract<PendingAction, { kind: 'power-off' }>): Outcome {
    this.emit({ event: 'milestone', name: 'power-off', detail: pending.source });
    this.control.requestStop(StopMode.Stop);
    this.control.kickAll();
    return { status: 'power-off', source: pending.source, code: pending.code, resets: this.resets };
  }

  /** SMP > 1 with native vCPU threads: serve their exits (native-vcpus.ts) until the machine stops. */
  private serveNativeVcpus(): Outcome {
    const { config } = this.data;
    const { pc, accel } = this.machine;
    const threads = accel.nativeVcpuThreads?.(config.smp, { vcpuUs: SPIN_US, ownerUs: OWNER_SPIN_US });
    if (threads === undefined) throw new BootgateError('E_CONFIG', `the ${accel.name} backend has no native vCPU threads`, { hint: 'use --vcpu-threads worker' });
    const sampler = config.sampleRipMs === undefined ? undefined : new RipSampler();
    const native = new NativeVcpus({
      threads,
      backend: accel.vcpuBackend(),
      control: this.control,
      count: config.smp,
      quirks: config.quirks,
      clockOffset: this.clockOffset,
      handlerFor: (i) =>
        Object.assign(new NativeExitHandler(pc, (e) => this.emit(e), i === 0 ? sampler : undefined), {
          onUnassigned: (gpa: number, size: number) => this.native?.learnUnassigned(gpa, size),
        }),
      isEmptyPage: (base) => pc.machine.mmio.isEmpty(base, UNASSIGNED_PAGE_SIZE),
      drainPosted: () => this.drainPosted(),
      publishShadows: () => this.publishShadows(),
      applyOwnerPosted: (w) => this.service.applyPosted(w),
      pmTimerEpochMs: this.data.startEpochMs,
      emit: (e) => this.emit(e),
      describeGpa: (gpa) => {
        const region = this.machine.regionAt(gpa);
        return region ? `in ${region}` : 'nothing mapped there';
      },
      mayRun: () => this.control.stopMode === StopMode.Running && pc.machine.pending === null,
    });
    this.native = native;
    this.posted = new PostedWrites(threads.postedRing);
    this.applyPosted = (w) => native.applyPosted(w);
    native.setSyncTable(pc.machine.pio.syncRanges());
    this.publishShadows();
    // CONFIG_DATA reads from the image from now on; each configuration write and reset copies again.
    pc.pci.onConfigChange = (devfn) => this.native?.publishPciImage(pc.pci.configImage(devfn), devfn === undefined ? pc.pci.configAddress : undefined);
    native.publishPciImage(pc.pci.configImage(), pc.pci.configAddress);
    this.emit(judgeResetStep(native.start(), (gpa) => this.machine.regionAt(gpa), config.quirks));
    native.enterAll();
    this.queuedEvents = [];
    try {
      for (;;) {
        if (this.control.stopMode !== StopMode.Running) return { status: 'stopped', resets: this.resets };
        native.serve(POLL_MS);
        // The pass resumed its vCPUs: post now, before a reset in afterServing can hold the owner.
        this.flushEvents();
        const end = this.afterServing();
        this.flushEvents();
        if (end) return end;
      }
    } finally {
      this.flushEvents();
      this.queuedEvents = undefined;
      if (sampler) this.emit(sampler.event());
    }
  }

  /**
   * Native vCPU threads: take every vCPU out of the guest, end the threads, and post each vCPU's
   * report (its accounting; registers and local APIC when diagnosing or failing), as a vCPU
   * thread would have.
   */
  private stopNative(): void {
    const native = this.native;
    this.native = undefined;
    for (const r of native?.finish(this.control.stopMode === StopMode.Diagnose, this.control.ram()) ?? []) postStopped(r);
  }

  /** SMP 1: run vCPU 0 on this thread, serving its exits directly (own-vcpu.ts). */
  private runOwnVcpu(): Outcome {
    const own = new OwnVcpu({
      config: this.data.config,
      machine: this.machine,
      control: this.control,
      clockOffset: this.clockOffset,
      emit: (e) => this.emit(e),
      takePending: () => this.takePending(),
      powerOff: (pending) => this.powerOff(pending),
      resetMachine: (pending) => this.resetMachine(pending),
      resets: () => this.resets,
    });
    this.own = own;
    return own.run();
  }

  /** Machine reset: pause the vCPU threads, rebuild the accelerator VM, publish it, resume. */
  private resetMachine({ source, vcpu, rip }: PendingReset): void {
    this.resets++;
    const { maxResets } = this.data.config;
    if (maxResets !== undefined && this.resets > maxResets) {
      // The machine is not rebuilt: the run ends here, its resets (and any triple fault) on record.
      this.emit({ event: 'reset-refused', source, count: this.resets, max: maxResets, ...(vcpu === undefined ? {} : { vcpu }) });
      throw new BootgateError('E_GUEST', `reset loop: the guest asked for reset ${this.resets} (${source}${vcpu === undefined ? '' : ` on vCPU ${vcpu}`}), more than the ${maxResets} this run allows`, {
        hint: 'see the resets before it in the event stream (a triple fault is the guest crashing); --max-resets raises the limit',
      });
    }
    const { eventsFile } = this.data.config;
    if (source.startsWith('triple-fault') && eventsFile !== undefined) {
      // Before anything runs again: the firmware's next run overwrites low memory.
      const file = snapshotPath(eventsFile, this.resets);
      const bytes = writeLowMemory(this.machine.ram.bytes, file);
      this.emit({ event: 'memory-snapshot', reset: this.resets, source, gpa: 0, bytes, file });
    }
    flushMachine(this.machine.pc, this.data.config);
    // The epoch moves first, then who registered is read: a thread joining meanwhile either is
    // seen here (and acknowledges) or sees the pause and stays out (vcpu-thread.ts join).
    const epoch = this.control.beginPause();
    this.native?.pause();
    this.native?.forgetEmptyPages();
    const joined = this.threadVcpus.filter((i) => this.control.isRegistered(i));
    for (const i of joined) this.control.kick(i);
    for (const i of joined) {
      const deadline = performance.now() + PAUSE_ACK_TIMEOUT_MS;
      while (!this.control.waitAcknowledged(i, epoch, 10)) {
        this.serveMailboxes();
        if (performance.now() > deadline) throw new BootgateError('E_INTERNAL', `vCPU ${i} did not pause for the machine reset`);
        this.control.kick(i);
      }
    }
    // Every vCPU is out of the guest: what they queued before the reset reaches the old devices.
    this.drainPosted();
    const threadRip = vcpu === undefined || this.threadVcpus.length === 0 ? undefined : this.control.takeResetRip(vcpu);
    this.machine.rebuildVm();
    this.control.bumpMmioMap();
    this.publishShadows();
    this.control.publishVm(this.machine.vm.vcpuHandles, this.machine.accel.vcpuParams.mmapSize);
    this.control.resume(epoch);
    this.native?.resumeAfterReset();
    const where = rip ?? (threadRip === undefined ? undefined : `0x${threadRip.toString(16)}`);
    this.emit({ event: 'reset', source, count: this.resets, ...(vcpu === undefined ? {} : { vcpu }), ...(where === undefined ? {} : { rip: where }) });
    this.emit({ event: 'milestone', name: 'reset', detail: source });
  }

  private report(outcome: Outcome): StoppedReport {
    const ownVcpu = this.own?.vcpu;
    const r: StoppedReport = { vcpu: ownVcpu ? 0 : OWNER, outcome };
    if (this.own?.acct) r.snapshot = this.own.acct.snapshot();
    const diagnose = this.control.stopMode === StopMode.Diagnose || outcome.status === 'error';
    if (diagnose) {
      const { pc, vm } = this.machine;
      r.devices = [pc.uart.interruptState(), vm.describeIoapic()];
      if (ownVcpu) {
        const d = ownVcpu.diagnose();
        r.registers = { ...d.registers, code: codeAround(this.control.ram(), d.ripGpa) };
        r.devices.push(d.lapic);
      }
    }
    return r;
  }
}
