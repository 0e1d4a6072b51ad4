// What a target is: one stack (the own VMM, QEMU with some accelerator, either inside the nested
// lab) behind the same small interface: can it run here, what can it observe, boot one machine.
// The suites, the conformance runner, the CLI's `boot --target` and the benchmarks all go through
// it. An assertion a target cannot observe is reported as skipped with the reason, never as passed.

import type { BootResult } from './boot-result.js';

/** Things a suite may want to assert that not every target can show. */
export type Observation =
  | 'reset-vector-step' // the VMM single-steps the first instruction and reports where it landed
  | 'exit-profile' // exits counted by kind/port/region, time shares
  | 'firmware-high-hash' // hash of the high firmware copy after the run
  | 'rom-write-trap' // guest writes to ROM reported as trapped accesses
  | 'debugcon' // the 0x402 debug console
  | 'reset-vector-mapping' // which region serves 0xfffffff0 at reset, and whether it is read-only
  | 'bar-readback' // PCI test devices placed on the machine, their BARs read back after firmware (pci-bars, machine events)
  | 'quirks' // the VMM quirk switches (known-bad configurations)
  | 'disk-interrupts' // the IDE controller's count of the interrupts it raised (the own VMM's ide event)
  | 'reset-path' // each reset's cause: register, value, code address, vCPU (the own VMM's reset and triple-fault events)
  | 'irq-counters' // the interrupt test device's raise count and what the VMM injected (the own VMM's irq-test event)
  | 'guest-refusals' // what the VMM refused the guest: misuse counted, DMA refused (the own VMM's guest-refusals event)
  | 'firmware-bar-placement-any' // where any firmware left each BAR (the own VMM records each BAR's first decode; QEMU reads BARs back when SeaBIOS hands over, which OVMF does not announce)
  | 'ovmf'; // boots OVMF from pflash at least to its first instruction (the nested lab's QEMU cannot)

/** A Linux kernel booted directly (fw_cfg and the linuxboot option ROM on every stack). */
export interface LinuxBoot {
  kernel: string;
  initrd?: string;
  append?: string;
}

/** One machine to boot, in the own VMM's terms (`bootgate boot` options); every target takes the same request. */
export interface BootRequest {
  /** A guest from guests/catalog.ts (`debian-probe`, `debian-irqtest`), with its options. */
  guest?: string;
  reboot?: string;
  reboots?: number;
  irqtest?: string;
  /** Extra kernel command-line words for a Linux guest. */
  append?: string;
  /** A kernel of the caller's own instead of a catalog guest (exclusive with `guest`). */
  linux?: LinuxBoot;
  firmware?: string;
  firmwareFile?: string;
  /** With firmwareFile: a VARS image, so the firmware boots as pflash CODE + (a copy of) VARS, as OVMF. */
  flashVars?: string;
  /**
   * OVMF (ovmf-4m, ovmf-2m): the file that keeps the variable store between runs. Missing, it
   * starts as a copy of the pinned VARS; the guest's writes land in it (own VMM: at reset and
   * exit; QEMU: it is the VARS pflash drive). Without it each boot gets a fresh copy.
   */
  vars?: string;
  smp: number;
  memMiB?: number;
  quirks?: string[];
  timeoutS: number;
  until?: string;
  /**
   * Machine resets the boot may take before the own VMM ends it as a reset loop (E_GUEST);
   * resetAllowance(req) when unset. QEMU has no such limit: its loops run to the timeout.
   */
  maxResets?: number;
  /** Own VMM only: what enters the vCPUs (--vcpu-threads; unset: the VMM's default). QEMU ignores it. */
  vcpuThreads?: 'native' | 'worker';
  /** PCI test devices, one BAR list each ("mem64pref:32G,mem32:512M"). */
  pciTestDevices?: string[];
  physBits?: number;
  /** OVMF's 64-bit PCI aperture in MiB, fw_cfg `opt/ovmf/X-PciMmio64Mb` (QEMU: -fw_cfg name=...,string=N). */
  pciMmio64Mb?: number;
  /** A raw disk image as the IDE primary master; the image file is never written (guest writes stay in the VMM). */
  disk?: string;
  /**
   * Report the `reset-vector` milestone as ms from the VMM's start, for a benchmark. The own VMM
   * always does (its single-stepped first instruction, timed from its own start). QEMU does only
   * when asked: vCPU 0's first KVM_RUN exit from its trace, timed from its spawn, which needs the
   * guest to start at once instead of paused at reset (the reset-time memory map is then not read).
   */
  timeResetVector?: boolean;
}

