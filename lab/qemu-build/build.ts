// Builds the lab's patched QEMU (recipe.ts) once and caches the binary outside the clone, in
// <cache>/lab-qemu-uefi/<key>/qemu-system-x86_64 (the fixtures' cache root). Steps: download the
// pinned source tarball and meson .deb from the Debian mirror and check their sha256; unpack;
// apply the build-file edits and the patches; configure; ninja; check the binary starts; move it
// into place. The work folder is removed whatever happens, and a folder left by a killed build is
// removed by the next one. Host needs: Linux, the packages of recipe.ts BUILD_NEEDS
// (the bootstrap installs them on Debian), about 1.5 GB of disk while it builds.
// Measured: 3 min 29 s of ninja, 3 min 54 s in all, on the 2-core development host (docs/uefi.md).

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { mirrorUrl } from '../../fixtures/archive.js';
import { extractDeb } from '../../fixtures/deb.js';
import { isOffline } from '../../fixtures/fetch.js';
import { cacheRoot } from '../../fixtures/fixtures.js';
import { BootgateError } from '../../vmm/errors.js';
import { BUILD_FILE_EDITS, BUILD_FILES_ADDED, CONFIGURE_ARGS, MESON_DEB, missingBuildNeeds, PATCHES, patchPath, type PinnedFile, QEMU_SOURCE, recipeKey } from './recipe.js';

export const BINARY = 'qemu-system-x86_64';
const BUILD_PREFIX = '.build-';
const OUTPUT_TAIL = 3000;
const DOWNLOAD_TIMEOUT_MS = 600_000;

export interface PatchedQemuOptions {
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export function patchedQemuDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'lab-qemu-uefi', recipeKey());
}

/** The cached binary when it is there, else undefined (no build). */
export function cachedPatchedQemu(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = join(patchedQemuDir(env), BINARY);
  return existsSync(path) && existsSync(join(patchedQemuDir(env), 'build.json')) ? path : undefined;
}

/** Why this host cannot build it, or undefined. */
export function cannotBuildPatchedQemu(exists: (path: string) => boolean = existsSync): string | undefined {
  if (process.platform !== 'linux') return `building the lab's patched QEMU needs Linux; this is ${process.platform}`;
  const missing = missingBuildNeeds(exists);
  if (missing.length > 0) return `building the lab's patched QEMU needs ${missing.join(' ')} (apt-get install -y --no-install-recommends ${missing.join(' ')}; npm test and npm run uefi install them)`;
  return undefined;
}

async function run(what: string, command: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await execa(command, args, { cwd: opts.cwd, reject: false, all: true, env: { LC_ALL: 'C', ...opts.env } });
  if (r.failed) {
    throw new BootgateError('E_FIXTURE', `lab QEMU build: ${what} failed (${command} exit ${r.exitCode ?? r.signal ?? 'not started'}):\n${String(r.all ?? '').slice(-OUTPUT_TAIL)}`, {
      hint: 'see the output above; a missing tool or header is named there (npm test and npm run uefi install the build packages)',
    });
  }
  return String(r.stdout ?? '');
}

/** Downloads a pinned file from the mirror and checks its size and sha256. */
async function downloadPinned(file: PinnedFile, env: NodeJS.ProcessEnv): Promise<Buffer> {
  const url = `${mirrorUrl(env)}/${file.path}`;
  let bytes: Buffer;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    bytes = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    throw new BootgateError('E_FIXTURE', `lab QEMU build: could not download ${url}: ${(err as Error).message}`, {
      hint: 'bookworm-backports keeps only its newest upload: if the lab-qemu fixture moved too, bump it and lab/qemu-build/recipe.ts together (docs/uefi.md)',
    });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== file.sha256 || bytes.length !== file.size) {
    throw new BootgateError('E_FIXTURE', `lab QEMU build: ${url} is ${bytes.length} bytes with sha256 ${sha256}; the pin is ${file.size} bytes, ${file.sha256}`, {
      hint: 'the mirror served other bytes; try another mirror (BOOTGATE_DEBIAN_MIRROR)',
    });
  }
  return bytes;
}

async function applyBuildFileEdits(src: string): Promise<void> {
  for (const [file, from, to] of BUILD_FILE_EDITS) {
    const path = join(src, file);
    const text = await readFile(path, 'utf8');
    if (!text.includes(from)) {
      throw new BootgateError('E_FIXTURE', `lab QEMU build: ${file} no longer contains ${JSON.stringify(from.trim())}`, {
        hint: 'the source changed: update BUILD_FILE_EDITS in lab/qemu-build/recipe.ts',
      });
    }
    await writeFile(path, text.replace(from, to));
  }
  for (const [file, text] of BUILD_FILES_ADDED) {
    const path = join(src, file);
    if (existsSync(path)) {
      throw new BootgateError('E_FIXTURE', `lab QEMU build: ${file} is already in the source`, {
        hint: 'the source changed: rename the file in BUILD_FILES_ADDED (lab/qemu-build/recipe.ts) and its --with-devices-x86_64 argument',
      });
    }
    await writeFile(path, text);
  }
}

