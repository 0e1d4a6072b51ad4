// What the bench's boots need, made on the host before any of them starts (the lab has no network,
// and building is far faster here): the PIO guest image, the C loop (make -C native), SeaBIOS and
// the probe guest from the fixtures, the debian-disk image, and with --baseline the baseline tree's build. Whatever
// cannot be made becomes the reason its series are not run (a failure line in the report), never
// a silent gap.

import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { resolveFixture } from '../../fixtures/fixtures.js';
import { buildPioLoop, DEFAULT_PIO_ITERATIONS } from '../../guests/bench/build.js';
import { buildDebianDiskImage, cannotBuildHere } from '../../guests/debian-disk/build.js';
import { resolveGuest } from '../../guests/catalog.js';
import { LAB_SCRATCH_DIRS } from '../../lab/scripts.js';
import { BootgateError } from '../../vmm/errors.js';
import { type BaselineBuild, buildBaseline } from './baseline.js';
import { describeError } from './figures.js';
import type { BenchOptions } from './options.js';
import { LAB_PIO_ITERATIONS } from './options.js';
import { type BenchPlan, COMPARISONS, type ComparisonName, type SeriesKey } from './plan.js';
import type { Where } from './where.js';

const SEABIOS_FIXTURE = 'seabios-256k';
/** The option ROM the own VMM boots a kernel with (vmm/cli/boot-command.ts). */
const LINUXBOOT_FIXTURE = 'linuxboot-dma';
const PROBE_GUEST = 'debian-probe';
const MAKE_TIMEOUT_MS = 120_000;

/** native/build/kvm-exit-loop, built with `make -C native` when missing or older than its source. */
export async function ensureCLoop(root: string): Promise<string> {
  const bin = join(root, 'native', 'build', 'kvm-exit-loop');
  const src = join(root, 'native', 'kvm-exit-loop.c');
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  const r = await execa('make', ['-C', join(root, 'native')], { reject: false, timeout: MAKE_TIMEOUT_MS, stdin: 'ignore', all: true });
  if (r.exitCode !== 0) {
    const missing = (r as { code?: string }).code === 'ENOENT';
    throw new BootgateError('E_FIXTURE', `make -C native failed (${missing ? 'make is not installed' : `exit ${r.exitCode}`}): ${(r.all ?? '').slice(-600)}`, {
      hint: 'apt-get install gcc make linux-libc-dev',
    });
  }
  return bin;
}

/** A --seabios file the boots can read where they run (the lab hides /tmp and friends behind empty tmpfs). */
export function seabiosFile(path: string, where: Where): string {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new BootgateError('E_CONFIG', `--seabios ${abs} does not exist`);
  const scratch = LAB_SCRATCH_DIRS.find((d) => abs === d || abs.startsWith(`${d}/`));
  if (where === 'lab' && scratch) throw new BootgateError('E_CONFIG', `--seabios ${abs} is below ${scratch}, an empty tmpfs inside the lab`, { hint: 'put it below the repository' });
  return abs;
}

export interface Prepared {
  plan: BenchPlan;
  baseline?: BaselineBuild;
}

export async function prepare(root: string, opts: BenchOptions, where: Where, pioWhere: Where = where): Promise<Prepared> {
  const skip: Partial<Record<SeriesKey, string>> = {};
  const skipAll = (keys: readonly SeriesKey[], why: unknown) => {
    for (const k of keys) skip[k] ??= describeError(why);
  };
  const iterations = opts.iterations ?? (pioWhere === 'lab' ? LAB_PIO_ITERATIONS : DEFAULT_PIO_ITERATIONS);
  const plan: BenchPlan = { runs: opts.runs, linuxRuns: opts.linuxRuns, iterations, seabios: {}, skip, ...(opts.only ? { only: opts.only } : {}) };
  let baseline: BaselineBuild | undefined;
  const wants = (c: ComparisonName): boolean => opts.only === null || opts.only.includes(c);

  if (wants('pio')) {
    await buildPioLoop(iterations).then((img) => (plan.pioImage = img), (err) => skipAll(COMPARISONS.pio, err));
    if (plan.pioImage) await ensureCLoop(root).then((bin) => (plan.cLoop = bin), (err) => skipAll(['pio.c'], err));
  }
  if (wants('resetVector')) {
    try {
      if (opts.seabios) plan.seabios = { firmwareFile: seabiosFile(opts.seabios, where) };
      else {
        await resolveFixture(SEABIOS_FIXTURE);
        plan.seabios = { firmware: SEABIOS_FIXTURE };
      }
    } catch (err) {
      skipAll(COMPARISONS.resetVector, err);
    }
  }
  // The OVMF comparison boots the same probe kernel.
  if (opts.linuxRuns > 0 && (wants('linux') || wants('uefi'))) {
    try {
      const guest = await resolveGuest(PROBE_GUEST);
      for (const fixture of [guest.firmware, LINUXBOOT_FIXTURE]) await resolveFixture(fixture);
      plan.linux = { kernel: guest.kernel!, initrd: guest.initrd, append: guest.append };
      plan.linuxFirmware = guest.firmware;
    } catch (err) {
      skipAll(COMPARISONS.linux, err);
    }
  }
  if (opts.linuxRuns > 0 && wants('disk')) {
    const refusal = cannotBuildHere();
    if (refusal) skipAll(COMPARISONS.disk, new BootgateError('E_FIXTURE', refusal));
    else await buildDebianDiskImage({ log: (l) => console.error(`bench: ${l}`) }).then((img) => (plan.diskImage = img.path), (err) => skipAll(COMPARISONS.disk, err));
  }
  if (opts.baseline !== null && plan.linux) {
    try {
      baseline = await buildBaseline(root, opts.baseline);
      plan.baseline = { ref: opts.baseline, cli: baseline.cli };
    } catch (err) {
      skipAll(['linux.base.smp8'], err);
    }
  }
  return { plan, baseline };
}
