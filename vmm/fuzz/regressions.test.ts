// Every sequence the fuzzer found, shrunk, kept as a fixed test: it failed before the fix named
// in its title and must stay clean. Add new ones at the end, with the finding as the fuzzer printed it.
import { afterAll, describe, expect, it } from 'vitest';
import { removeScratchDisk } from './fuzz-pc.js';
import type { Op } from './ops.js';
import { runSequence } from './run.js';

// The machines' scratch disk image (fuzz-pc.ts) goes with this file's tests.
afterAll(removeScratchDisk);

const cases: Array<{ title: string; layout: 'seabios' | 'ovmf'; ops: Op[] }> = [
  {
    // state after the sequence: a machine reset left state behind: 16550 +5: 0x61 after the reset, 0x60 at power-on
    title: '16550: a loopback byte no longer survives a machine reset as data ready',
    layout: 'seabios',
    ops: [
      { k: 'out', port: 0x3fc, size: 2, value: 0x52f0 },
      { k: 'out', port: 0x3f8, size: 1, value: 0x0 },
      { k: 'reset' },
    ],
  },
  {
    // escape at op 3: cfg 00:01.3 [0x80]b <- 0x1 threw BootgateError: pio: piix4-pm at 0x40+0x40 overlaps i8042 at 0x60+0x5
    title: 'PIIX4 PM: PMBASE over the i8042 leaves the block unmapped instead of killing the VMM',
    layout: 'seabios',
    ops: [
      { k: 'reset' },
      { k: 'cfg-write', dev: 1, fn: 3, reg: 0x40, size: 1, value: 0x40 },
      { k: 'cfg-write', dev: 1, fn: 3, reg: 0x80, size: 1, value: 0x1 },
      { k: 'cfg-read', dev: 0, fn: 0, reg: 0x0, size: 1 },
    ],
  },
];

describe('fuzz findings, fixed', () => {
  for (const c of cases) {
    it(c.title, () => {
      expect(runSequence(c.layout, c.ops).finding).toBeUndefined();
    });
  }
});