/** Builds under way in this process, by target folder: lab lanes start their lab VMs at once. */
const building = new Map<string, Promise<string>>();

/**
 * The patched lab QEMU: the cached binary, or built now (several minutes; progress through `log`).
 * A second caller while this process builds it waits for that build instead of starting another.
 */
export function ensurePatchedQemu(options: PatchedQemuOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const cached = cachedPatchedQemu(env);
  if (cached) return Promise.resolve(cached);
  const dir = patchedQemuDir(env);
  let build = building.get(dir);
  if (!build) {
    build = buildPatchedQemu(options).finally(() => building.delete(dir));
    building.set(dir, build);
  }
  return build;
}

async function buildPatchedQemu(options: PatchedQemuOptions): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  if (isOffline(env)) {
    throw new BootgateError('E_FIXTURE', `the lab's patched QEMU is not built (${patchedQemuDir(env)}) and BOOTGATE_OFFLINE is set`, { hint: 'run `npm run uefi` once with network access' });
  }
  const why = cannotBuildPatchedQemu();
  if (why) throw new BootgateError('E_FIXTURE', why, { hint: 'npm test and npm run uefi install the build packages on Debian' });

  const started = Date.now();
  const finalDir = patchedQemuDir(env);
  const parent = dirname(finalDir);
  await mkdir(parent, { recursive: true });
  await removeStaleBuilds(parent);
  const work = join(parent, `${BUILD_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(work);
  try {
    log(`lab-qemu-uefi: downloading QEMU ${QEMU_SOURCE.version} source and meson ${MESON_DEB.version} from ${mirrorUrl(env)}`);
    const [tarball, mesonDeb] = await Promise.all([downloadPinned(QEMU_SOURCE, env), downloadPinned(MESON_DEB, env)]);
    await writeFile(join(work, 'source.tar.xz'), tarball);
    await run('unpacking the source', 'tar', ['-xf', 'source.tar.xz'], { cwd: work });
    await mkdir(join(work, 'meson'));
    await extractDeb(mesonDeb, join(work, 'meson'), `meson ${MESON_DEB.version}`);
    const src = join(work, QEMU_SOURCE.topDir);
    await applyBuildFileEdits(src);
    for (const p of PATCHES) await run(`applying ${p}`, 'patch', ['-p1', '--forward', '--batch', '-i', patchPath(p)], { cwd: src });
    const buildEnv = { ...env, PYTHONPATH: join(work, 'meson', 'usr', 'lib', 'python3', 'dist-packages') };
    const build = join(src, 'build');
    await mkdir(build);
    log(`lab-qemu-uefi: configuring (${PATCHES.join(', ')} applied)`);
    await run('configure', '../configure', ['--python=/usr/bin/python3', ...CONFIGURE_ARGS], { cwd: build, env: buildEnv });
    const jobs = availableParallelism();
    log(`lab-qemu-uefi: building ${BINARY} with ${jobs} jobs (about 4 min on 2 cores)`);
    const ninjaStarted = Date.now();
    await run('ninja', 'ninja', [`-j${jobs}`, BINARY], { cwd: build, env: buildEnv });
    const ninjaS = Math.round((Date.now() - ninjaStarted) / 1000);
    const version = (await run('the built binary', join(build, BINARY), ['--version'])).split('\n')[0] ?? '';
    const staged = `${finalDir}.${process.pid}.tmp`;
    await rm(staged, { recursive: true, force: true });
    await mkdir(staged);
    await copyFile(join(build, BINARY), join(staged, BINARY));
    const seconds = Math.round((Date.now() - started) / 1000);
    await writeFile(join(staged, 'build.json'), `${JSON.stringify({ key: recipeKey(), version, source: QEMU_SOURCE.version, patches: PATCHES, seconds, ninjaSeconds: ninjaS, jobs }, null, 2)}\n`);
    await rm(finalDir, { recursive: true, force: true });
    await rename(staged, finalDir);
    log(`lab-qemu-uefi: built ${version} in ${seconds} s (ninja ${ninjaS} s, ${jobs} jobs): ${join(finalDir, BINARY)}`);
    return join(finalDir, BINARY);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Work folders of builds whose process is gone (killed before its cleanup), and binaries of other recipes. */
async function removeStaleBuilds(parent: string): Promise<void> {
  const current = recipeKey();
  for (const f of readdirSync(parent)) {
    if (f.startsWith(current)) continue; // this recipe's binary, or its staging folder
    if (f.startsWith(BUILD_PREFIX)) {
      const pid = Number(f.slice(BUILD_PREFIX.length).split('-')[0]);
      try {
        process.kill(pid, 0);
        continue; // a build still running
      } catch {
        // gone
      }
    }
    await rm(join(parent, f), { recursive: true, force: true });
  }
}
