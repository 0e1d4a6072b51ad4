// Physical Region Descriptor tables of SFF-8038i (Bus Master Programming Interface for IDE ATA
// Controllers, rev 1.0) §1.2: 8-byte entries of {u32 physical base, u16 byte count (0 = 64 KiB),
// bit 31 of the second dword = end of table}, in a dword-aligned table that must not cross a 64 KiB
// boundary. planTransfer reads a table through MachineServices.readGuest and turns it into the
// guest-memory segments one transfer uses, checking everything before any data moves so a bad
// table touches nothing: an entry that cannot be read (outside guest RAM), a table that reaches its
// 64 KiB boundary without an end-of-table entry, an odd base or byte count (the engine moves 16-bit
// words), a table that describes fewer bytes than the drive transfers, and a region (of the part
// the transfer uses) outside guest RAM. Each failure is a sentence for the guest-misuse counter.
// Left out: regions that cross a 64 KiB boundary are accepted (SFF-8038i forbids them; QEMU 7.2
// and Linux's libata never produce or refuse them either).

import type { MachineServices } from '../device.js';

export const PRD_ENTRY_SIZE = 8;
export const PRD_EOT = 0x8000_0000;
/** A table may not cross this boundary, so it holds at most 8192 entries. */
export const PRD_TABLE_BOUNDARY = 0x1_0000;
/** What a byte count of 0 means. */
const PRD_MAX_REGION = 0x1_0000;

export interface PrdSegment {
  gpa: number;
  length: number;
}

export type PrdPlan =
  | {
      ok: true;
      /** The regions the transfer uses, in order, trimmed to its size. */
      segments: PrdSegment[];
      /** Whether the table describes more than the transfer needs (the bus master then stays active). */
      longer: boolean;
      /** With `gather`, the bytes of the segments in order (what a memory-to-disk transfer carries). */
      data?: Uint8Array;
    }
  | { ok: false; what: string };

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Plan a transfer of `bytes` through the PRD table at guest-physical `table` (dword aligned). Every
 * segment is read once to prove it is RAM; `gather` keeps what was read.
 */
export function planTransfer(guest: Pick<MachineServices, 'readGuest'>, table: number, bytes: number, gather = false): PrdPlan {
  const boundary = (Math.floor(table / PRD_TABLE_BOUNDARY) + 1) * PRD_TABLE_BOUNDARY;
  const segments: PrdSegment[] = [];
  let covered = 0;
  let described = 0;
  for (let at = table, index = 0; ; at += PRD_ENTRY_SIZE, index++) {
    if (at + PRD_ENTRY_SIZE > boundary) {
      const where = at === table + PRD_TABLE_BOUNDARY ? `holds ${index} entries and none ends the table` : `reaches the 64 KiB boundary at ${hex(boundary)}`;
      return { ok: false, what: `PRD table at ${hex(table)} ${where} (no EOT bit)` };
    }
    let entry: Uint8Array;
    try {
      entry = guest.readGuest(at, PRD_ENTRY_SIZE);
    } catch {
      return { ok: false, what: `PRD table entry ${index} at ${hex(at)} is outside guest RAM` };
    }
    const view = new DataView(entry.buffer, entry.byteOffset, PRD_ENTRY_SIZE);
    const base = view.getUint32(0, true);
    const flags = view.getUint32(4, true);
    const field = flags & 0xffff;
    const length = field === 0 ? PRD_MAX_REGION : field;
    if (length % 2 !== 0 || base % 2 !== 0) {
      return { ok: false, what: `PRD entry ${index} at ${hex(at)}: odd ${length % 2 !== 0 ? `byte count ${length}` : `base ${hex(base)}`}` };
    }
    if (covered < bytes) {
      const take = Math.min(length, bytes - covered);
      segments.push({ gpa: base, length: take });
      covered += take;
    }
    described += length;
    if (flags & PRD_EOT) break;
  }
  if (covered < bytes) {
    return { ok: false, what: `PRD table at ${hex(table)} describes ${described} bytes; the drive transfers ${bytes}` };
  }
  const data = gather ? new Uint8Array(bytes) : undefined;
  let offset = 0;
  for (const s of segments) {
    try {
      const part = guest.readGuest(s.gpa, s.length);
      data?.set(part, offset);
    } catch {
      return { ok: false, what: `PRD region ${hex(s.gpa)}+${s.length} is outside guest RAM` };
    }
    offset += s.length;
  }
  return { ok: true, segments, longer: described > bytes, data };
}
