// The device-owner thread: creates the VM, owns every device (QEMU's big lock, held by one
// thread), runs vCPU 0 (the BSP), serves the APs' mailboxes between its own exits, and carries out
// machine resets and power-off. A reset rebuilds the accelerator VM (fresh vCPUs, irqchip, PIT in
// architectural reset state) and maps the same guest memory back; RAM survives, as on hardware.

import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { ExitKind } from '../accel/exit-info.js';
import { gettid } from '../accel/kvm/libc.js';
import { KvmVcpu } from '../accel/kvm/kvm-vcpu.js';
import { KvmAccelerator, type KvmVm } from '../accel/kvm/kvm-vm.js';
import { getLE } from '../devices/device.js';
import { BootgateError } from '../errors.js';
import { RESET_VECTOR, splitRam, VMD_RESET_CS_BASE } from '../layout.js';
import { readFirmwareImage } from '../machine/firmware-image.js';
import { pcIrqRouting } from '../machine/irq-routing.js';
import type { PendingReset } from '../machine/machine.js';
import { buildPc, type PcBuild } from '../machine/pc-devices.js';
import { loadVarsImage, saveVarsImage } from '../devices/flash/vars-file.js';
import { allocateHostMemory, type HostMemory } from '../memory/host-memory.js';
import { ExitAccounting } from '../metrics/exit-accounting.js';
import { ControlBlock, StopMode } from './control.js';
import { MAIL_FATAL, MAIL_SHUTDOWN, Mailbox } from './mailbox.js';
import { faultRegisters } from './fault-registers.js';
import { releaseRunPage } from './run-page.js';
import { type BspWorkerData, postEvent, type StoppedReport, type WorkerMessage } from './messages.js';
import { serveMmio, servePio, servePioAccess } from './serve-exit.js';

const PAUSE_ACK_TIMEOUT_MS = 30_000;
const AP_START_TIMEOUT_MS = 60_000;
const SMALL_APERTURE_PHYS_BITS = 36;
/** Code bytes a stall diagnostic shows on each side of rip (kept inside rip's 4 KiB page). */
const CODE_DUMP_BYTES = 16;

function post(msg: WorkerMessage): void {
  parentPort!.postMessage(msg);
}

export class BspWorker {
  private readonly control: ControlBlock;
  private readonly mailboxes: Array<Mailbox | undefined>;
  private readonly clockOffset: number;
  private readonly acct: ExitAccounting;
  private readonly accel: KvmAccelerator;
  private vm: KvmVm;
  private vcpu: KvmVcpu;
  private readonly pc: PcBuild;
  private seenDoorbell = 0;
  /** Guest-profile samples (gpa of the next instruction → count), when --sample-rip is on. */
  private readonly ripSamples: Map<number, number> | undefined;
  resets = 0;

  constructor(private readonly data: BspWorkerData) {
    const { config } = data;
    this.control = new ControlBlock(data.controlSab, config.smp);
    this.mailboxes = data.mailboxSabs.map((sab, i) => (i === 0 ? undefined : new Mailbox(sab)));
    this.clockOffset = performance.timeOrigin - data.startEpochMs;
    if (config.sampleRipMs !== undefined) this.ripSamples = new Map();
    this.acct = new ExitAccounting(0, this.clockOffset);
    this.accel = new KvmAccelerator();
    this.vm = this.createVm();
    const image = readFirmwareImage(data.firmwarePath);
    const firmware = allocateHostMemory(image.length, 'firmware image');
    firmware.bytes.set(image);
    let vars: HostMemory | undefined;
    if (data.varsTemplatePath) {
      const image = loadVarsImage(data.varsTemplatePath, config.varsFile);
      vars = allocateHostMemory(image.length, 'OVMF variable store');
      vars.bytes.set(image);
    }
    const ramSize = config.memMiB * 1024 * 1024;
    const ram = allocateHostMemory(ramSize, 'guest RAM');
    const { low, high } = splitRam(ramSize, config.lowMemMiB === undefined ? undefined : config.lowMemMiB * 1024 * 1024);
    this.pc = buildPc({
      pmTimerEpochMs: data.startEpochMs,
      onPmTimerPort: (port) => {
        this.control.pmTimerPort = port;
      },
      vm: this.vm,
      config,
      firmware,
      vars,
      ram, ramBelow4G: low, ramAbove4G: high, emit: (e) => this.emit(e) });
    this.vcpu = this.openBsp();
    this.vm.vcpuHandles.forEach((fd, i) => this.control.setVcpuFd(i, fd));
    this.control.registerVcpu(0, gettid(), this.vcpu.fd, this.vcpu.runAddress);
  }

