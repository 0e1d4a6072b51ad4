// Builds the debian-disk image (spec.ts) on the host, once, and caches it by a hash of its inputs
// in <cache>/images/debian-disk-<hash>/ (the fixtures' cache root, outside the clone):
//   1. debootstrap --variant=minbase with IMAGE_INCLUDES into a folder (its own chroot for package
//      scripts; no loop device, no mount of the image);
//   2. every installed package's version is compared with packages.lock, so the image is the same
//      on every machine; a difference stops the build naming the packages (the suite is frozen, so
//      a difference means a mirror serving something else);
//   3. root-files.ts's files; the initramfs rebuilt with the listed modules; GRUB's modules
//      copied to /boot/grub/i386-pc and core.img made by grub-mkimage, both from the image's own
//      grub-pc-bin, run inside the folder with chroot;
//   4. mkfs.ext4 -d turns the folder into the root file system, e2fsck -fn checks it;
//   5. disk.raw: the boot area (mbr.ts), the root partition, the random pattern partition.
// The finished image is never written again: the VMMs use it copy-on-write (the own VMM's
// cow-file-backend, QEMU's snapshot=on). meta.json records its sha256, so a test can show it.
// Host needs: Linux, root (debootstrap and chroot), debootstrap, mkfs.ext4/e2fsck (e2fsprogs), dd.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { chmod, copyFile, mkdir, open, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { mirrorUrl } from '../../fixtures/archive.js';
import { isOffline, sha256File } from '../../fixtures/fetch.js';
import { cacheRoot } from '../../fixtures/fixtures.js';
import { BootgateError } from '../../vmm/errors.js';
import { buildBootArea } from './mbr.js';
import { rootFiles, shadowWithoutRootPassword } from './root-files.js';
import {
  DISK_SECTORS,
  IMAGE_CMDLINE,
  IMAGE_INCLUDES,
  IMAGE_KERNEL_RELEASE,
  IMAGE_SUITE,
  MIB,
  PART_TYPE_LINUX,
  PART_TYPE_NON_FS_DATA,
  PATTERN_MIB,
  PATTERN_START_SECTOR,
  ROOT_FS_UUID,
  ROOT_MIB,
  ROOT_START_SECTOR,
  SECTOR,
} from './spec.js';

/** Bump when the recipe changes in a way the hashed inputs do not show. */
const RECIPE_VERSION = 1;
const SOURCE_DIR = dirname(fileURLToPath(import.meta.url)).replace('/dist/guests/', '/guests/');
export const LOCK_FILE = join(SOURCE_DIR, 'packages.lock');
/** Files whose content defines the image. */
const INPUT_FILES = ['spec.ts', 'root-files.ts', 'mbr.ts', 'disk-probe.sh', 'packages.lock'] as const;
const GRUB_DIR = 'usr/lib/grub/i386-pc';
/** Modules core.img carries: enough to read /boot/grub from partition 1; the rest load from there. */
const CORE_MODULES = ['biosdisk', 'part_msdos', 'ext2'] as const;
const OUTPUT_TAIL = 2000;

export interface DiskImageMeta {
  sha256: string;
  sectors: number;
  kernelRelease: string;
  cmdline: string;
  rootStartSector: number;
  patternStartSector: number;
  patternMib: number;
  packages: number;
  buildSeconds: number;
}

export interface DiskImage {
  path: string;
  meta: DiskImageMeta;
}

export interface DiskBuildOptions {
  log?: (line: string) => void;
  /** Rebuild even when the cached image exists. */
  force?: boolean;
  /** Write packages.lock from what debootstrap installed instead of checking against it. */
  updateLock?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** The hash of everything that defines the image (recipe files, lock, spec). */
export function imageKey(): string {
  const h = createHash('sha256').update(`recipe ${RECIPE_VERSION}\n`);
  for (const f of INPUT_FILES) {
    const path = join(SOURCE_DIR, f);
    h.update(`${f}\n`).update(existsSync(path) ? readFileSync(path) : 'absent');
  }
  return h.digest('hex').slice(0, 16);
}

export function imageDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'images', `debian-disk-${imageKey()}`);
}

/** The cached image when it is there, else undefined (no build). */
export function cachedDiskImage(env: NodeJS.ProcessEnv = process.env): DiskImage | undefined {
  const dir = imageDir(env);
  const path = join(dir, 'disk.raw');
  const metaPath = join(dir, 'meta.json');
  if (!existsSync(path) || !existsSync(metaPath)) return undefined;
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as DiskImageMeta;
  // meta.json's mtime says when the image was last used (imagesToEvict); a read-only cache is fine.
  try {
    const now = new Date();
    utimesSync(metaPath, now, now);
  } catch {
    /* not ours to touch */
  }
  return { path, meta };
}

/**
 * How long an image of another recipe stays after its last use: a test run in flight, or another
 * checkout sharing the cache, still boots it (a build that removed it at once broke a running
 * suite's checksums).
 */
export const OTHER_IMAGE_KEEP_MS = 24 * 3600 * 1000;

