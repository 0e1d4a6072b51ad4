// The guest's code bytes around a vCPU's rip for a stall diagnostic, read from any thread through
// where guest RAM sits in the VMM's address space (published in the control block).

import { viewAt } from '../accel/kvm/libc.js';
import { guestRamOffset } from '../memory/host-memory.js';
import type { GuestRamPlace } from './control.js';

/** Code bytes shown on each side of rip (kept inside rip's 4 KiB page). */
const CODE_DUMP_BYTES = 16;
const PAGE = 4096;

/** Hex bytes around `at`, rip marked with '|' (which instruction the vCPU is at). */
export function codeAround(ram: GuestRamPlace | undefined, at: number | undefined): string {
  if (at === undefined) return 'unavailable (rip not mapped)';
  const page = at - (at % PAGE);
  const from = Math.max(page, at - CODE_DUMP_BYTES);
  const to = Math.min(page + PAGE, at + CODE_DUMP_BYTES);
  const off = ram === undefined ? undefined : guestRamOffset(ram, from, to - from);
  if (ram === undefined || off === undefined) return `unavailable (0x${at.toString(16)} is not RAM)`;
  const bytes = [...new Uint8Array(viewAt(ram.hostAddress + BigInt(off), to - from))].map((b) => b.toString(16).padStart(2, '0'));
  return `${bytes.slice(0, at - from).join(' ')} | ${bytes.slice(at - from).join(' ')}`.trim();
}
