// The accelerator interface every backend implements (after Cloud Hypervisor's hypervisor crate):
// a small Accelerator { createVm }, Vm { memory, vCPUs, interrupts }, Vcpu { run, kick, regs }.
// Memory-region flags are backend-neutral; backends map them onto KVM_MEM_READONLY and friends.
// What only quirks and diagnostics need (a vCPU's CS base, address translation, internal-error
// words) is the optional VcpuIntrospection, so a new backend can start without it.

import type { ExitInfo, ExitKind } from './exit-info.js';

export interface MemoryRegionFlags {
  read: true;
  write: boolean;
  exec: boolean;
}

export interface MemoryRegion {
  /** Backend slot id, chosen by the caller's slot allocator. */
  slot: number;
  gpa: number;
  size: number;
  /** Host virtual address of the backing memory. */
  hostAddress: bigint;
  flags: MemoryRegionFlags;
  /** A name for reports ("ram-low", "bios-high", "pam-f0000"). */
  name: string;
}

/** Why a vCPU left the guest: a small discriminated union (after Firecracker's VcpuExit). */
export type VmExit =
  | { kind: 'io-in'; port: number; size: number; count: number }
  | { kind: 'io-out'; port: number; size: number; count: number }
  | { kind: 'mmio-read'; gpa: number; size: number }
  | { kind: 'mmio-write'; gpa: number; size: number }
  | { kind: 'hlt' }
  | { kind: 'shutdown' } // triple fault
  | { kind: 'interrupted' } // a kick (EINTR / immediate_exit)
  | { kind: 'system-event'; type: number }
  | { kind: 'internal-error'; suberror: number; data: bigint[] }
  | { kind: 'fail-entry'; reason: bigint }
  | { kind: 'debug' } // single-step completed
  | { kind: 'unknown'; reason: number };

/** One route of a GSI to an interrupt-controller pin. */
export interface IrqRoute {
  gsi: number;
  chip: 'pic-master' | 'pic-slave' | 'ioapic';
  pin: number;
}

export interface Accelerator {
  readonly name: string;
  /** A VM with `vcpus` vCPUs created (their handles in Vm.vcpuHandles); `physBits` is what CPUID advertises. */
  createVm(options: { vcpus: number; physBits?: number }): Vm;
  /** What vCPU threads need to open this accelerator's vCPUs (published through the control block). */
  readonly vcpuParams: VcpuBackendParams;
  /** The vCPU backend, for a thread that already loaded the accelerator (the device owner at SMP 1). */
  vcpuBackend(): VcpuBackend;
  /** Native threads that enter this backend's vCPUs for the device owner (optional: see NativeVcpuThreads). */
  nativeVcpuThreads?(count: number, spin: SpinBudget): NativeVcpuThreads;
  close(): void;
}

/** Backend-specific numbers the VM's builder publishes for the vCPU threads. */
export interface VcpuBackendParams {
  /** KVM: the size of the kvm_run mapping (KVM_GET_VCPU_MMAP_SIZE). */
  mmapSize: number;
}

export interface Vm {
  /** Map or replace the mapping at `region.slot`. */
  mapMemory(region: MemoryRegion): void;
  /** Remove the mapping at `slot`. */
  unmapMemory(slot: number): void;
  /** Drive an interrupt line of the in-kernel irqchip (GSI). */
  setIrqLine(gsi: number, level: boolean): void;
  /** Replace the GSI → irqchip-pin routing table. */
  setIrqRouting(routes: readonly IrqRoute[]): void;
  /** IOAPIC redirection entry of a pin (for the irq-to-bsp-only quirk). */
  ioapicRedirection(pin: number): bigint;
  /** The interrupt controller's pending lines and live pins in one line (for a stall diagnostic). */
  describeIoapic(): string;
  /** PIT channel 0 reload count and mode (for the starve-low-priority-irq quirk). */
  pitChannel0(): { count: number; mode: number };
  /** Inject an MSI; false when the accelerator accepted it but delivered it to no vCPU (no APIC matched, or it was blocked). */
  signalMsi(addressLo: number, addressHi: number, data: number): boolean;
  /** vCPU file descriptors (or backend handles) that workers open a Vcpu on. */
  readonly vcpuHandles: number[];
  readonly fd: number;
  /** Physical address bits advertised to the guest (CPUID 0x80000008). */
  readonly physBits: number;
  /** The host's physical address bits (what the guest's could at most be). */
  readonly hostPhysBits: number;
  close(): void;
}

