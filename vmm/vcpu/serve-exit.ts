// The one dispatcher from a decoded exit to the buses (after Firecracker's handle_kvm_exit):
// pure enough to unit-test with synthetic exits. String PIO (rep ins/outs) goes to the bus as one
// access of many elements (PioBus.readRepeated), which repeats per element unless the device copies runs.

import { ExitKind, type ExitInfo } from '../accel/exit-info.js';
import type { MmioBus, PioBus } from '../bus/bus.js';
import { getLE } from '../devices/device.js';

/**
 * Serve `count` accesses of `size` bytes at `port` with their data packed in `data` (string PIO:
 * count > 1); true when the port is assigned. Used for exits and for AP mailbox requests.
 */
export function servePioAccess(bus: PioBus, isIn: boolean, port: number, size: number, count: number, data: Uint8Array): boolean {
  if (count === 1) return (isIn ? bus.read(port, data) : bus.write(port, data)) !== undefined;
  const all = data.subarray(0, size * count);
  return (isIn ? bus.readRepeated(port, size, all) : bus.writeRepeated(port, size, all)) !== undefined;
}

/** Serve a PIO exit; returns the first element's value (for the exit ring) or -1 if unassigned. */
export function servePio(exit: ExitInfo, bus: PioBus): number {
  const { port, size, count, data } = exit;
  return servePioAccess(bus, exit.kind === ExitKind.IoIn, port, size, count, data) ? getLE(data.subarray(0, size)) : -1;
}

/** Serve an MMIO exit; returns the region name that served it ("unassigned" if none). */
export function serveMmio(exit: ExitInfo, bus: MmioBus): string {
  const r = exit.kind === ExitKind.MmioRead ? bus.read(exit.gpa, exit.data) : bus.write(exit.gpa, exit.data);
  return r === undefined ? 'unassigned' : r.device.name;
}
