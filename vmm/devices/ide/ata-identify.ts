// The 512-byte IDENTIFY DEVICE block of an ATA disk (ATA/ATAPI-6 §8.15, table 27), built from the
// drive's size, strings and current settings. What it advertises is what the drive implements:
// LBA28 and LBA48, IORDY, PIO 3-4, multiword DMA 0-2 and Ultra DMA 0-5 (Linux's ata_piix drives
// 8086:7010 with multiword DMA, a PIIX4 or ICH with Ultra DMA), READ/WRITE MULTIPLE of up to 16
// sectors, a write cache that can be switched, FLUSH CACHE and FLUSH CACHE EXT. The default strings
// and the 16-sector multiple are what QEMU 7.2's IDE disk reports, so guests see the same disk.
// Left out: SMART, NOP, security, HPA, power-management and general-purpose-logging feature sets
// (never advertised, so Linux never issues them), single-word DMA (obsolete since ATA-3), a world
// wide name, logical sectors other than 512 bytes.

import { SECTOR_SIZE } from './block-backend.js';

/** Most sectors a READ/WRITE MULTIPLE block may hold (word 47), as QEMU's disk. */
export const MAX_MULTIPLE_SECTORS = 16;
/** Largest capacity LBA28 commands can address; words 60-61 saturate here. */
export const LBA28_LIMIT = 0x0fff_ffff;
/** Conventional translation for disks without a BIOS-given geometry (16 heads, 63 sectors per track). */
const DEFAULT_HEADS = 16;
const DEFAULT_SECTORS_PER_TRACK = 63;
const MAX_CYLINDERS = 16383;

export interface Geometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** The default CHS geometry of a disk of `sectors` sectors (cylinders capped at 16383, as ATA-6 §6.2.1 notes). */
export function defaultGeometry(sectors: number): Geometry {
  const perCylinder = DEFAULT_HEADS * DEFAULT_SECTORS_PER_TRACK;
  const cylinders = Math.max(1, Math.min(MAX_CYLINDERS, Math.floor(sectors / perCylinder)));
  return { cylinders, heads: DEFAULT_HEADS, sectorsPerTrack: DEFAULT_SECTORS_PER_TRACK };
}

/** Transfer modes the host selected with SET FEATURES 03h (at most one DMA mode is selected). */
export type TransferMode = { kind: 'pio' } | { kind: 'mwdma'; mode: number } | { kind: 'udma'; mode: number };

export interface IdentifyInput {
  sectors: number;
  unit: 0 | 1;
  serial: string;
  firmware: string;
  model: string;
  /** Current translation (INITIALIZE DEVICE PARAMETERS may change it); words 1-6 keep the default. */
  geometry: Geometry;
  multipleSectors: number;
  writeCache: boolean;
  mode: TransferMode;
}

/** Highest multiword DMA and Ultra DMA modes advertised (words 63 and 88). */
export const MAX_MWDMA_MODE = 2;
export const MAX_UDMA_MODE = 5;

/**
 * The mode a SET FEATURES 03h sector count selects (ATA/ATAPI-6 table 44: 00h/01h PIO default,
 * 08h+n PIO flow-control mode n, 20h+n multiword DMA n, 40h+n Ultra DMA n), or null for a mode
 * this drive does not advertise.
 */
export function decodeTransferMode(value: number): TransferMode | null {
  const mode = value & 0x07;
  switch (value >> 3) {
    case 0:
      return mode <= 1 ? { kind: 'pio' } : null;
    case 1:
      return mode <= 4 ? { kind: 'pio' } : null;
    case 4:
      return mode <= MAX_MWDMA_MODE ? { kind: 'mwdma', mode } : null;
    case 8:
      return mode <= MAX_UDMA_MODE ? { kind: 'udma', mode } : null;
    default:
      return null;
  }
}

/** ATA strings hold two characters per word, the first in the high byte; unused room is spaces. */
function putString(block: Uint8Array, word: number, words: number, text: string): void {
  for (let i = 0; i < words * 2; i++) {
    const c = i < text.length ? text.charCodeAt(i) & 0x7f : 0x20;
    block[word * 2 + (i ^ 1)] = c;
  }
}

export function identifyBlock(d: IdentifyInput): Uint8Array {
  const block = new Uint8Array(SECTOR_SIZE);
  const view = new DataView(block.buffer);
  const put = (word: number, value: number) => view.setUint16(word * 2, value & 0xffff, true);
  const { cylinders, heads, sectorsPerTrack } = d.geometry;
  const chsCapacity = cylinders * heads * sectorsPerTrack;
  const fixed = defaultGeometry(d.sectors);
  const lba28 = Math.min(d.sectors, LBA28_LIMIT);

  put(0, 0x0040); // fixed disk, ATA
  put(1, fixed.cylinders);
  put(3, fixed.heads);
  put(6, fixed.sectorsPerTrack);
  putString(block, 10, 10, d.serial);
  putString(block, 23, 4, d.firmware);
  putString(block, 27, 20, d.model);
  put(47, 0x8000 | MAX_MULTIPLE_SECTORS);
  put(49, (1 << 11) | (1 << 9) | (1 << 8)); // IORDY, LBA, DMA
  put(50, 1 << 14);
  put(53, 0x0007); // words 54-58, 64-70 and 88 are valid
  put(54, cylinders);
  put(55, heads);
  put(56, sectorsPerTrack);
  put(57, chsCapacity);
  put(58, chsCapacity >>> 16);
  if (d.multipleSectors !== 0) put(59, 0x0100 | d.multipleSectors);
  put(60, lba28);
  put(61, lba28 >>> 16);
  put(63, 0x0007 | (d.mode.kind === 'mwdma' ? 0x100 << d.mode.mode : 0));
  put(64, 0x0003); // PIO 3 and 4
  for (const w of [65, 66, 67, 68]) put(w, 120); // cycle times in ns: PIO 4 / MW DMA 2
  put(80, 0x007e); // ATA-1 .. ATA/ATAPI-6
  put(82, 1 << 5); // write cache
  put(83, (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10)); // FLUSH CACHE EXT, FLUSH CACHE, LBA48
  put(84, 1 << 14);
  put(85, d.writeCache ? 1 << 5 : 0);
  put(86, (1 << 13) | (1 << 12) | (1 << 10));
  put(87, 1 << 14);
  put(88, 0x003f | (d.mode.kind === 'udma' ? 0x100 << d.mode.mode : 0));
  // Hardware reset result: this device's half valid, number by jumper; 80-conductor cable seen.
  put(93, (1 << 14) | (1 << 13) | (d.unit === 0 ? 0x0003 : 0x0300));
  const hi = Math.floor(d.sectors / 0x1_0000_0000);
  put(100, d.sectors);
  put(101, d.sectors >>> 16);
  put(102, hi);
  put(103, hi >>> 16);
  return block;
}
