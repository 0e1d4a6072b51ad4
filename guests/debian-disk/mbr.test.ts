// The boot area as grub-bios-setup would leave it, checked field by field, and the refusals.

import { describe, expect, it } from 'vitest';
import { buildBootArea, buildMbr, checkCoreImage } from './mbr.js';
import { ROOT_START_SECTOR, SECTOR } from './spec.js';

/** A stand-in boot.img: code bytes, kernel sector 1 at 0x5C, the jmp over the drive check at 0x66. */
function bootImg(): Uint8Array {
  const b = new Uint8Array(SECTOR).map((_, i) => (i * 13) & 0xff);
  const v = new DataView(b.buffer);
  v.setBigUint64(0x5c, 1n, true);
  b[0x66] = 0xeb;
  b[0x67] = 0x05;
  return b;
}

/** A core.img of `sectors` sectors whose block list says start 2, length sectors - 1 (as grub-mkimage writes it). */
function coreImg(sectors: number, start = 2n, length = sectors - 1): Uint8Array {
  const c = new Uint8Array(sectors * SECTOR - 100).fill(0x42);
  const v = new DataView(c.buffer);
  v.setBigUint64(SECTOR - 12, start, true);
  v.setUint16(SECTOR - 4, length, true);
  return c;
}

const PARTS = [
  { type: 0x83, startSector: 2048, sectors: 2_097_152, active: true },
  { type: 0xda, startSector: 2_099_200, sectors: 131_072 },
];

describe('buildMbr', () => {
  it('keeps boot.img code, NOPs the drive check, writes LBA partition entries and the signature', () => {
    const mbr = buildMbr(bootImg(), PARTS, 0xb0079a7e);
    const v = new DataView(mbr.buffer);
    expect(mbr.subarray(0, 0x66)).toEqual(bootImg().subarray(0, 0x66));
    expect([mbr[0x66], mbr[0x67]]).toEqual([0x90, 0x90]);
    expect(mbr.subarray(0x68, 440)).toEqual(bootImg().subarray(0x68, 440));
    expect(v.getUint32(440, true)).toBe(0xb0079a7e);
    expect(mbr[0x1be]).toBe(0x80);
    expect(mbr[0x1be + 4]).toBe(0x83);
    expect(v.getUint32(0x1be + 8, true)).toBe(2048);
    expect(v.getUint32(0x1be + 12, true)).toBe(2_097_152);
    expect(mbr[0x1ce]).toBe(0);
    expect(mbr[0x1ce + 4]).toBe(0xda);
    expect(v.getUint32(0x1ce + 8, true)).toBe(2_099_200);
    expect(mbr.subarray(0x1de, 0x1fe).every((b) => b === 0)).toBe(true);
    expect([mbr[510], mbr[511]]).toEqual([0x55, 0xaa]);
  });

  it('refuses a boot.img of the wrong size or one that loads core.img from elsewhere', () => {
    expect(() => buildMbr(new Uint8Array(440), PARTS)).toThrow(/boot\.img is 440 bytes/);
    const moved = bootImg();
    new DataView(moved.buffer).setBigUint64(0x5c, 5n, true);
    expect(() => buildMbr(moved, PARTS)).toThrow(/does not load core\.img from LBA 1/);
  });

  it('refuses more than four partitions and entries that do not fit 32-bit LBA fields', () => {
    expect(() => buildMbr(bootImg(), [...PARTS, ...PARTS, PARTS[0]!])).toThrow(/4 primary partitions/);
    expect(() => buildMbr(bootImg(), [{ type: 0x83, startSector: 2 ** 32 - 10, sectors: 20 }])).toThrow(/does not fit/);
    expect(() => buildMbr(bootImg(), [{ type: 0x83, startSector: 0, sectors: 20 }])).toThrow(/does not fit/);
  });
});

describe('checkCoreImage / buildBootArea', () => {
  it('places core.img at LBA 1 and leaves the rest of the gap zero', () => {
    const core = coreImg(53);
    const area = buildBootArea(bootImg(), core, PARTS);
    expect(area.length).toBe(ROOT_START_SECTOR * SECTOR);
    expect(area.subarray(SECTOR, SECTOR + core.length)).toEqual(core);
    expect(area.subarray(SECTOR + core.length).every((b) => b === 0)).toBe(true);
    expect(checkCoreImage(core)).toBe(53);
  });

  it('refuses a block list that does not follow core.img from LBA 2, and a core.img too big for the gap', () => {
    expect(() => checkCoreImage(coreImg(53, 3n))).toThrow(/start 3 length 52; expected start 2 length 52/);
    expect(() => checkCoreImage(coreImg(53, 2n, 10))).toThrow(/length 10/);
    expect(() => checkCoreImage(coreImg(ROOT_START_SECTOR + 1))).toThrow(/gap before partition 1 holds 2047/);
  });
});
