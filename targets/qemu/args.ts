// The QEMU command line for a qemu:<accel> target: the machine the own VMM presents (i440fx `pc`,
// the same memory, vCPUs and firmware, no HPET (the own VMM has none, and with it Linux takes IRQ 0
// from the HPET instead of the PIT the interrupt suite's timer round drives), no default devices
// or display; QEMU's `edu` at the interrupt test device's slot for the irqtest guest), SeaBIOS's console on COM1
// (graphics=off sets fw_cfg NOGRAPHIC as the own VMM does), the 0x402 debug console and the
// isa-debug-exit port probe guests use, and QMP. Started paused (-S) so the harness reads the
// memory map at reset and connects the consoles before the first instruction; a boot that times
// its reset vector starts at once instead, with KVM's exits traced (first-exit.ts). Linux guests boot
// directly (-kernel/-initrd/-append: fw_cfg and QEMU's own linuxboot_dma.bin option ROM, the
// ROM the own VMM uses too). Pure: unit-tested.

import type { ResolvedGuest } from '../../guests/catalog.js';
import { BootgateError } from '../../vmm/errors.js';
import { IRQ_TEST_SLOT } from '../../vmm/layout.js';
import type { LinuxBoot } from '../target.js';
import { FIRST_EXIT_TRACE_ARGS } from './first-exit.js';
import type { QemuFirmware } from './firmware.js';

/** Ports as the own VMM registers them (vmm/devices/legacy/debugcon.ts, isa-debug-exit.ts). */
export const DEBUGCON_PORT = 0x402;
export const DEBUG_EXIT_PORT = 0xf4;
/** The own VMM's --mem default (vmm/config.ts). */
export const DEFAULT_MEM_MIB = 512;
/** Accelerator names QEMU could take (`-accel NAME`); properties (`kvm,kernel-irqchip=off`) are not targets. */
export const ACCEL_NAME = /^[a-z][a-z0-9_-]*$/;

export interface QemuMachineSpec {
  accel: string;
  smp: number;
  memMiB?: number;
  firmware: QemuFirmware;
  /** Writable copy of the VARS template, for flash firmware with a template. */
  varsPath?: string;
  qmpSocket: string;
  debugconSocket: string;
  /** A guest reset ends QEMU (SHUTDOWN with reason guest-reset) instead of rebooting. */
  noReboot?: boolean;
  /** PCI test devices in the own VMM's notation; only `mem64pref:SIZE` (pci-testdev's membar) can be reproduced. */
  pciTestDevices?: readonly string[];
  /** CPUID 0x80000008 EAX[7:0], via the CPU model's phys-bits property. */
  physBits?: number;
  /** OVMF's 64-bit PCI aperture, MiB: `-fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=N`. */
  pciMmio64Mb?: number;
  /** Direct Linux boot. */
  linux?: LinuxBoot;
  /** A raw image as the IDE primary master, in snapshot mode (writes go to a temporary file, never the image). */
  disk?: string;
  /**
   * QEMU's educational device (hw/misc/edu.c, 1234:11e8: MSI and INTx pin A, an interrupt per
   * raise register write) at the own VMM's interrupt test device slot; the irqtest probe drives it.
   */
  interruptDevice?: boolean;
  /** Wait for QMP `cont` before the first instruction (-S). Default true. */
  paused?: boolean;
  /** Log every KVM_RUN exit with a wall-clock stamp on stderr (first-exit.ts); -accel kvm only. */
  traceFirstExit?: boolean;
}

/** The CPU model QEMU's `pc` machine uses by default (no -cpu); kept when phys-bits is set. */
export const DEFAULT_CPU_MODEL = 'qemu64';
/** The first slot the own VMM puts PCI test devices in (00:02.0, 00:03.0, ...). */
export const FIRST_TEST_DEVICE_SLOT = 2;
/** pci-testdev's IDs (hw/misc/pci-testdev.c: PCI_VENDOR_ID_REDHAT, PCI_DEVICE_ID_REDHAT_TEST). */
export const PCI_TESTDEV_ID = { vendor: 0x1b36, device: 0x0005 } as const;
/** Matches the reason a test-device spec is refused, for suites that report it as a skip. */
export const CANNOT_REPRODUCE = /cannot be reproduced/;

