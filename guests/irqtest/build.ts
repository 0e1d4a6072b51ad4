// Builds guests/irqtest/bootgate_irqtest.ko for the probe guest's kernel (linux-cloud-kernel,
// 6.1.0-50-cloud-amd64) out of tree, on the host, with Debian's kernel headers and kbuild unpacked
// in the fixture cache (never installed). Debian's headers expect /usr/src: the per-flavour tree's
// Makefile includes /usr/src/linux-headers-*-common/Makefile and both trees reach kbuild through
// relative `scripts`/`tools` symlinks into /usr/lib/linux-kbuild-6.1. Each fixture package sits in
// its own cache directory, so those links dangle there; the build lays out its own pair of trees
// in a temporary directory (symlinks into the cache, a one-line Makefile naming the common tree)
// and runs `make -C <flavour tree> M=<copy of the sources> modules`. Kbuild derives srctree from
// the directory of the common Makefile it includes, so that directory is a real one.
// The .ko lands in guests/build/irqtest-<hash>/ (gitignored); the hash covers the sources and the
// fixtures' locked hashes, so it is rebuilt only when one of them changes. Host needs: make,
// gcc-12 (the headers' CC), libelf1 and libssl3 (for the kbuild binaries).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { listFixtures, resolveFixture } from '../../fixtures/fixtures.js';
import { BootgateError } from '../../vmm/errors.js';
import { readModinfo, vermagicOf } from './modinfo.js';

/** The fixtures the build needs: the flavour's build tree, the common headers, kbuild. */
export const IRQTEST_FIXTURES = ['linux-cloud-headers', 'linux-headers-common', 'linux-kbuild'] as const;
export const IRQTEST_MODULE_NAME = 'bootgate_irqtest';
const SOURCES = ['bootgate_irqtest.c', 'Kbuild'] as const;
/** Bump when the build recipe itself changes, so cached modules are rebuilt. */
const RECIPE_VERSION = 1;
/** Entries of the flavour tree (linux-headers-*-cloud-amd64) that kbuild reads. */
const FLAVOUR_ENTRIES = ['.config', '.kernelvariables', 'Module.symvers', 'arch', 'include'] as const;
/** Entries of the common tree (linux-headers-*-common): srctree. */
const COMMON_ENTRIES = ['Makefile', 'arch', 'include'] as const;
/** How much of make's output an error message carries. */
const OUTPUT_TAIL_LINES = 25;

export interface BuildOptions {
  log?: (line: string) => void;
  /** Build even if the cached module exists. */
  force?: boolean;
  /** Where the irqtest-<hash>/ directories go (default guests/build). */
  outRoot?: string;
}

/** The repository root: the nearest ancestor holding guests/irqtest/bootgate_irqtest.c (source tree or dist/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'guests', 'irqtest', SOURCES[0]))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new BootgateError('E_INTERNAL', `no guests/irqtest/${SOURCES[0]} above ${fileURLToPath(import.meta.url)}`, {
        hint: 'run bootgate from its repository checkout',
      });
    }
    dir = parent;
  }
}

export interface KernelTrees {
  /** usr/src/linux-headers-<release> of the flavour package: the `make -C` directory's content. */
  flavour: string;
  /** usr/src/linux-headers-<abi>-common. */
  common: string;
  /** usr/lib/linux-kbuild-6.1: scripts/ and tools/. */
  kbuild: string;
  /** The kernel release the headers are for (UTS_RELEASE, what `uname -r` and vermagic say). */
  release: string;
  /** Locked sha256 of each fixture, for the cache key. */
  hashes: string[];
}

/** UTS_RELEASE from include/generated/utsrelease.h (Debian's include/config/kernel.release holds the upstream version instead). */
function utsRelease(flavour: string): string {
  const path = join(flavour, 'include', 'generated', 'utsrelease.h');
  const m = /#define UTS_RELEASE "([^"]+)"/.exec(readFileSync(path, 'utf8'));
  if (!m) throw new BootgateError('E_FIXTURE', `${path} defines no UTS_RELEASE`, { hint: `re-fetch: npm run fixtures -- ${IRQTEST_FIXTURES[0]}` });
  return m[1]!;
}

/**
 * Resolve the three header fixtures (sha256 checked against the lock). A missing or unverified
 * one is an E_FIXTURE error whose message names the command that fetches all of them.
 */
export async function resolveKernelTrees(): Promise<KernelTrees> {
  const results = await Promise.allSettled(IRQTEST_FIXTURES.map((name) => resolveFixture(name)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${IRQTEST_FIXTURES[i]}: ${(r.reason as Error).message}`] : []));
  if (failed.length > 0) {
    const command = `npm run fixtures -- ${IRQTEST_FIXTURES.join(' ')}`;
    throw new BootgateError(
      'E_FIXTURE',
      `the ${IRQTEST_MODULE_NAME} module is built against kernel headers that are not in the fixture cache; fetch them with \`${command}\` (${failed.join('; ')})`,
      { hint: `run: ${command}`, cause: results.find((r) => r.status === 'rejected')?.reason },
    );
  }
  const [symvers, commonMakefile, modpost] = results.map((r) => (r as PromiseFulfilledResult<string>).value) as [string, string, string];
  const flavour = dirname(symvers);
  const locked = new Map(listFixtures().map((f) => [f.name, f.sha256]));
  return {
    flavour,
    common: dirname(commonMakefile),
    kbuild: dirname(dirname(dirname(modpost))), // scripts/mod/modpost
    release: utsRelease(flavour),
    hashes: IRQTEST_FIXTURES.map((name) => locked.get(name) ?? ''),
  };
}