/** Where the next instruction is fetched: gpa = csBase + rip in real mode. */
export interface FetchPoint {
  csBase: number;
  csSelector: number;
  rip: number;
}

/** What a stall diagnostic shows of one vCPU. */
export interface VcpuDiagnosis {
  /** Registers as hex strings, plus `rip.gpa` (rip through the guest's page tables) when known. */
  registers: Record<string, string>;
  /** rip's guest-physical address, for a dump of the code there. */
  ripGpa?: number;
  /** Run state and local APIC in one line. */
  lapic: string;
}

/**
 * One virtual CPU, used only by the thread that runs it. `run` enters the guest and returns at the
 * next exit, decoded into the reused `exit` (no allocation on the hot path).
 *
 * Kicking (another thread makes a running `run` return `Interrupted` soon) is a contract between
 * the backend and the control block: the backend names a host byte (`kickAddress`) which, set to 1,
 * makes the current or next entry return at once (KVM's kvm_run.immediate_exit); the kicker then
 * signals the vCPU's thread so a running entry is interrupted. `setImmediateExit(false)` re-arms.
 */
export interface Vcpu {
  readonly index: number;
  readonly exit: ExitInfo;
  /** Host address of the kick byte (see above); valid until close(). */
  readonly kickAddress: bigint;
  run(): ExitKind;
  setImmediateExit(on: boolean): void;
  /** Single-step the next entry (a Debug exit after one instruction); false if the backend refuses. */
  setSingleStep(on: boolean): boolean;
  fetchPoint(): FetchPoint;
  /** Registers for a fault or diagnostic dump, as hex strings ({error} when unreadable). */
  dumpRegisters(): Record<string, string>;
  diagnose(): VcpuDiagnosis;
  /** Release the vCPU's host resources (only once no kicker can still hold `kickAddress`). */
  close(): void;
}

/** What quirks and deeper diagnostics use; a backend may leave it out. */
export interface VcpuIntrospection {
  /** Move the real-mode CS base (where F000:FFF0 fetches from). */
  setCsBase(base: number): void;
  /** Extra words of an internal-error exit. */
  internalErrorData(): bigint[];
  /** Clear `vector` from the local APIC's IRR (scrub-irr-live-vector quirk); whether it was pending. */
  clearIrrVector(vector: number): boolean;
}

/** Opens the vCPUs of a VM built on another thread, from the handles that VM published. */
export interface VcpuBackend {
  readonly name: string;
  open(handle: number, index: number): Vcpu & Partial<VcpuIntrospection>;
}

/** Where a native vCPU thread is (vcpu-loop.c's slot states). */
export enum NativeState {
  Idle = 0,
  Run = 1,
  Exited = 2,
  Quit = 3,
  Done = 4,
}

/**
 * vCPU threads that are native threads of the backend, not JavaScript workers: each only enters
 * its vCPU's guest, once per `resume`, and rings a bell when the entry ends; the thread that owns
 * the devices (and opened every Vcpu) decodes and serves the exits. They start in microseconds where
 * a Node worker takes most of a second in the nested lab (docs/vcpu-layer.md).
 */
/** How long each side polls before it sleeps in the futex, in µs (vcpu/spin.ts). */
export interface SpinBudget {
  /** A vCPU thread waiting for the owner's answer. */
  vcpuUs: number;
  /** The owner waiting for the next exit. */
  ownerUs: number;
}

