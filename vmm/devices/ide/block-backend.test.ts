import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBackend, SECTOR_SIZE } from './block-backend.js';
import { CowFileBackend } from './cow-file-backend.js';

/** A sector whose every byte is `value`. */
const sector = (value: number, count = 1) => new Uint8Array(count * SECTOR_SIZE).fill(value);

describe('MemoryBackend', () => {
  it('reads back what was written, and copies on the way in and out', () => {
    const image = sector(7, 4);
    const disk = new MemoryBackend(image);
    image.fill(0);
    expect(disk.sectors).toBe(4);
    expect(disk.read(1, 2)).toEqual(sector(7, 2));
    disk.write(2, sector(9));
    const out = disk.read(1, 3);
    expect([out[0], out[SECTOR_SIZE], out[2 * SECTOR_SIZE]]).toEqual([7, 9, 7]);
    out.fill(1);
    expect(disk.read(2, 1)).toEqual(sector(9));
  });

  it('refuses an empty or ragged image and requests outside the disk', () => {
    expect(() => new MemoryBackend(0)).toThrow(/sectors/);
    expect(() => new MemoryBackend(new Uint8Array(100))).toThrow(/image of 100 bytes/);
    const disk = new MemoryBackend(2);
    expect(() => disk.read(1, 2)).toThrow(/outside a disk of 2 sectors/);
    expect(() => disk.write(0, new Uint8Array(10))).toThrow(/whole number of sectors/);
  });
});

describe('CowFileBackend', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function image(sectors: number): string {
    dir = mkdtempSync(join(tmpdir(), 'bootgate-cow-'));
    const path = join(dir, 'disk.img');
    const bytes = new Uint8Array(sectors * SECTOR_SIZE);
    for (let s = 0; s < sectors; s++) bytes.fill(s + 1, s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
    writeFileSync(path, bytes);
    // Read-only on disk too: any attempt to open it for writing would fail loudly.
    chmodSync(path, 0o444);
    return path;
  }

  it('keeps writes in memory: reads see them, the file keeps its bytes and mtime', () => {
    const path = image(8);
    const before = readFileSync(path);
    const mtime = statSync(path).mtimeMs;
    const disk = new CowFileBackend(path);
    expect(disk.sectors).toBe(8);

    disk.write(2, sector(0xaa, 2));
    disk.write(6, sector(0xbb));
    const all = disk.read(0, 8);
    expect(Array.from({ length: 8 }, (_, s) => all[s * SECTOR_SIZE])).toEqual([1, 2, 0xaa, 0xaa, 5, 6, 0xbb, 8]);
    expect(disk.overlaySectors).toBe(3);
    disk.close();

    expect(readFileSync(path).equals(before)).toBe(true);
    expect(statSync(path).mtimeMs).toBe(mtime);
    // A second backend over the same image starts from the file, not from the first one's writes.
    const again = new CowFileBackend(path);
    expect(again.read(2, 1)).toEqual(sector(3));
    again.close();
  });

  it('refuses a missing image or one that is not whole sectors', () => {
    expect(() => new CowFileBackend('/nonexistent/bootgate.img')).toThrow(/cannot open disk image/);
    dir = mkdtempSync(join(tmpdir(), 'bootgate-cow-'));
    const ragged = join(dir, 'ragged.img');
    writeFileSync(ragged, new Uint8Array(SECTOR_SIZE + 1));
    expect(() => new CowFileBackend(ragged)).toThrow(/not a whole number of 512-byte sectors/);
  });
});
