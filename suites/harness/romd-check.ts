// ROMD remap checker: judges the flash-romd probe's line (guests/probes/flash-romd.asm) on the
// guest's own evidence. The probe times reads of the VARS flash in read-array mode before and
// after a CFI command (0x70 read status, then 0xFF read array), the fastest of 8 passes each (a
// host that preempts the vCPU slows one pass, a trap every pass). A flash mapped back as a memory
// slot after the command reads as fast as before; one the VMM never maps back traps every read
// (the seed's exit storm: DragonFlyBSD #3310, NVMM + QEMU), many times slower.

import type { Failure } from './failures.js';

export const ROMD = {
  ran: 'the probe reported its timings',
  status: 'the flash answers its status command (0x80: ready)',
  remapped: 'after the command, flash reads cost what they cost before it (mapped back, no exit storm)',
} as const;

/** How much slower reads after the command may be before they count as trapped (natively ~1x; a trap costs 100x+). */
export const ROMD_SLOWDOWN_MAX = 4;
/** CFI status register: bit 7, the write state machine is ready. */
const CFI_STATUS_READY = 0x80;

export interface RomdProbe {
  status: number;
  before: number;
  after: number;
}

const LINE = /flash-romd: status ([0-9a-f]{2}) before ([0-9a-f]{8}) after ([0-9a-f]{8})/;

export function parseRomdProbe(debugcon: string): RomdProbe | undefined {
  const m = LINE.exec(debugcon);
  if (!m) return undefined;
  return { status: parseInt(m[1]!, 16), before: parseInt(m[2]!, 16), after: parseInt(m[3]!, 16) };
}

export function checkRomd(p: RomdProbe | undefined): Failure[] {
  if (!p) return [{ assertion: ROMD.ran, message: 'no "flash-romd:" line on the debug console' }];
  const failures: Failure[] = [];
  if (p.status !== CFI_STATUS_READY) failures.push({ assertion: ROMD.status, message: `status register 0x${p.status.toString(16)}, expected 0x80` });
  const ratio = p.after / Math.max(p.before, 1);
  if (ratio > ROMD_SLOWDOWN_MAX) {
    failures.push({
      assertion: ROMD.remapped,
      message: `${p.after} cycles for the reads after the command against ${p.before} before it (${ratio.toFixed(1)}x, at most ${ROMD_SLOWDOWN_MAX}x): every read after the command trapped`,
    });
  }
  return failures;
}