export interface Target {
  readonly name: string;
  readonly observes: ReadonlySet<Observation>;
  /** Why this target cannot run on this host, or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  boot(req: BootRequest): Promise<BootResult>;
  /**
   * Every boot a suite will ask for, announced up front (in beforeAll) so a target that pays a
   * start-up per batch (the own VMM inside the lab) can run them together; `boot` then returns
   * the prepared result. It resolves when every result asked for is ready: a second call with
   * boots already under way starts nothing and waits for them (bar-assignment's OVMF section
   * waits so for the boots its Linux section's batch started). Targets that boot directly do not
   * implement it.
   */
  prefetch?(reqs: readonly BootRequest[]): Promise<void>;
  /**
   * Why this one boot cannot run on this host although the target can (a CANNOT_RUN_HERE
   * reason), or undefined. The own VMM in the lab boots OVMF only under a QEMU built here.
   */
  cannotBoot?(req: BootRequest): string | undefined;
}

/**
 * The prefix of an `unavailable()` reason that means "this host cannot run the target" (rather
 * than "the target cannot observe it"): the report calls such a run incomplete. The same text as
 * suites/harness/meta.ts NOT_RUN_CANNOT (a unit test keeps them equal); the targets do not import
 * the test harness.
 */
export const CANNOT_RUN_HERE = 'cannot run on this host: ';

/** Whether a boot runs OVMF (the pinned builds); in the nested lab such a boot needs the patched lab QEMU (docs/uefi.md). */
export function bootsOvmf(req: Pick<BootRequest, 'firmware'>): boolean {
  return req.firmware === 'ovmf-4m' || req.firmware === 'ovmf-2m' || req.firmware === 'ovmf-2m-bios';
}

/**
 * What makes a boot need the nested lab's patched QEMU (lab/qemu-build/), or undefined when the
 * lab-qemu fixture runs it: OVMF, on whose CR8 writes the fixture aborts (docs/uefi.md); a disk
 * image at SMP 2 or more, which the fixture's lab faults or hangs on QEMU/KVM as on the own VMM
 * while the patched build ran every such boot clean (docs/lab-fault-rate.md).
 */
export function needsPatchedLab(req: Pick<BootRequest, 'firmware' | 'disk' | 'smp'>): string | undefined {
  if (bootsOvmf(req)) return 'OVMF';
  if (req.disk !== undefined && req.smp >= 2) return 'a disk image at SMP 2 or more';
  return undefined;
}

/** Set inside a lab VM to the QEMU that runs it (lab/qemu.ts LabQemuKind): `fixture` or `patched`. */
export const LAB_QEMU_KIND_ENV = 'BOOTGATE_LAB_QEMU';

/**
 * Resets a boot takes at most before it is a reset loop: per reboot asked for, the reboot and a
 * firmware reset of its own (OVMF resets once more after a variable-store change; QEMU's SeaBIOS
 * after a reboot), and three more for a firmware's first start. A guest that keeps resetting
 * (crashing into triple faults) then ends within seconds instead of at its timeout.
 */
export function resetAllowance(req: Pick<BootRequest, 'reboot' | 'reboots' | 'maxResets'>): number {
  if (req.maxResets !== undefined) return req.maxResets;
  const reboots = req.reboot === undefined ? 0 : (req.reboots ?? 1);
  return 2 * reboots + 3;
}