  /** vCPU 0 of the current VM in its reset state (or vmd's, under --quirk vmd-low-bios-only). */
  private openBsp(): KvmVcpu {
    const vcpu = new KvmVcpu(this.vm.vcpuHandles[0]!, 0, this.accel.vcpuMmapSize);
    if (this.data.config.quirks.includes('vmd-low-bios-only')) vcpu.setCsBase(VMD_RESET_CS_BASE);
    return vcpu;
  }

  /** A fresh accelerator VM with the pc's CPUID and GSI routing (first boot and every reset). */
  private createVm(): KvmVm {
    const vm = this.accel.createVm({ vcpus: this.data.config.smp, physBits: this.advertisedPhysBits() });
    vm.setIrqRouting(pcIrqRouting());
    return vm;
  }

  /** What CPUID 0x80000008 tells the guest: --phys-bits, or 36 under the small-aperture quirk. */
  private advertisedPhysBits(): number | undefined {
    return this.data.config.quirks.includes('small-aperture') ? SMALL_APERTURE_PHYS_BITS : this.data.config.physBits;
  }

  now(): number {
    return performance.now() + this.clockOffset;
  }

  emit(event: Record<string, unknown>): void {
    postEvent(event, this.clockOffset);
  }

  start(): void {
    this.emit({ event: 'milestone', name: 'vm-created', detail: `${this.data.config.smp} vCPU, ${this.data.config.memMiB} MiB` });
    this.emit({
      event: 'machine',
      physBits: this.vm.physBits,
      hostPhysBits: this.vm.hostPhysBits,
      ramBelow4G: this.pc.machine.ramBelow4G,
      ramAbove4G: this.pc.machine.ramAbove4G,
      memoryMap: this.pc.memoryMap.list().map((r) => ({ name: r.name, gpa: r.gpa, size: r.size, writable: r.flags.write })),
    });
    post({ type: 'ready', vcpus: this.data.config.smp, mmapSize: this.accel.vcpuMmapSize });
    let report: StoppedReport;
    try {
      // The guest starts once every AP thread runs: a reset (which must pause them all) can come
      // at the first instruction, and a Node worker takes seconds to start in the nested lab.
      if (!this.control.waitAllRegistered(AP_START_TIMEOUT_MS)) {
        throw new BootgateError('E_INTERNAL', `the AP threads did not start within ${AP_START_TIMEOUT_MS / 1000} s`, { hint: 'the host is overloaded; retry with fewer vCPUs (--smp)' });
      }
      this.observeResetVector();
      const outcome = this.loop();
      report = this.report(outcome);
    } catch (e) {
      const err = e instanceof BootgateError ? e : new BootgateError('E_INTERNAL', (e as Error).message, { cause: e });
      this.control.requestStop(StopMode.Stop);
      this.control.kickAll(0);
      report = this.report({ status: 'error', resets: this.resets });
      report.error = { code: err.code, message: err.message, hint: err.hint };
      report.registers = this.vcpu.dumpRegisters();
    }
    this.flushConsoles();
    this.reportFirmwareIntegrity();
    this.reportFlash();
    this.reportRipSamples();
    if (this.pc.testDevices.length > 0) this.emit({ event: 'pci-bars', bars: this.pc.testDevices.flatMap((d) => d.assignments()) });
    if (this.pc.irqTest) this.emit({ event: 'irq-test', device: this.pc.irqTest.stats(), path: this.pc.irqPath.stats() });
    this.releaseWaitingAps();
    post({ type: 'stopped', report });
  }

