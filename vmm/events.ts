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

export type VmmEvent =
  | { event: 'config'; t: number; config: Record<string, unknown>; quirks: string[] }
  | { event: 'milestone'; t: number; name: MilestoneName; detail?: string; vcpu?: number }
  | { event: 'serial'; t: number; port: 'com1' | 'debugcon'; data: string }
  /**
   * A machine reset. source: 'cf9 0xNN' (the value written), 'i8042' (pulse command),
   * 'i8042-output-port', 'port92', 'triple-fault' (BSP) or 'triple-fault (vCPU n)'; vcpu: whose exit
   * asked for it; rip: the BSP's linear address after the requesting instruction.
   */
  | { event: 'reset'; t: number; source: string; count: number; vcpu?: number; rip?: string }
  /** A vCPU's shutdown exit (triple fault): where it was, before the machine reset. */
  | { event: 'triple-fault'; t: number; vcpu: number; registers: Record<string, string> }
  | { event: 'guest-misuse'; t: number; device: string; what: string }
  | { event: 'exit-profile'; t: number; profile: ExitProfile }
  | {
      event: 'final';
      t: number;
      status: 'power-off' | 'until-matched' | 'timeout' | 'error' | 'killed';
      exitCode: number;
      resets: number;
      wallMs: number;
      maxRssBytes: number;
      profile: ExitProfile;
      error?: { code: string; message: string; hint?: string };
      diagnostic?: Diagnostic;
    }
  | { event: string; t: number; [key: string]: unknown };

/** What a failing boot leaves behind so the failure explains itself. */
export interface Diagnostic {
  reason: string;
  registers: Array<{ vcpu: number; regs: Record<string, string> }>;
  lastExits: Array<{ vcpu: number; kind: string; detail: string }>;
  /** Device interrupt states at the stop (e.g. COM1's IRQ line and pending source). */
  devices?: string[];
  serialTail: string;
}
