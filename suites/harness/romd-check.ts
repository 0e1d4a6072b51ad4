// ROMD remap checker: judges the flash-romd probe's line (guests/probes/flash-romd.asm) on the
// guest's own evidence. The probe times reads of the VARS flash in read-array mode before a CFI
// command (`before`), in read-status mode, where every read is the VMM's (`trapped`), and in
// read-array mode again after 0xFF (`after`); each the fastest of 8 passes (a host that preempts
// the vCPU slows one pass, a trap every pass). A flash mapped back as a memory slot after the
// command reads as fast as before; one the VMM never maps back traps every read (the seed's exit
// storm: DragonFlyBSD #3310, NVMM + QEMU) and costs what `trapped` costs.
// Why a yardstick and not a fixed factor: what a mapped read costs is the host's. Natively it is a
// few cycles and a trap 20x+ that; on a PVM /dev/kvm a read of a read-only slot costs about 4,000
// cycles (QEMU/KVM alike) and a trap to the VMM 3-4x that (docs/platform.md, "OVMF flash").

import type { Failure } from './failures.js';

export const ROMD = {
  ran: 'the probe reported its timings',
  status: 'the flash answers its status command (0x80: ready)',
  contrast: 'before the command, flash reads cost clearly less than reads that trap (read-array mode is a memory slot)',
  remapped: 'after the command, flash reads cost what they cost before it (mapped back, no exit storm)',
} as const;

/**
 * Read-array reads before the command must cost at most 1/CONTRAST_MIN of trapped reads: with the
 * slot in the guest's page tables the gap is 20x+, on a PVM host 3-4x (own VMM) or 2.2-3.2x
 * (QEMU/KVM, whose trap is cheaper); a flash that traps from power-on (never mapped as ROMD) ~1x.
 */
export const CONTRAST_MIN = 1.5;
/** CFI status register: bit 7, the write state machine is ready. */
const CFI_STATUS_READY = 0x80;

export interface RomdProbe {
  status: number;
  before: number;
  trapped: number;
  after: number;
}

const LINE = /flash-romd: status ([0-9a-f]{2}) before ([0-9a-f]{8}) trapped ([0-9a-f]{8}) after ([0-9a-f]{8})/;

export function parseRomdProbe(debugcon: string): RomdProbe | undefined {
  const m = LINE.exec(debugcon);
  if (!m) return undefined;
  return { status: parseInt(m[1]!, 16), before: parseInt(m[2]!, 16), trapped: parseInt(m[3]!, 16), after: parseInt(m[4]!, 16) };
}

/**
 * The line between "mapped" and "trapped": the geometric mean of the two yardsticks, so a pass is
 * as far (as a factor) from a trap as a failure is from a mapped read.
 */
export function remapLimit(p: RomdProbe): number {
  return Math.sqrt(Math.max(p.before, 1) * Math.max(p.trapped, 1));
}

export function checkRomd(p: RomdProbe | undefined): Failure[] {
  if (!p) return [{ assertion: ROMD.ran, message: 'no "flash-romd:" line on the debug console' }];
  const failures: Failure[] = [];
  if (p.status !== CFI_STATUS_READY) failures.push({ assertion: ROMD.status, message: `status register 0x${p.status.toString(16)}, expected 0x80` });
  const before = Math.max(p.before, 1);
  if (p.trapped < CONTRAST_MIN * before) {
    failures.push({
      assertion: ROMD.contrast,
      message: `${p.before} cycles for reads in read-array mode against ${p.trapped} for reads in read-status mode (${(p.trapped / before).toFixed(1)}x, at least ${CONTRAST_MIN}x): the flash traps in read-array mode too, or this host cannot tell the two apart`,
    });
    return failures;
  }
  const limit = remapLimit(p);
  if (p.after > limit) {
    failures.push({
      assertion: ROMD.remapped,
      message: `${p.after} cycles for the reads after the command, against ${p.before} before it and ${p.trapped} for trapped reads (limit ${Math.round(limit)}, their geometric mean): every read after the command trapped`,
    });
  }
  return failures;
}