  /** OVMF's pflash: save the variable store (when --vars), and report ROMD and exit counters. */
  private reportFlash(): void {
    const flash = this.pc.flash;
    if (!flash) return;
    if (this.data.config.varsFile) flash.vars.flush((img) => saveVarsImage(this.data.config.varsFile!, img));
    const c = (f: typeof flash.code) => ({ ...f.counters(), exits: f.exits(), budget: f.exitBudget() });
    this.emit({ event: 'flash', code: c(flash.code), vars: c(flash.vars) });
  }

  private sampleRip(): void {
    const fp = this.vcpu.fetchPoint();
    const gpa = fp.csBase + fp.rip;
    this.ripSamples!.set(gpa, (this.ripSamples!.get(gpa) ?? 0) + 1);
  }

  private reportRipSamples(): void {
    if (this.ripSamples === undefined) return;
    const total = [...this.ripSamples.values()].reduce((a, b) => a + b, 0);
    const top = [...this.ripSamples].sort((a, b) => b[1] - a[1]).slice(0, 30);
    this.emit({ event: 'rip-samples', total, top: top.map(([gpa, n]) => ({ gpa: `0x${gpa.toString(16)}`, samples: n })) });
  }

  /** The high copy must still equal the firmware file: hash what the guest could have reached. */
  private reportFirmwareIntegrity(): void {
    const mm = this.pc.memoryMap;
    this.emit({
      event: 'firmware-high',
      mapped: mm.mapHighCopy,
      bytes: mm.firmware.size,
      sha256: createHash('sha256').update(mm.firmware.bytes).digest('hex'),
      writesTrapped: mm.highCopyWrites,
    });
  }

  private report(outcome: NonNullable<StoppedReport['outcome']>): StoppedReport {
    const r: StoppedReport = { vcpu: 0, snapshot: this.acct.snapshot(), outcome };
    if (this.control.stopMode === StopMode.Diagnose) {
      const d = this.vcpu.diagnose();
      r.registers = { ...d.registers, code: this.codeAt(d.ripGpa) };
      r.devices = [this.pc.uart.interruptState(), this.vm.describeIoapic(), d.lapic];
    }
    return r;
  }

  /** The guest's code bytes around rip's guest-physical address, rip marked with '|' (which instruction the vCPU is at). */
  private codeAt(at: number | undefined): string {
    if (at === undefined) return 'unavailable (rip not mapped)';
    const page = at - (at % 4096);
    const from = Math.max(page, at - CODE_DUMP_BYTES);
    const to = Math.min(page + 4096, at + CODE_DUMP_BYTES);
    try {
      const bytes = [...this.pc.machine.readGuest(from, to - from)].map((b) => b.toString(16).padStart(2, '0'));
      return `${bytes.slice(0, at - from).join(' ')} | ${bytes.slice(at - from).join(' ')}`.trim();
    } catch {
      return `unavailable (0x${at.toString(16)} is not RAM)`;
    }
  }

  /**
   * Single-step the first instruction: it must be fetched at the reset vector from the high copy.
   * Records where the vCPU was before and after, so a suite can check the fetch really happened.
   */
  private observeResetVector(): void {
    const before = this.vcpu.fetchPoint();
    const gpa = before.csBase + before.rip;
    const region = this.pc.memoryMap.regionAt(gpa);
    if (!this.vcpu.setSingleStep(true)) {
      this.emit({ event: 'milestone', name: 'reset-vector', detail: 'single-step unavailable', gpa, region: region?.name ?? null });
      return;
    }
    let kind = this.vcpu.run();
    while (kind === ExitKind.Interrupted) {
      // A kick (sampler, AP doorbell) before the step completed: run the step again.
      this.vcpu.setImmediateExit(false);
      kind = this.vcpu.run();
    }
    this.vcpu.setSingleStep(false);
    if (kind !== ExitKind.Debug) {
      const what = region ? `region ${region.name}` : 'nothing is mapped there';
      throw new BootgateError(
        'E_GUEST',
        `first instruction fetch at the reset vector gpa 0x${gpa.toString(16)} failed (exit ${ExitKind[kind]}): ${what}` +
          (region ? '' : '; the firmware must be mapped so that it ends at 4 GiB'),
        {
          hint: region
            ? undefined
            : this.data.config.quirks.includes('no-high-bios-copy') || this.data.config.quirks.includes('vmd-low-bios-only')
              ? 'drop --quirk no-high-bios-copy / vmd-low-bios-only (they remove the high copy on purpose)'
              : this.data.config.quirks.includes('romd-unmapped')
                ? 'drop --quirk romd-unmapped (it leaves the pflash unmapped on purpose)'
                : 'map the firmware image at 4 GiB - size',
        },
      );
    }
    const after = this.vcpu.fetchPoint();
    this.emit({
      event: 'milestone',
      name: 'reset-vector',
      gpa,
      expected: RESET_VECTOR,
      region: region?.name ?? null,
      before,
      after,
    });
  }

