// The accelerator interface every backend implements (after Cloud Hypervisor's hypervisor crate):
// a small Accelerator { createVm }, Vm { memory, vCPUs, interrupts }, Vcpu { run, regs }.
// Memory-region flags are backend-neutral; backends map them onto KVM_MEM_READONLY and friends.

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
  createVm(options: { vcpus: number }): Vm;
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
  close(): void;
}
