// A disk image used copy-on-write: the file is opened read-only and never written, so one cached
// guest image can back any number of VMs and stays byte-for-byte (and mtime) unchanged. Sectors the
// guest writes live in an in-memory overlay for the life of the backend; reads take a sector from
// the overlay when it has one and fall through to the file otherwise. Runs of file sectors are read
// with one pread each.
// Left out: persisting the overlay, discarding it, images that are not raw (qcow2 and the like),
// a cap on overlay memory (a guest that rewrites the whole disk holds the whole disk in memory).

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BootgateError } from '../../errors.js';
import { type BlockBackend, checkRange, SECTOR_SIZE, sectorCount } from './block-backend.js';

export class CowFileBackend implements BlockBackend {
  readonly sectors: number;
  private fd: number | null;
  private readonly overlay = new Map<number, Uint8Array>();

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new BootgateError('E_FIXTURE', `cannot open disk image ${path}`, { cause: e, hint: 'build or fetch the image first' });
    }
    const size = fstatSync(this.fd).size;
    if (size === 0 || size % SECTOR_SIZE !== 0) {
      closeSync(this.fd);
      this.fd = null;
      throw new BootgateError('E_FIXTURE', `disk image ${path} is ${size} bytes, not a whole number of ${SECTOR_SIZE}-byte sectors`, {
        hint: 'use a raw image padded to a sector multiple',
      });
    }
    this.sectors = size / SECTOR_SIZE;
  }

  /** How many sectors the guest has written (each held in memory). */
  get overlaySectors(): number {
    return this.overlay.size;
  }

  read(lba: number, count: number): Uint8Array {
    checkRange(`disk image ${this.path} read`, this.sectors, lba, count);
    const out = new Uint8Array(count * SECTOR_SIZE);
    let i = 0;
    while (i < count) {
      const own = this.overlay.get(lba + i);
      if (own !== undefined) {
        out.set(own, i * SECTOR_SIZE);
        i++;
        continue;
      }
      // A run of sectors the guest never wrote: one read from the file.
      let run = 1;
      while (i + run < count && !this.overlay.has(lba + i + run)) run++;
      this.readFile(out.subarray(i * SECTOR_SIZE, (i + run) * SECTOR_SIZE), (lba + i) * SECTOR_SIZE);
      i += run;
    }
    return out;
  }

  write(lba: number, data: Uint8Array): void {
    const count = sectorCount(`disk image ${this.path}`, data);
    checkRange(`disk image ${this.path} write`, this.sectors, lba, count);
    for (let i = 0; i < count; i++) {
      this.overlay.set(lba + i, data.slice(i * SECTOR_SIZE, (i + 1) * SECTOR_SIZE));
    }
  }

  /** Close the image; the backend cannot be read afterwards. */
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private readFile(into: Uint8Array, position: number): void {
    if (this.fd === null) throw new BootgateError('E_INTERNAL', `disk image ${this.path} read after close()`);
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, position + done);
      if (n === 0) throw new BootgateError('E_FIXTURE', `disk image ${this.path} shrank while in use (short read at ${position + done})`);
      done += n;
    }
  }
}