  private loop(): NonNullable<StoppedReport['outcome']> {
    const { acct, control } = this;
    const { pio, mmio } = this.pc.machine;
    const machine = this.pc.machine;
    const com1 = this.pc.com1;
    const debugcon = this.pc.debugcon;
    const irqPath = this.pc.irqPath;
    let tEnd = performance.now();
    for (;;) {
      if (control.stopMode !== StopMode.Running) return { status: 'stopped', resets: this.resets };
      if (control.doorbell !== this.seenDoorbell) this.serveMailboxes();
      const pending = machine.pending;
      if (pending !== null) {
        machine.pending = null;
        if (pending.kind === 'power-off') {
          this.emit({ event: 'milestone', name: 'power-off', detail: pending.source });
          control.requestStop(StopMode.Stop);
          control.kickAll(0);
          return { status: 'power-off', source: pending.source, code: pending.code, resets: this.resets };
        }
        this.resetMachine(pending);
        tEnd = performance.now();
        continue;
      }
      // Two clock reads per exit: the end of one exit's handling starts the next KVM_RUN interval.
      const kind = this.vcpu.run();
      const t1 = performance.now();
      acct.runMs += t1 - tEnd;
      const exit = this.vcpu.exit;
      switch (kind) {
        case ExitKind.IoIn:
        case ExitKind.IoOut: {
          const value = servePio(exit, pio);
          if (value < 0) acct.unassignedPio++;
          tEnd = performance.now();
          acct.pio(kind, exit.port, value, t1, tEnd);
          break;
        }
        case ExitKind.MmioRead:
        case ExitKind.MmioWrite: {
          const region = serveMmio(exit, mmio);
          if (region === 'unassigned') acct.unassigned(exit.gpa);
          tEnd = performance.now();
          acct.mmio(kind, exit.gpa, getLE(exit.data), region, t1, tEnd);
          break;
        }
        case ExitKind.Interrupted:
          this.vcpu.setImmediateExit(false);
          if (this.ripSamples !== undefined) this.sampleRip();
          tEnd = performance.now();
          acct.other(kind, t1, tEnd);
          break;
        case ExitKind.Shutdown:
          this.emit({ event: 'triple-fault', vcpu: 0, registers: faultRegisters(this.vcpu.dumpRegisters()) });
          tEnd = performance.now();
          acct.other(kind, t1, tEnd);
          machine.requestReset('triple-fault');
          break;
        default:
          acct.other(kind, t1, performance.now());
          throw this.fatalExit(kind);
      }
      if (machine.pending?.kind === 'reset' && machine.pending.vcpu === undefined) this.attributeReset(machine.pending);
      com1.poll(t1);
      debugcon.poll(t1);
      irqPath.poll();
    }
  }

  private fatalExit(kind: ExitKind): BootgateError {
    const fp = this.vcpu.fetchPoint();
    const gpa = fp.csBase + fp.rip;
    const region = this.pc.memoryMap.regionAt(gpa);
    const extra = kind === ExitKind.InternalError ? ` suberror ${this.vcpu.exit.suberror} data [${this.vcpu.internalErrorData().map((d) => `0x${d.toString(16)}`).join(', ')}]` : '';
    return new BootgateError(
      'E_GUEST',
      `vCPU 0 stopped with exit ${ExitKind[kind]}${extra} at cs:rip ${fp.csSelector.toString(16)}:${fp.rip.toString(16)} (gpa 0x${gpa.toString(16)}, ${region ? `in ${region.name}` : 'nothing mapped there'})`,
    );
  }

