// The guest's code bytes around a vCPU's rip for a stall diagnostic, read from any thread through
// where guest RAM sits in the VMM's address space (published in the control block).

import { viewAt } from '../accel/kvm/libc.js';
import { FOUR_GIB } from '../layout.js';
import type { GuestRamPlace } from './control.js';

/** Code bytes shown on each side of rip (kept inside rip's 4 KiB page). */
const CODE_DUMP_BYTES = 16;
const PAGE = 4096;

/** Offset into the RAM allocation of [gpa, gpa+length), or undefined when that is not RAM. */
export function ramOffset(ram: Pick<GuestRamPlace, 'below4G' | 'above4G'>, gpa: number, length: number): number | undefined {
  if (gpa + length <= ram.below4G) return gpa;
  if (gpa >= FOUR_GIB && gpa + length <= FOUR_GIB + ram.above4G) return ram.below4G + (gpa - FOUR_GIB);
  return undefined;
}

/** Hex bytes around `at`, rip marked with '|' (which instruction the vCPU is at). */
export function codeAround(ram: GuestRamPlace | undefined, at: number | undefined): string {
  if (at === undefined) return 'unavailable (rip not mapped)';
  const page = at - (at % PAGE);
  const from = Math.max(page, at - CODE_DUMP_BYTES);
  const to = Math.min(page + PAGE, at + CODE_DUMP_BYTES);
  const off = ram === undefined ? undefined : ramOffset(ram, from, to - from);
  if (ram === undefined || off === undefined) return `unavailable (0x${at.toString(16)} is not RAM)`;
  const bytes = [...new Uint8Array(viewAt(ram.hostAddress + BigInt(off), to - from))].map((b) => b.toString(16).padStart(2, '0'));
  return `${bytes.slice(0, at - from).join(' ')} | ${bytes.slice(at - from).join(' ')}`.trim();
}