/** The image folders to remove after building `current`: other recipes' images not used for OTHER_IMAGE_KEEP_MS. */
export function imagesToEvict(folders: ReadonlyArray<{ name: string; usedMs: number }>, current: string, nowMs: number): string[] {
  return folders.filter((f) => f.name.startsWith('debian-disk-') && f.name !== current && nowMs - f.usedMs > OTHER_IMAGE_KEEP_MS).map((f) => f.name);
}

/** Why this host cannot build the image, or undefined when it can. */
export function cannotBuildHere(): string | undefined {
  if (process.platform !== 'linux') return `building the debian-disk image needs Linux (debootstrap and chroot); this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'building the debian-disk image needs root (debootstrap and chroot)';
  return undefined;
}

/** Compares `installed` (name=version lines) with the lock; returns the differences, empty when equal. */
export function lockDifferences(locked: string, installed: string): string[] {
  const parse = (text: string) => new Map(text.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const want = parse(locked);
  const have = parse(installed);
  const out: string[] = [];
  for (const [name, version] of want) {
    const got = have.get(name);
    if (got === undefined) out.push(`${name}: locked ${version}, not installed`);
    else if (got !== version) out.push(`${name}: locked ${version}, installed ${got}`);
  }
  for (const [name, version] of have) if (!want.has(name)) out.push(`${name}: installed ${version}, not in the lock`);
  return out;
}

async function run(what: string, command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await execa(command, args, { reject: false, all: true, env: { LC_ALL: 'C', ...env } });
  if (r.failed) {
    const tail = String(r.all ?? '').slice(-OUTPUT_TAIL);
    throw new BootgateError('E_FIXTURE', `${what} failed (${command} exit ${r.exitCode ?? r.signal ?? 'not started'}):\n${tail}`, {
      hint: r.exitCode === undefined && /ENOENT/.test(String(r.message)) ? `install ${command} (npm test's bootstrap does on Debian)` : 'see the output above',
    });
  }
  return String(r.stdout ?? '');
}