  /** Serve AP requests: device accesses, triple faults, fatal exits. */
  private serveMailboxes(): void {
    this.seenDoorbell = this.control.doorbell;
    const { pio, mmio } = this.pc.machine;
    for (let i = 1; i < this.mailboxes.length; i++) {
      const mb = this.mailboxes[i]!;
      if (!mb.pending) continue;
      const kind = mb.kind;
      const data = mb.data.subarray(0, mb.size * mb.count);
      if (kind === ExitKind.IoIn || kind === ExitKind.IoOut) {
        servePioAccess(pio, kind === ExitKind.IoIn, mb.addr, mb.size, mb.count, data);
      } else if (kind === ExitKind.MmioRead) {
        mmio.read(mb.addr, data);
      } else if (kind === ExitKind.MmioWrite) {
        mmio.write(mb.addr, data);
      } else if (kind === MAIL_SHUTDOWN) {
        this.pc.machine.requestReset(`triple-fault (vCPU ${i})`);
      } else if (kind === MAIL_FATAL) {
        this.emit({ event: 'vcpu-fatal', vcpu: i });
        this.pc.machine.requestPowerOff(`fatal exit on vCPU ${i}`, 255);
      }
      const pending = this.pc.machine.pending;
      if (pending?.kind === 'reset' && pending.vcpu === undefined) pending.vcpu = i;
      mb.reply();
    }
  }

  /** The BSP's own exit asked for a reset: record where it was (the instruction after the request). */
  private attributeReset(pending: PendingReset): void {
    pending.vcpu = 0;
    // After a shutdown exit AMD's KVM has already put the vCPU in reset state (rip 0xfff0).
    if (pending.source.startsWith('triple-fault')) return;
    const regs = this.vcpu.dumpRegisters();
    if (regs.error === undefined) pending.rip = `0x${(BigInt(regs['cs.base']!) + BigInt(regs.rip!)).toString(16)}`;
  }

  /** Answer every AP still waiting so none is left blocked when the BSP stops. */
  private releaseWaitingAps(): void {
    for (const mb of this.mailboxes) if (mb?.pending) mb.reply();
  }

  private flushConsoles(): void {
    this.pc.com1.flush();
    this.pc.debugcon.flush();
  }

  /** Machine reset: pause the APs, rebuild the accelerator VM, remap memory, reset devices, resume. */
  private resetMachine({ source, vcpu, rip }: PendingReset): void {
    this.resets++;
    if (this.data.config.varsFile) this.pc.flash?.vars.flush((img) => saveVarsImage(this.data.config.varsFile!, img));
    this.flushConsoles();
    const epoch = this.control.beginPause();
    this.control.kickAll(0);
    for (let i = 1; i < this.data.config.smp; i++) {
      const deadline = performance.now() + PAUSE_ACK_TIMEOUT_MS;
      while (!this.control.waitAcknowledged(i, epoch, 10)) {
        if (this.control.doorbell !== this.seenDoorbell) this.serveMailboxes();
        if (performance.now() > deadline) throw new BootgateError('E_INTERNAL', `vCPU ${i} did not pause for the machine reset`);
        this.control.kick(i);
      }
    }
    const oldVcpu = this.vcpu;
    this.vm.close();
    this.vm = this.createVm();
    this.pc.machine.vm = this.vm;
    this.pc.memoryMap.mapAll(this.vm);
    this.pc.machine.resetDevices();
    this.vm.vcpuHandles.forEach((fd, i) => this.control.setVcpuFd(i, fd));
    this.vcpu = this.openBsp();
    this.control.registerVcpu(0, gettid(), this.vcpu.fd, this.vcpu.runAddress);
    // Only now can no new kick reach the old page; the old VM is freed with its last page.
    releaseRunPage(this.control, oldVcpu);
    this.control.resume(epoch);
    this.emit({ event: 'reset', source, count: this.resets, ...(vcpu === undefined ? {} : { vcpu }), ...(rip === undefined ? {} : { rip }) });
    this.emit({ event: 'milestone', name: 'reset', detail: source });
  }
}
