// Builds the benchmark guests (nasm flat binaries) into guests/build/ (gitignored).
// Works from the source tree and from dist/ alike: paths are found from the repository root.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BootgateError, configError } from '../../vmm/errors.js';

const execFileAsync = promisify(execFile);

const PIO_LOOP_SOURCE = join('guests', 'bench', 'pio-loop.asm');

/** The default iteration count: ~1 s of exits at PVM's ~9.5 µs round trip. */
export const DEFAULT_PIO_ITERATIONS = 100_000;

/** The repository root: the nearest ancestor holding guests/bench/pio-loop.asm. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, PIO_LOOP_SOURCE))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new BootgateError('E_INTERNAL', `no ${PIO_LOOP_SOURCE} above ${fileURLToPath(import.meta.url)}`, {
        hint: 'run bootgate from its repository checkout',
      });
    }
    dir = parent;
  }
}

function checkIterations(iterations: number): void {
  // The guest counts in ECX; the round trip divides by iterations - 1.
  if (!Number.isInteger(iterations) || iterations < 2 || iterations > 0xffff_ffff) {
    throw configError('iterations', iterations, 'an integer in [2, 4294967295]');
  }
}

async function nasm(source: string, output: string, defines: Record<string, number>): Promise<void> {
  const args = ['-f', 'bin', ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`), '-o', output, source];
  try {
    await execFileAsync('nasm', args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new BootgateError('E_FIXTURE', 'nasm is not installed; it builds the benchmark guests', {
        hint: 'apt-get install nasm',
        cause: err,
      });
    }
    throw new BootgateError('E_INTERNAL', `nasm failed on ${source}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

/**
 * Assembles guests/bench/pio-loop.asm for `iterations` port-0x80 writes into
 * guests/build/pio-loop-<iterations>.bin and returns its absolute path. Always rebuilt (nasm takes
 * milliseconds), written under a temporary name and renamed so concurrent builders never see a
 * partial image.
 */
export async function buildPioLoop(iterations: number = DEFAULT_PIO_ITERATIONS): Promise<string> {
  checkIterations(iterations);
  const root = repoRoot();
  const outDir = join(root, 'guests', 'build');
  await mkdir(outDir, { recursive: true });
  const output = join(outDir, `pio-loop-${iterations}.bin`);
  const tmp = `${output}.${process.pid}.tmp`;
  try {
    await nasm(join(root, PIO_LOOP_SOURCE), tmp, { ITERATIONS: iterations });
    await rename(tmp, output);
  } finally {
    await rm(tmp, { force: true });
  }
  return output;
}
