// The QEMU command line for a qemu:<accel> target: the machine the own VMM presents (i440fx `pc`,
// the same memory, vCPUs and firmware, no default devices or display), SeaBIOS's console on COM1
// (graphics=off sets fw_cfg NOGRAPHIC as the own VMM does), the 0x402 debug console and the
// isa-debug-exit port probe guests use, and QMP. Started paused (-S) so the harness reads the
// memory map at reset and connects the consoles before the first instruction. Pure: unit-tested.

import type { QemuFirmware } from './qemu-firmware.js';

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
    ...['-machine', 'pc,graphics=off'],
    ...['-m', String(mem), '-smp', String(spec.smp)],
    ...firmwareArgs(spec.firmware, spec.varsPath),
    ...['-nodefaults', '-vga', 'none', '-display', 'none'],
    // COM1 on stdout: captured from the first byte, timestamped as it arrives.
    ...['-chardev', 'stdio,id=com1,signal=off', '-serial', 'chardev:com1'],
    ...['-chardev', `socket,id=debugcon,path=${escapeOptionValue(spec.debugconSocket)},server=on,wait=off`],
    ...['-device', `isa-debugcon,iobase=${hex(DEBUGCON_PORT)},chardev=debugcon`],
    ...['-device', `isa-debug-exit,iobase=${hex(DEBUG_EXIT_PORT)},iosize=1`],
    ...['-chardev', `socket,id=qmp,path=${escapeOptionValue(spec.qmpSocket)},server=on,wait=off`, '-mon', 'chardev=qmp,mode=control'],
    ...(spec.noReboot ? ['-no-reboot'] : []),
    '-S',
  ];
}