/**
 * `-device pci-testdev,addr=N,membar=SIZE` per test device, at the own VMM's slots. pci-testdev
 * has a fixed 4 KiB memory BAR 0 and a 256-byte IO BAR 1 of its own; `membar` adds BAR 2, 64-bit
 * prefetchable. So only a device that is exactly one `mem64pref:SIZE` BAR can be reproduced.
 */
export function testDeviceArgs(specs: readonly string[]): string[] {
  return specs.flatMap((spec, i) => {
    const m = /^mem64pref:(\d+)([KMGT]?)$/.exec(spec.trim());
    if (!m) {
      throw new BootgateError('E_CONFIG', `QEMU's pci-testdev offers one 64-bit prefetchable BAR; ${spec} cannot be reproduced`, {
        hint: 'run scenarios with 32-bit, IO or several BARs per device on vmm:kvm',
      });
    }
    const addr = `0x${(FIRST_TEST_DEVICE_SLOT + i).toString(16)}`;
    return ['-device', `pci-testdev,addr=${addr},membar=${m[1]}${m[2]}`];
  });
}

/** The Linux boot of a catalog guest (undefined for firmware-only guests). */
export function guestLinux(guest: ResolvedGuest): LinuxBoot | undefined {
  if (guest.kernel === undefined) return undefined;
  return { kernel: guest.kernel, initrd: guest.initrd, append: guest.append };
}

/**
 * `edu` where the own VMM puts its interrupt test device (00:1f.0). edu raises one interrupt per
 * write of its raise register and counts nothing, so the probe paces it (the next raise after
 * each acknowledgement) and reports what it asked for: the guest's counts are checked against
 * that, and the VMM-side counts (what the device raised, what was injected) are not observable.
 */
export function interruptDeviceArgs(on: boolean | undefined): string[] {
  return on ? ['-device', `edu,addr=0x${IRQ_TEST_SLOT.toString(16)}`] : [];
}

/** A kernel command line that asks the guest to reboot (the probe's reboot=METHOD). */
const REBOOTING_CMDLINE = /(?:^|\s)reboot=/;

/** `-kernel`, `-initrd`, `-append`; a rebooting guest with -no-reboot would end at its first reboot, so that is refused. */
export function linuxArgs(linux: LinuxBoot | undefined, noReboot = false): string[] {
  if (!linux) return [];
  if (noReboot && REBOOTING_CMDLINE.test(linux.append ?? '')) {
    throw new BootgateError('E_CONFIG', `the guest's command line asks for reboots (${linux.append}), which -no-reboot would turn into the end of the run`, {
      hint: 'drop noReboot for guests booted with --reboot',
    });
  }
  return [
    ...['-kernel', linux.kernel],
    ...(linux.initrd === undefined ? [] : ['-initrd', linux.initrd]),
    ...(linux.append === undefined ? [] : ['-append', linux.append]),
  ];
}

/**
 * The image on piix3-ide's primary master (`pc` always has the controller, -nodefaults or not),
 * `snapshot=on` so the cached image is never written, as the own VMM's copy-on-write disk.
 */
export function diskArgs(disk: string | undefined): string[] {
  if (disk === undefined) return [];
  return ['-drive', `file=${escapeOptionValue(disk)},format=raw,if=ide,index=0,media=disk,snapshot=on`];
}

/** OVMF's 64-bit aperture as QEMU users set it (seed 004): a decimal MiB count in a named fw_cfg string. */
export function apertureArgs(mib?: number): string[] {
  if (mib === undefined) return [];
  if (!Number.isInteger(mib) || mib < 1) throw new TypeError(`invalid pciMmio64Mb ${JSON.stringify(mib)}; expected a positive number of MiB`);
  return ['-fw_cfg', `name=opt/ovmf/X-PciMmio64Mb,string=${mib}`];
}

/** `-cpu qemu64,phys-bits=N` when a width is asked for; nothing (QEMU's default, 40 bits) otherwise. */
export function cpuArgs(physBits?: number): string[] {
  if (physBits === undefined) return [];
  if (!Number.isInteger(physBits) || physBits < 32 || physBits > 52) throw new TypeError(`invalid physBits ${JSON.stringify(physBits)}; expected 32..52`);
  return ['-cpu', `${DEFAULT_CPU_MODEL},phys-bits=${physBits}`];
}

