// Host memory that backs guest RAM and ROM: anonymous mmap (page aligned, zeroed, lazily
// committed), visible to every thread of the VMM process through its address.

import { BootgateError } from '../errors.js';
import {
  errno,
  MAP_ANONYMOUS,
  MAP_FAILED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  mmap,
  munmap,
  PROT_READ,
  PROT_WRITE,
  strerror,
  viewAt,
} from '../accel/kvm/libc.js';
import { FOUR_GIB } from '../layout.js';

export interface HostMemory {
  readonly address: bigint;
  readonly size: number;
  /** Zero-copy bytes over the whole allocation. */
  readonly bytes: Uint8Array;
}

export function allocateHostMemory(size: number, what: string): HostMemory {
  const address = mmap(0n, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (address === MAP_FAILED) {
    throw new BootgateError('E_CONFIG', `cannot allocate ${size} bytes of host memory for ${what}: ${strerror(errno())}`, {
      hint: 'lower --mem',
    });
  }
  return { address, size, bytes: new Uint8Array(viewAt(address, size)) };
}

/** Re-open a view over memory allocated by another thread of this process. */
export function attachHostMemory(address: bigint, size: number): HostMemory {
  return { address, size, bytes: new Uint8Array(viewAt(address, size)) };
}

export function freeHostMemory(mem: HostMemory): void {
  munmap(mem.address, mem.size);
}

/**
 * Offset into the guest-RAM allocation of guest-physical [gpa, gpa+length): RAM below 4 GiB first,
 * then the part above 4 GiB; undefined when the range is not all RAM.
 */
export function guestRamOffset(ram: { below4G: number; above4G: number }, gpa: number, length: number): number | undefined {
  // A negative or fractional address would index the allocation from its end or nowhere.
  if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(length) || gpa < 0 || length < 0) return undefined;
  if (gpa + length <= ram.below4G) return gpa;
  if (gpa >= FOUR_GIB && gpa + length <= FOUR_GIB + ram.above4G) return ram.below4G + (gpa - FOUR_GIB);
  return undefined;
}
