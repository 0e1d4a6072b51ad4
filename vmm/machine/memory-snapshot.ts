// The guest's first MiB, saved when a vCPU triple-faults. On AMD SVM, KVM resets the VMCB at a
// shutdown, so the registers read back in the INIT state and only the guest rip in L1 KVM's trace
// (lab/kvm-trace.ts) says where the CPU was; whether the bytes there were code or, say, a stack
// the CPU jumped into needs the memory as it was. Real mode, SeaBIOS's 32-bit code and its stack
// all live below 1 MiB. RAM survives the reset, but the firmware's next run overwrites it, so the
// snapshot is taken before the machine is rebuilt.

import { writeFileSync } from 'node:fs';

/** The reset source the VMM names for a triple fault of `vcpu` (the BSP's is plain 'triple-fault'). */
export function tripleFaultSource(vcpu: number): string {
  return vcpu === 0 ? 'triple-fault' : `triple-fault (vCPU ${vcpu})`;
}

/** Bytes saved from guest-physical 0. */
export const LOW_MEMORY_BYTES = 0x10_0000;

/** Where the snapshot of reset number `reset` goes, beside the run's event stream. */
export function snapshotPath(eventsFile: string, reset: number): string {
  return `${eventsFile}.reset-${reset}.lowmem`;
}

/** Write RAM's first LOW_MEMORY_BYTES (fewer with less RAM) to `file`; returns the byte count. */
export function writeLowMemory(ram: Uint8Array, file: string): number {
  const bytes = ram.subarray(0, Math.min(LOW_MEMORY_BYTES, ram.length));
  writeFileSync(file, bytes);
  return bytes.length;
}

/**
 * A report line of the bytes at `rip` in a snapshot, read both ways the CPU could have fetched it:
 * with CS base 0 (flat protected mode, or real mode in segment 0) and with CS base 0xF0000 (real
 * mode, and SeaBIOS's 16-bit segments, in the BIOS segment).
 */
export function bytesAtRip(snapshot: Uint8Array, rip: number, count = 16): string {
  const at = (base: number): string => {
    const start = base + rip;
    if (start + count > snapshot.length) return `0x${start.toString(16)}: outside the snapshot`;
    return `0x${start.toString(16)}: ${[...snapshot.subarray(start, start + count)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
  };
  return `guest bytes at the shutdown rip, CS base 0 ${at(0)}; CS base 0xf0000 ${at(0xf0000)}`;
}
