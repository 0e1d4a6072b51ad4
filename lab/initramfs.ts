// The lab initramfs, built at run time: busybox-static as /bin/busybox (sh symlinked to it; the
// init installs the other applets), /init from lab/scripts.ts, the modules under /lib/modules,
// /dev/console for the init's first messages. Written as an uncompressed newc cpio
// (lab/cpio.ts) into `<fixture cache>/lab/initramfs-<key>.cpio`, the key a hash of every input,
// so an unchanged lab reuses the file and a changed script or module builds a new one.
// Left out: compression (the kernel unpacks ~6 MB of plain cpio faster than it would inflate it),
// pruning old cache files.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixtureCacheDir } from '../fixtures/fixtures.js';
import { type CpioEntry, cpioArchive } from './cpio.js';
import type { LabKernel } from './kernel.js';
import { initScript } from './scripts.js';

/** Bumped when the archive layout changes in a way the inputs do not show. */
const LAYOUT_VERSION = 2;

export function labCacheDir(): string {
  return join(fixtureCacheDir(), 'lab');
}

export function initramfsKey(kernel: LabKernel, init: string): string {
  const h = createHash('sha256').update(`layout ${LAYOUT_VERSION}\n`).update(init).update(`busybox ${kernel.busybox.sha256}\n`);
  for (const m of kernel.modules) h.update(`module ${m.file} ${m.sha256}\n`);
  return h.digest('hex').slice(0, 16);
}

export async function initramfsEntries(kernel: LabKernel, init: string): Promise<CpioEntry[]> {
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'newroot', 'job', 'lib', 'lib/modules'].map((path) => ({ type: 'dir' as const, path })),
    { type: 'char', path: 'dev/console', major: 5, minor: 1 },
    { type: 'file', path: 'bin/busybox', data: await readFile(kernel.busybox.path), mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'file', path: 'init', data: Buffer.from(init, 'utf8'), mode: 0o755 },
  ];
  for (const m of kernel.modules) entries.push({ type: 'file', path: `lib/modules/${m.file}`, data: await readFile(m.path) });
  return entries;
}

/** The cached initramfs for this kernel, built when missing. */
export async function labInitramfs(kernel: LabKernel): Promise<string> {
  const init = initScript({
    modules: kernel.modules.filter((m) => m.group === 'io').map((m) => m.file),
    background: kernel.modules.filter((m) => m.group === 'kvm').map((m) => m.file),
  });
  const dir = labCacheDir();
  const path = join(dir, `initramfs-${initramfsKey(kernel, init)}.cpio`);
  if (existsSync(path)) return path;
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, cpioArchive(await initramfsEntries(kernel, init)));
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
  return path;
}