export async function buildDebianDiskImage(options: DiskBuildOptions = {}): Promise<DiskImage> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const cached = cachedDiskImage(env);
  if (cached && !options.force && !options.updateLock) return cached;
  if (isOffline(env)) {
    throw new BootgateError('E_FIXTURE', `the debian-disk image is not built (${imageDir(env)}) and BOOTGATE_OFFLINE is set`, {
      hint: 'run `npm run disk-image` once with network access',
    });
  }
  const why = cannotBuildHere();
  if (why) throw new BootgateError('E_CONFIG', why, { hint: 'build it on a Linux host as root (`npm run disk-image`) and copy the cache folder' });
  const started = Date.now();
  const finalDir = imageDir(env);
  await removeStaleBuilds(dirname(finalDir));
  const work = join(dirname(finalDir), `${BUILD_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  const root = join(work, 'root');
  await mkdir(work, { recursive: true });
  try {
    const debCache = join(dirname(finalDir), 'debootstrap-debs');
    await mkdir(debCache, { recursive: true });
    log(`debian-disk: debootstrap ${IMAGE_SUITE} (minbase + ${IMAGE_INCLUDES.length} packages) from ${mirrorUrl(env)}`);
    await run('debootstrap', 'debootstrap', [
      '--variant=minbase',
      `--include=${IMAGE_INCLUDES.join(',')}`,
      `--cache-dir=${debCache}`,
      IMAGE_SUITE,
      root,
      mirrorUrl(env),
    ]);
    const installed = (await run('dpkg-query in the image', 'chroot', [root, 'dpkg-query', '-W', '-f', '${Package}=${Version}\\n']))
      .split('\n')
      .filter(Boolean)
      .sort()
      .join('\n')
      .concat('\n');
    if (options.updateLock) {
      await writeFile(LOCK_FILE, installed);
      log(`debian-disk: wrote ${LOCK_FILE} (${installed.split('\n').length - 1} packages)`);
    } else {
      const diff = lockDifferences(readFileSync(LOCK_FILE, 'utf8'), installed);
      if (diff.length > 0) {
        throw new BootgateError('E_FIXTURE', `debootstrap installed other packages than guests/debian-disk/packages.lock:\n  ${diff.slice(0, 12).join('\n  ')}`, {
          hint: `check BOOTGATE_DEBIAN_MIRROR serves ${IMAGE_SUITE} 12.15; to accept the new set: npm run disk-image -- --update-lock`,
        });
      }
    }
    await configureRoot(root);
    log('debian-disk: initramfs, GRUB');
    await run('update-initramfs in the image', 'chroot', [root, 'update-initramfs', '-u', '-k', IMAGE_KERNEL_RELEASE]);
    const grubModules = join(root, 'boot', 'grub', 'i386-pc');
    await mkdir(grubModules, { recursive: true });
    for (const f of readdirSync(join(root, GRUB_DIR))) if (!f.endsWith('.img')) await copyFile(join(root, GRUB_DIR, f), join(grubModules, f));
    await run('grub-mkimage in the image', 'chroot', [root, 'grub-mkimage', '-O', 'i386-pc', '-o', '/tmp/bootgate-core.img', '-p', '(hd0,msdos1)/boot/grub', ...CORE_MODULES]);
    const coreImg = await readFile(join(root, 'tmp', 'bootgate-core.img'));
    const bootImg = await readFile(join(root, GRUB_DIR, 'boot.img'));
    await rm(join(root, 'tmp', 'bootgate-core.img'));

    log(`debian-disk: mkfs.ext4 -d (${ROOT_MIB} MiB), e2fsck`);
    const part = join(work, 'root.ext4');
    const partFd = await open(part, 'w');
    await partFd.truncate(ROOT_MIB * MIB);
    await partFd.close();
    await run('mkfs.ext4', 'mkfs.ext4', ['-q', '-F', '-L', 'bootgate-root', '-U', ROOT_FS_UUID, '-d', root, part]);
    await run('e2fsck of the new root', 'e2fsck', ['-fn', part]);
    await rm(root, { recursive: true, force: true });

    log('debian-disk: disk.raw');
    const disk = join(work, 'disk.raw');
    const fd = await open(disk, 'w');
    try {
      const partitions = [
        { type: PART_TYPE_LINUX, startSector: ROOT_START_SECTOR, sectors: (ROOT_MIB * MIB) / SECTOR, active: true },
        { type: PART_TYPE_NON_FS_DATA, startSector: PATTERN_START_SECTOR, sectors: (PATTERN_MIB * MIB) / SECTOR },
      ];
      await fd.write(buildBootArea(bootImg, coreImg, partitions, 0xb0079a7e), 0, undefined, 0);
      // Random bytes: a misplaced or stale sector changes the probe's checksum.
      for (let i = 0; i < PATTERN_MIB; i++) await fd.write(randomBytes(MIB), 0, MIB, PATTERN_START_SECTOR * SECTOR + i * MIB);
      await fd.truncate(DISK_SECTORS * SECTOR);
    } finally {
      await fd.close();
    }
    // dd keeps the file system's holes: the image stays sparse.
    await run('copying the root into disk.raw', 'dd', [`if=${part}`, `of=${disk}`, 'bs=1M', `seek=${(ROOT_START_SECTOR * SECTOR) / MIB}`, 'conv=sparse,notrunc', 'status=none']);
    await rm(part);
    await chmod(disk, 0o444);
    const meta: DiskImageMeta = {
      sha256: await sha256File(disk),
      sectors: DISK_SECTORS,
      kernelRelease: IMAGE_KERNEL_RELEASE,
      cmdline: IMAGE_CMDLINE,
      rootStartSector: ROOT_START_SECTOR,
      patternStartSector: PATTERN_START_SECTOR,
      patternMib: PATTERN_MIB,
      packages: installed.split('\n').length - 1,
      buildSeconds: Math.round((Date.now() - started) / 1000),
    };
    await writeFile(join(work, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    await rm(finalDir, { recursive: true, force: true });
    await rename(work, finalDir);
    // Images of other recipes are 1 GiB each: removed once nothing has used them for a day.
    const parent = dirname(finalDir);
    const folders = readdirSync(parent).map((name) => {
      const meta = join(parent, name, 'meta.json');
      return { name, usedMs: statSync(existsSync(meta) ? meta : join(parent, name)).mtimeMs };
    });
    for (const f of imagesToEvict(folders, basename(finalDir), Date.now())) await rm(join(parent, f), { recursive: true, force: true });
    log(`debian-disk: built in ${meta.buildSeconds} s: ${join(finalDir, 'disk.raw')}`);
    return { path: join(finalDir, 'disk.raw'), meta };
  } finally {
    await removeBuildDir(work);
  }
}

const BUILD_PREFIX = '.build-';

/** Unmounts whatever a killed debootstrap left mounted below `dir` (proc, sys), then removes it. */
async function removeBuildDir(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await execa('umount', ['-l', m], { reject: false });
  await rm(dir, { recursive: true, force: true });
}

/** Build folders of processes that are gone (a build killed before its cleanup). */
async function removeStaleBuilds(imagesDir: string): Promise<void> {
  if (!existsSync(imagesDir)) return;
  for (const f of readdirSync(imagesDir)) {
    if (!f.startsWith(BUILD_PREFIX)) continue;
    const pid = Number(f.slice(BUILD_PREFIX.length).split('-')[0]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      // no such process
    }
    if (!alive) await removeBuildDir(join(imagesDir, f));
  }
}

async function configureRoot(root: string): Promise<void> {
  const { files, symlinks } = rootFiles();
  for (const f of files) {
    const path = join(root, f.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, f.content);
    if (f.mode !== undefined) await chmod(path, f.mode);
  }
  for (const l of symlinks) {
    const path = join(root, l.path);
    await mkdir(dirname(path), { recursive: true });
    await rm(path, { force: true });
    await symlink(l.target, path);
  }
  const shadow = join(root, 'etc', 'shadow');
  await writeFile(shadow, shadowWithoutRootPassword(readFileSync(shadow, 'utf8')));
  // The package cache and indexes are the build's, not the system's: 100+ MiB the guest never reads.
  for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    for (const f of readdirSync(join(root, dir))) if (f !== 'partial' && f !== 'lock') await rm(join(root, dir, f), { recursive: true, force: true });
  }
}
