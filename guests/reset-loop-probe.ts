// The reset-loop probe (probes/reset-loop.asm), assembled once into guests/build/: a 64 KiB
// firmware image that resets the machine through 0xCF9 on every start, forever.

import { assemble } from './nasm.js';

/** The line the probe prints on COM1 at each start. */
export const RESET_LOOP_START = 'reset-loop: start';

export function resetLoopProbe(): Promise<string> {
  return assemble('probes/reset-loop.asm');
}