/**
 * RAM below and above 4 GiB as QEMU 7.2's i440fx `pc` splits it (hw/i386/pc_piix.c): all of it
 * below 4 GiB when it is under 3.5 GiB, else 3 GiB below and the rest from 4 GiB up.
 */
export function pcRamSplit(memMiB: number): { below4g: number; above4g: number } {
  const bytes = memMiB * 2 ** 20;
  const lowmem = bytes >= 0xe000_0000 ? 0xc000_0000 : 0xe000_0000;
  return bytes >= lowmem ? { below4g: lowmem, above4g: bytes - lowmem } : { below4g: bytes, above4g: 0 };
}

/** QEMU option values separate properties with commas; a literal comma is doubled. */
export function escapeOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

export function firmwareArgs(fw: QemuFirmware, varsPath?: string): string[] {
  if (fw.kind === 'bios') return ['-bios', fw.path];
  const args = ['-drive', `if=pflash,format=${fw.format},unit=0,readonly=on,file=${escapeOptionValue(fw.code)}`];
  if (fw.varsTemplate) {
    if (!varsPath) throw new TypeError(`firmware ${fw.name} has a VARS template; pass varsPath (a writable copy)`);
    args.push('-drive', `if=pflash,format=${fw.varsFormat ?? 'raw'},unit=1,file=${escapeOptionValue(varsPath)}`);
  }
  return args;
}

export function qemuArgs(spec: QemuMachineSpec): string[] {
  if (!ACCEL_NAME.test(spec.accel)) throw new TypeError(`invalid accelerator ${JSON.stringify(spec.accel)}; expected a name like tcg or kvm`);
  if (!Number.isInteger(spec.smp) || spec.smp < 1) throw new TypeError(`invalid smp ${JSON.stringify(spec.smp)}; expected a positive integer`);
  const mem = spec.memMiB ?? DEFAULT_MEM_MIB;
  const hex = (n: number) => `0x${n.toString(16)}`;
  return [
    ...['-name', `bootgate-${spec.accel}`],
    ...['-accel', spec.accel],
    ...['-machine', 'pc,graphics=off,hpet=off'],
    ...['-m', String(mem), '-smp', String(spec.smp)],
    ...cpuArgs(spec.physBits),
    ...apertureArgs(spec.pciMmio64Mb),
    ...firmwareArgs(spec.firmware, spec.varsPath),
    ...linuxArgs(spec.linux, spec.noReboot),
    ...diskArgs(spec.disk),
    ...['-nodefaults', '-vga', 'none', '-display', 'none'],
    // COM1 on stdout: captured from the first byte, timestamped as it arrives.
    ...['-chardev', 'stdio,id=com1,signal=off', '-serial', 'chardev:com1'],
    ...['-chardev', `socket,id=debugcon,path=${escapeOptionValue(spec.debugconSocket)},server=on,wait=off`],
    ...['-device', `isa-debugcon,iobase=${hex(DEBUGCON_PORT)},chardev=debugcon`],
    ...['-device', `isa-debug-exit,iobase=${hex(DEBUG_EXIT_PORT)},iosize=1`],
    ...testDeviceArgs(spec.pciTestDevices ?? []),
    ...interruptDeviceArgs(spec.interruptDevice),
    ...['-chardev', `socket,id=qmp,path=${escapeOptionValue(spec.qmpSocket)},server=on,wait=off`, '-mon', 'chardev=qmp,mode=control'],
    ...(spec.noReboot ? ['-no-reboot'] : []),
    // A guest power-off pauses instead of exiting, so what the verdict reads from the live machine
    // afterwards (the high BIOS copy, the BARs) is still there: the probe powers off right after
    // its last line, and a QEMU that exited first left the run with no high copy (boot.ts reads on
    // QMP SHUTDOWN, then quits QEMU; the exit classifies the run as before).
    '-no-shutdown',
    ...(spec.traceFirstExit ? FIRST_EXIT_TRACE_ARGS : []),
    ...(spec.paused === false ? [] : ['-S']),
  ];
}