/** Lay out the common tree and the flavour tree under `root` the way /usr/src has them. */
async function layOutTrees(root: string, trees: KernelTrees): Promise<{ flavour: string }> {
  const common = join(root, 'common');
  const flavour = join(root, 'flavour');
  await mkdir(common);
  await mkdir(flavour);
  for (const e of COMMON_ENTRIES) await symlink(join(trees.common, e), join(common, e));
  for (const e of FLAVOUR_ENTRIES) await symlink(join(trees.flavour, e), join(flavour, e));
  for (const dir of [common, flavour]) {
    await symlink(join(trees.kbuild, 'scripts'), join(dir, 'scripts'));
    await symlink(join(trees.kbuild, 'tools'), join(dir, 'tools'));
  }
  // Debian's flavour Makefile is `include /usr/src/linux-headers-<abi>-common/Makefile`.
  await writeFile(join(flavour, 'Makefile'), `include ${join(common, 'Makefile')}\n`);
  return { flavour };
}

function tail(text: string): string {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-OUTPUT_TAIL_LINES).join('\n');
}

async function runMake(flavour: string, src: string): Promise<void> {
  try {
    await execa('make', ['-C', flavour, `M=${src}`, 'modules'], { all: true, env: { LC_ALL: 'C' } });
  } catch (e) {
    const err = e as { code?: string; all?: string; message: string };
    if (err.code === 'ENOENT') {
      throw new BootgateError('E_FIXTURE', `make is not installed; it builds ${IRQTEST_MODULE_NAME}.ko`, {
        hint: 'apt-get install make gcc-12 (npm test installs them)',
        cause: e,
      });
    }
    const output = err.all ?? err.message;
    if (/gcc-12: (not found|No such file|Command not found)/.test(output)) {
      throw new BootgateError('E_FIXTURE', `gcc-12 is not installed; the guest kernel's headers compile with it`, {
        hint: 'apt-get install gcc-12',
        cause: e,
      });
    }
    throw new BootgateError('E_INTERNAL', `building ${IRQTEST_MODULE_NAME}.ko failed:\n${tail(output)}`, { cause: e });
  }
}

/**
 * Build (or reuse) guests/build/irqtest-<hash>/bootgate_irqtest.ko for linux-cloud-kernel and
 * return its absolute path. Checks that the module's vermagic names the headers' kernel release.
 */
export async function buildIrqTestModule(options: BuildOptions = {}): Promise<string> {
  const root = repoRoot();
  const srcDir = join(root, 'guests', 'irqtest');
  const trees = await resolveKernelTrees();
  const hash = createHash('sha256').update(`recipe ${RECIPE_VERSION}\0${trees.release}\0${trees.hashes.join('\0')}\0`);
  for (const f of SOURCES) hash.update(f).update('\0').update(readFileSync(join(srcDir, f))).update('\0');
  const key = hash.digest('hex').slice(0, 12);
  const buildRoot = options.outRoot ?? join(root, 'guests', 'build');
  const outDir = join(buildRoot, `irqtest-${key}`);
  const out = join(outDir, `${IRQTEST_MODULE_NAME}.ko`);
  if (!options.force && existsSync(out)) return out;

  await mkdir(buildRoot, { recursive: true });
  const work = await mkdtemp(join(buildRoot, '.irqtest-'));
  try {
    const kernel = join(work, 'kernel');
    await mkdir(kernel);
    const { flavour } = await layOutTrees(kernel, trees);
    const src = join(work, 'src');
    await mkdir(src);
    for (const f of SOURCES) await copyFile(join(srcDir, f), join(src, f));
    options.log?.(`irqtest: make -C ${flavour} M=${src} modules (kernel ${trees.release})`);
    await runMake(flavour, src);

    const built = join(src, `${IRQTEST_MODULE_NAME}.ko`);
    const vermagic = vermagicOf(await readModinfo(built));
    if (!vermagic?.startsWith(`${trees.release} `)) {
      throw new BootgateError('E_INTERNAL', `${IRQTEST_MODULE_NAME}.ko has vermagic ${JSON.stringify(vermagic)}, not for kernel ${trees.release}`);
    }
    // Publish by renaming a complete directory: concurrent builders never see half a module.
    const staged = join(work, 'out');
    await mkdir(staged);
    await copyFile(built, join(staged, `${IRQTEST_MODULE_NAME}.ko`));
    if (options.force || !existsSync(out)) await rm(outDir, { recursive: true, force: true });
    await rename(staged, outDir).catch((e: unknown) => {
      // Another builder published the same module meanwhile; its copy is as good as ours.
      if (!existsSync(out)) throw e;
    });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
