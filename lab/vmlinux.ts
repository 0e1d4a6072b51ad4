// The lab boots the kernel's uncompressed ELF (vmlinux) through its PVH entry point (QEMU loads
// an ELF -kernel with a XEN_ELFNOTE_PHYS32_ENTRY note itself; Debian's kernel has CONFIG_PVH=y),
// because decompressing the bzImage's 8 MB XZ payload under TCG takes ~5 s of the lab's boot.
// The payload is found through the bzImage setup header (Documentation/x86/boot.rst:
// setup_sects at 0x1f1, payload_offset/payload_length at 0x248/0x24c, relative to the
// protected-mode code at (setup_sects + 1) * 512) and decompressed with xz(1) (busybox's unxz
// lacks the x86 BCJ filter the kernel uses): `xz` from PATH, else the `xz-utils` fixture (its
// binary needs only liblzma5, which every Debian has for dpkg). The result is cached beside the
// initramfs, keyed by the bzImage's sha256. Without xz, or with a payload that is not XZ, the
// lab boots the bzImage as it is (slower) and says so once.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ensureFixtures, resolveFixture } from '../fixtures/fixtures.js';
import { labCacheDir } from './initramfs.js';
import { which } from './qemu.js';

export const XZ_FIXTURE = 'xz-utils';
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** Where the compressed kernel sits in a bzImage, or undefined when it is not one. */
export function bzImagePayload(image: Buffer): { offset: number; length: number } | undefined {
  if (image.length < 0x250 || image.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const setupSects = image[0x1f1] || 4;
  const offset = (setupSects + 1) * 512 + image.readUInt32LE(0x248);
  const length = image.readUInt32LE(0x24c);
  if (length === 0 || offset + length > image.length) return undefined;
  return { offset, length };
}

async function xzBinary(log?: (line: string) => void): Promise<string | undefined> {
  const onPath = which('xz');
  if (onPath) return onPath;
  try {
    await ensureFixtures([XZ_FIXTURE], { log });
    return await resolveFixture(XZ_FIXTURE);
  } catch (err) {
    log?.(`lab: no xz (${(err as Error).message}); booting the compressed kernel, ~5 s slower`);
    return undefined;
  }
}

/** `xz -dc` of `input` into `output`; the kernel's 4-byte size trailer after the stream is ignored. */
async function unxz(xz: string, input: Buffer, output: string): Promise<void> {
  const child = spawn(xz, ['-dc', '--single-stream'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const closed = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  // xz stopping early (bad data) closes its stdin; the exit code reports that, not EPIPE.
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(input);
  await pipeline(child.stdout!, createWriteStream(output));
  const code = await closed;
  if (code !== 0) throw new Error(`xz -dc exited with ${code}: ${stderr.trim()}`);
}

/**
 * The kernel image QEMU should boot: the cached vmlinux when it can be made, else `bzImage`.
 * `sha256` is the bzImage's (the cache key).
 */
export async function labKernelImage(bzImage: string, sha256: string, log?: (line: string) => void): Promise<string> {
  const path = join(labCacheDir(), `vmlinux-${sha256.slice(0, 16)}`);
  if (existsSync(path)) return path;
  const image = await readFile(bzImage);
  const payload = bzImagePayload(image);
  if (!payload || !image.subarray(payload.offset, payload.offset + XZ_MAGIC.length).equals(XZ_MAGIC)) {
    log?.(`lab: ${bzImage} has no XZ payload; booting it compressed`);
    return bzImage;
  }
  const xz = await xzBinary(log);
  if (!xz) return bzImage;
  await mkdir(labCacheDir(), { recursive: true });
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await unxz(xz, image.subarray(payload.offset, payload.offset + payload.length), tmp);
    const head = Buffer.alloc(4);
    const fh = await open(tmp, 'r');
    await fh.read(head, 0, 4, 0).finally(() => fh.close());
    if (!head.equals(ELF_MAGIC)) {
      log?.(`lab: the payload of ${bzImage} is not an ELF kernel; booting it compressed`);
      return bzImage;
    }
    await rename(tmp, path);
    return path;
  } catch (err) {
    log?.(`lab: extracting vmlinux failed (${(err as Error).message}); booting the compressed kernel, ~5 s slower`);
    return bzImage;
  } finally {
    await rm(tmp, { force: true });
  }
}
