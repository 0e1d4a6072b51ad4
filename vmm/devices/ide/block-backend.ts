// What an emulated disk reads and writes: whole 512-byte sectors addressed by LBA. The drive
// (ata-drive.ts) range-checks every request against `sectors` before it calls the backend, so a
// backend may treat an out-of-range request as a bug and throw. MemoryBackend keeps the disk in a
// Uint8Array (unit tests, scratch disks); cow-file-backend.ts layers writes over a read-only image.

import { BootgateError } from '../../errors.js';

/** ATA logical sector size; the drive advertises no other (IDENTIFY word 106 stays 0). */
export const SECTOR_SIZE = 512;

export interface BlockBackend {
  /** Capacity in sectors. */
  readonly sectors: number;
  /** `count` sectors from `lba`, as a new array of count * SECTOR_SIZE bytes. */
  read(lba: number, count: number): Uint8Array;
  /** Store `data` (a whole number of sectors) from `lba`. */
  write(lba: number, data: Uint8Array): void;
}

/** Throws unless [lba, lba + count) lies inside a disk of `sectors` sectors. */
export function checkRange(what: string, sectors: number, lba: number, count: number): void {
  const ok = Number.isSafeInteger(lba) && Number.isSafeInteger(count) && lba >= 0 && count >= 0 && lba + count <= sectors;
  if (!ok) throw new BootgateError('E_INTERNAL', `${what}: sectors ${lba}+${count} outside a disk of ${sectors} sectors`);
}

/** Throws unless `data` is a whole number of sectors; returns how many. */
export function sectorCount(what: string, data: Uint8Array): number {
  if (data.length % SECTOR_SIZE !== 0) {
    throw new BootgateError('E_INTERNAL', `${what}: a write of ${data.length} bytes is not a whole number of sectors`);
  }
  return data.length / SECTOR_SIZE;
}

/** A disk held in memory: starts zero-filled, or as a copy of `image` (a whole number of sectors). */
export class MemoryBackend implements BlockBackend {
  readonly sectors: number;
  private readonly bytes: Uint8Array;

  constructor(sizeOrImage: number | Uint8Array) {
    if (typeof sizeOrImage === 'number') {
      if (!Number.isSafeInteger(sizeOrImage) || sizeOrImage <= 0) {
        throw new BootgateError('E_CONFIG', `memory disk of ${sizeOrImage} sectors`, { hint: 'give a positive sector count' });
      }
      this.bytes = new Uint8Array(sizeOrImage * SECTOR_SIZE);
    } else {
      if (sizeOrImage.length === 0 || sizeOrImage.length % SECTOR_SIZE !== 0) {
        throw new BootgateError('E_CONFIG', `memory disk image of ${sizeOrImage.length} bytes`, {
          hint: `give a non-empty image whose size is a multiple of ${SECTOR_SIZE}`,
        });
      }
      this.bytes = sizeOrImage.slice();
    }
    this.sectors = this.bytes.length / SECTOR_SIZE;
  }

  read(lba: number, count: number): Uint8Array {
    checkRange('memory disk read', this.sectors, lba, count);
    return this.bytes.slice(lba * SECTOR_SIZE, (lba + count) * SECTOR_SIZE);
  }

  write(lba: number, data: Uint8Array): void {
    checkRange('memory disk write', this.sectors, lba, sectorCount('memory disk', data));
    this.bytes.set(data, lba * SECTOR_SIZE);
  }
}
