// The VMM process's JSON-lines event stream: one object per line, always with `event` and `t`
// (milliseconds since VMM start). The harness, the CLI and the benchmarks read only this.

/** Milestones a boot passes, in the order they normally happen. */
export type MilestoneName =
  | 'vmm-start' // the VMM process began
  | 'vm-created' // accelerator VM, memory and devices are ready
  | 'reset-vector' // first guest instruction fetched at the reset vector (observed via the first exit's RIP history)
  | 'firmware-banner' // firmware printed its banner (e.g. "SeaBIOS (version")
  | 'boot-attempt' // firmware tried to boot ("Booting from", "No bootable device")
  | 'option-rom' // SeaBIOS ran an option ROM to boot (linuxboot_dma.bin for direct kernel boot)
  | 'kernel-entry' // the Linux kernel's first words (real-mode setup or its banner)
  | 'init' // the probe guest's init reported
  | 'probe-done' // the probe guest finished its report
  | 'reset' // the machine was reset (any source)
  | 'power-off'; // the guest powered off

export interface ExitKindStats {
  count: number;
  /** Time spent handling exits of this kind outside KVM_RUN, ns. */
  handleNs: number;
}

export interface PortStats {
  port: number;
  count: number;
  handleNs: number;
  /** Time (ms since VMM start) of the first and last exit on this port. */
  firstMs: number;
  lastMs: number;
}

export interface RegionStats {
  region: string;
  count: number;
  handleNs: number;
}

/** The exit profile of one boot: the table a patch reviewer wants. */
export interface ExitProfile {
  wallMs: number;
  /** Time inside KVM_RUN summed over vCPUs, and its share of (wall x vCPUs). */
  vcpuRunMs: number;
  vcpuRunPct: number;
  pioMs: number;
  pioPct: number;
  mmioMs: number;
  mmioPct: number;
  exits: Record<string, ExitKindStats>;
  totalExits: number;
  hottestPorts: PortStats[];
  hottestRegions: RegionStats[];
  /** Exits to unassigned ports/MMIO (reads answered with all ones), and the hottest unassigned 4 KiB pages. */
  unassigned: { pio: number; mmio: number; mmioPages?: Array<{ page: number; count: number }> };
  /** vCPU exits handed to the device-owner thread: how many, the median (sampled) and longest wait for an answer. */
  handover?: { count: number; maxMs: number; medianMs: number; hottest?: Array<{ target: string; count: number }> };
}

/** Where a vCPU fetches its next instruction: CS base, selector and RIP (the reset-vector step). */
export interface FetchPoint {
  csBase: number;
  csSelector: number;
  rip: number;
}

/** One BAR of a PCI test device as firmware left it (the `pci-bars` event; QEMU targets read it back in the same shape). */
export interface PciBarReadback {
  bdf: string;
  /** The device's name (own VMM only). */
  device?: string;
  index: number;
  kind: 'io' | 'mem32' | 'mem64';
  prefetchable: boolean;
  size: number;
  /** The programmed base address (0 if never programmed). */
  address: number;
  /** Decoded now: the command register's decode bit is set and the address is valid. */
  decoded: boolean;
  /** Where the BAR was when decode first came on (the firmware's placement; null: never); own VMM only. */
  firstDecoded?: number | null;
}

/** How a run ended (the `final` event). */
export type FinalStatus = 'power-off' | 'until-matched' | 'timeout' | 'error' | 'killed';

/**
 * Every event the VMM writes, one per line. Exhaustive: a kind that is not listed here is a
 * parse error (targets/vmm/events-parser.ts), so a new event is added here first. Payloads that
 * only a report reads (device counters) are typed as far as a consumer relies on them.
 */