export interface NativeVcpuThreads {
  /** Start thread `index` (idle until its first resume). */
  spawn(index: number): void;
  /** Thread `index`'s kernel thread id once it runs (0 before), for kicks. */
  tid(index: number): number;
  state(index: number): NativeState;
  /** Enter `vcpu` once on thread `index` (which must be idle or exited). */
  resume(index: number, vcpu: Vcpu): void;
  /** Leave an exited thread idle (its exit served, no entry wanted yet). */
  idle(index: number): void;
  /** End thread `index` after the entry it is in, if any. */
  quit(index: number): void;
  /** Decode the exit of thread `index`'s last entry into `vcpu.exit`; its kind and when it came (performance.now() ms). */
  takeExit(index: number, vcpu: Vcpu): { kind: ExitKind; exitedMs: number };
  /** Thread `index`'s time in the guest so far, every entry (ms). */
  runMs(index: number): number;
  /**
   * The sync registers (the owner's bus's table, in its order: an entry's index names it in
   * publishShadow and takeLocalReads), as (port, span, kind) with kind a device.ts SyncKind. The
   * port writes a thread queues in `postedRing` and re-enters the guest after, instead of handing
   * them over: PostedWrite (a write of exactly `span` bytes at `port`), Debugcon (byte writes in
   * [port, port + span), ConfigAddress (as PostedWrite, and it keeps the value as the threads'
   * latch); PostCode writes in that range it only counts (postCodes). The reads it answers itself:
   * PmTimer (from its clock and the PM epoch), ShadowRead (a byte read, from the value published
   * for the entry), ConfigData (from publishPciImage's image). Replacing the table unpublishes
   * every shadow value.
   */
  setSyncTable(entries: ReadonlyArray<{ port: number; span: number; kind: number }>): void;
  /**
   * Rewrite the PCI configuration image the threads answer CONFIG_DATA reads from (the table's
   * ConfigData entry): for each entry, bus-0 function `devfn`'s 256 bytes of configuration space,
   * or none there (its reads are all ones). Until the first call every such read goes to the owner.
   * `latch`: CONFIG_ADDRESS as the threads see it from now on (after a reset).
   */
  publishPciImage(functions: ReadonlyArray<{ devfn: number; config: Uint8Array | undefined }>, latch?: number): void;
  /** Publish table entry `index`'s ShadowRead value: a byte, or -1 (a read goes to the owner). */
  publishShadow(index: number, value: number): void;
  /**
   * Where the PM timer the threads answer counted 0 (performance.now() ms); before the first entry.
   * `ownerEvery` > 0 (the pm-timer-two-clocks quirk only) hands every ownerEvery-th read of each
   * thread to the owner.
   */
  setPmEpoch(epochMs: number, ownerEvery?: number): void;
  /**
   * The PmTimer and ShadowRead reads thread `index` answered for table entry `entry` since the last
   * call (read and reset), with the first and last times (performance.now() ms) and the last value.
   */
  takeLocalReads(index: number, entry: number): { count: number; firstMs: number; lastMs: number; value: number };
  /** The ring the threads queue postable writes in (vmm/vcpu/posted-writes.ts's layout). */
  readonly postedRing: ArrayBuffer;
  /** A queued write's time (its slot's fourth word, µs since the threads' epoch) as performance.now() ms. */
  postedAtMs(us: number): number;
  /**
   * The 4 KiB pages (page numbers) no device claims, whose MMIO accesses the threads answer
   * themselves as the bus would (reads all ones, writes dropped); replaces the table (at most 64).
   */
  setEmptyPages(pages: readonly number[]): void;
  /**
   * The POST code writes thread `index` answered itself (the table's PostCode entry: counted, never
   * queued), with the first and last times (performance.now() ms), the port and the last value.
   */
  postCodes(index: number): { count: number; firstMs: number; lastMs: number; port: number; value: number };
  /** Thread `index`'s accesses answered in the table's entry `entry` since the last call (read and reset). */
  takeEmptyHits(index: number, entry: number): { reads: number; writes: number };
  /** The bell: bumped on every exit and thread start or end. */
  readonly bell: number;
  /** Wait (spin, then sleep up to `timeoutMs`) while the bell reads `seen`; the bell. */
  waitBell(seen: number, timeoutMs: number): number;
  /** Free the threads' memory (only once every thread is done; otherwise it is left). */
  close(): void;
}
