import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { which } from './qemu.js';
import { bzImagePayload, labKernelImage } from './vmlinux.js';

const dir = mkdtempSync(join(tmpdir(), 'bootgate-vmlinux-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A bzImage-shaped file: setup header fields, then `payload` where payload_offset says. */
function fakeBzImage(payload: Buffer, setupSects = 2): Buffer {
  const pmStart = (setupSects + 1) * 512;
  const offset = 16;
  const image = Buffer.alloc(pmStart + offset + payload.length + 4);
  image[0x1f1] = setupSects;
  image.write('HdrS', 0x202, 'latin1');
  image.writeUInt32LE(offset, 0x248);
  image.writeUInt32LE(payload.length + 4, 0x24c); // the kernel's size trailer is part of payload_length
  payload.copy(image, pmStart + offset);
  return image;
}

describe('bzImagePayload', () => {
  it('finds the compressed kernel through the setup header', () => {
    const payload = Buffer.from('\xfd7zXZ\0rest', 'latin1');
    expect(bzImagePayload(fakeBzImage(payload))).toEqual({ offset: 3 * 512 + 16, length: payload.length + 4 });
  });

  it('is undefined for something that is not a bzImage', () => {
    expect(bzImagePayload(Buffer.alloc(4096))).toBeUndefined();
  });
});

describe.skipIf(which('xz') === undefined)('labKernelImage', () => {
  it('extracts the ELF from an XZ payload once and caches it; without XZ it boots the image as it is', async () => {
    const elf = Buffer.concat([Buffer.from('\x7fELF', 'latin1'), Buffer.alloc(4096, 7)]);
    const xz = execFileSync('xz', ['--format=xz', '--check=crc32', '-c'], { input: elf });
    const bz = join(dir, 'vmlinuz');
    writeFileSync(bz, fakeBzImage(xz));
    const previous = process.env.BOOTGATE_FIXTURE_CACHE;
    process.env.BOOTGATE_FIXTURE_CACHE = join(dir, 'cache');
    try {
      const out = await labKernelImage(bz, 'f'.repeat(64));
      expect(out).toBe(join(dir, 'cache', 'lab', `vmlinux-${'f'.repeat(16)}`));
      expect(readFileSync(out)).toEqual(elf);
      const plain = join(dir, 'plain');
      writeFileSync(plain, fakeBzImage(Buffer.from('gzip-ish payload')));
      expect(await labKernelImage(plain, 'e'.repeat(64))).toBe(plain);
    } finally {
      if (previous === undefined) delete process.env.BOOTGATE_FIXTURE_CACHE;
      else process.env.BOOTGATE_FIXTURE_CACHE = previous;
    }
  });
});