export type VmmEvent =
  /** The run's configuration as validated (supervisor.ts), and the quirks switched on. */
  /** processMs: ms from the Node process's start to the VMM's (runVm), which every other `t` counts from. */
  | { event: 'config'; t: number; config: Record<string, unknown>; quirks: string[]; processMs?: number }
  /**
   * A milestone (MilestoneName). `reset-vector` also carries the single-stepped first instruction:
   * where it was fetched (`gpa`, served by `region`), the architectural `expected` address, and
   * the vCPU's fetch point `before` and `after` the step; or detail 'single-step unavailable'.
   */
  | {
      event: 'milestone';
      t: number;
      name: MilestoneName;
      detail?: string;
      vcpu?: number;
      gpa?: number;
      expected?: number;
      region?: string | null;
      before?: FetchPoint;
      after?: FetchPoint;
    }
  | { event: 'serial'; t: number; port: 'com1' | 'debugcon'; data: string }
  /** A console line after which firmware halts for good (vmm/metrics/milestones.ts FIRMWARE_PANICS); the run stops. */
  | { event: 'firmware-panic'; t: number; port: string; line: string }
  /**
   * A machine reset. source: 'cf9 0xNN' (the value written), 'i8042' (pulse command),
   * 'i8042-output-port', 'port92', 'triple-fault' (BSP) or 'triple-fault (vCPU n)'; vcpu: whose exit
   * asked for it; rip: the BSP's linear address after the requesting instruction.
   */
  | { event: 'reset'; t: number; source: string; count: number; vcpu?: number; rip?: string }
  /** A reset past --max-resets: the machine is not rebuilt and the run ends with E_GUEST (a reset loop). */
  | { event: 'reset-refused'; t: number; source: string; count: number; max: number; vcpu?: number }
  /** A vCPU's shutdown exit (triple fault): where it was, before the machine reset. */
  | { event: 'triple-fault'; t: number; vcpu: number; registers: Record<string, string> }
  /** The guest's first MiB saved before a triple fault's reset rebuilt the machine (vmm/machine/memory-snapshot.ts). */
  | { event: 'memory-snapshot'; t: number; reset: number; source: string; gpa: number; bytes: number; file: string }
  /** A vCPU stopped on an exit the VMM cannot continue from (the machine powers off with 255). */
  | { event: 'vcpu-fatal'; t: number; vcpu: number }
  | { event: 'guest-misuse'; t: number; device: string; what: string }
  /** A guest write to the read-only high firmware copy, trapped (count: such writes so far). */
  | { event: 'rom-write'; t: number; gpa: number; count: number }
  /** Where the direct Linux boot put the kernel pieces (vmm/boot/linux-boot.ts LinuxLayout). */
  | { event: 'linux-boot'; t: number; protocol: number; setupSize: number; kernelSize: number; initrdAddr: number; initrdSize: number; cmdlineSize: number }
  /** A fw_cfg file built on first read (the ACPI tables, ...). */
  | { event: 'fwcfg-build'; t: number; file: string; bytes: number }
  /** The ACPI tables were built; pmBase: the PM I/O block they describe. */
  | { event: 'acpi-tables'; t: number; pmBase: number }
  /** The machine as the vCPUs see it: phys-bits advertised and the host's, the RAM split and every memory region. */
  | {
      event: 'machine';
      t: number;
      physBits: number;
      hostPhysBits?: number;
      ramBelow4G: number;
      ramAbove4G: number;
      memoryMap: Array<{ name: string; gpa: number; size: number; writable?: boolean }>;
    }
  /** The PCI test devices' BARs at the end of the run. */
  | { event: 'pci-bars'; t: number; bars: PciBarReadback[] }
  /** The interrupt test device's and the interrupt path's counters at the end of the run. */
  | {
      event: 'irq-test';
      t: number;
      device: Record<string, unknown> & { raised: { intx: number; msi: number } };
      path: Record<string, unknown> & { injected: number; dropped: number; held: number; undeliveredMsis?: number; undeliveredSamples?: string[] };
    }
  /**
   * The IDE channels' counters at the end of a run with --disk (vmm/devices/ide/ide-channel.ts
   * IdeChannelStats per channel), the interrupt path's, and the disk's size and sectors the guest wrote.
   */
  | {
      event: 'ide';
      t: number;
      channels: Record<'primary' | 'secondary', Record<string, unknown> & { irq: number; interruptsRaised: number; dmaTransfers: number; pioBytes: number }>;
      path: Record<string, unknown> & { injected: number; dropped: number; held: number };
      diskSectors: number;
      overlaySectors: number;
    }
  /** What the machine refused the guest over the run: misuse counted by devices, DMA refused per device. */
  | { event: 'guest-refusals'; t: number; misuse: number; dma: Array<{ device: string; transfers: number; refused: number }> }
  /** An interrupt acked or cancelled long after it was raised: `how`, after `ms`, and where it was sent (`to`). */
  | { event: 'irq-stall'; t: number; device: string; how: string; ms: number; to: string }
  /** OVMF's pflash units: command, program, erase and ROMD counters, exits and the exit budget. */
  | { event: 'flash'; t: number; code: Record<string, number>; vars: Record<string, number> }
  /** --sample-rip: how many samples, and the guest-physical addresses seen most. */
  | { event: 'rip-samples'; t: number; total: number; top: Array<{ gpa: string; samples: number }> }
  /** The high firmware copy after the run: mapped at all, its size and hash, guest writes trapped. */
  | { event: 'firmware-high'; t: number; mapped: boolean; bytes: number; sha256: string; writesTrapped: number }
  | { event: 'exit-profile'; t: number; profile: ExitProfile }
  | {
      event: 'final';
      t: number;
      status: FinalStatus;
      exitCode: number;
      resets: number;
      wallMs: number;
      /** The process's peak RSS; left out when the process runs other boots too (a lab series). */
      maxRssBytes?: number;
      profile: ExitProfile;
      error?: { code: string; message: string; hint?: string };
      diagnostic?: Diagnostic;
      /** The console milestones and the line each was seen on. */
      milestones?: Record<string, string>;
    };

/** The kinds of VmmEvent. */
export type VmmEventKind = VmmEvent['event'];

/** What a failing boot leaves behind so the failure explains itself. */
export interface Diagnostic {
  reason: string;
  registers: Array<{ vcpu: number; regs: Record<string, string> }>;
  lastExits: Array<{ vcpu: number; kind: string; detail: string }>;
  /** Device interrupt states at the stop (e.g. COM1's IRQ line and pending source). */
  devices?: string[];
  /** vCPUs whose registers read back in a state no x86 CPU can be in (vmm/vcpu/impossible-state.ts): the accelerator's doing. */
  impossibleStates?: Array<{ vcpu: number; why: string }>;
  serialTail: string;
}
