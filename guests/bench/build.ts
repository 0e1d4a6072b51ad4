// Builds the benchmark guest (guests/bench/pio-loop.asm, nasm) through the shared guest assembler.

import { configError } from '../../vmm/errors.js';
import { assemble } from '../nasm.js';

export { repoRoot } from '../../fixtures/fixtures.js';

/** The default iteration count: ~1 s of exits at PVM's ~9.5 µs round trip. */
export const DEFAULT_PIO_ITERATIONS = 100_000;

function checkIterations(iterations: number): void {
  // The guest counts in ECX; the round trip divides by iterations - 1.
  if (!Number.isInteger(iterations) || iterations < 2 || iterations > 0xffff_ffff) {
    throw configError('iterations', iterations, 'an integer in [2, 4294967295]');
  }
}

/** Assembles the PIO loop for `iterations` port-0x80 writes; returns the 64 KiB image's path. */
export async function buildPioLoop(iterations: number = DEFAULT_PIO_ITERATIONS): Promise<string> {
  checkIterations(iterations);
  return assemble('bench/pio-loop.asm', { ITERATIONS: iterations });
}
