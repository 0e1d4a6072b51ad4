// The short fuzz pass `npm test` runs: every device model for a few thousand ops with a fixed seed
// (the same sequences every run, so a failure here reproduces; `npm run fuzz` explores with new
// seeds and far more ops). BOOTGATE_FUZZ_SEED picks another seed.
import { afterAll, describe, expect, it } from 'vitest';
import { removeScratchDisk } from './fuzz-pc.js';
import { DEVICE_MODELS } from './models.js';
import { fuzzModel } from './run.js';

// The machines' scratch disk image (fuzz-pc.ts) goes with this file's tests.
afterAll(removeScratchDisk);

const SEED = Number(process.env.BOOTGATE_FUZZ_SEED ?? 0x5eed);
const OPS = 3000;

describe(`device fuzzing, ${OPS} ops per model, seed ${SEED}`, () => {
  for (const model of DEVICE_MODELS) {
    it(model.name, () => {
      const r = fuzzModel(model, { ops: OPS, seed: SEED, maxSteps: 64 });
      expect(r.counterexample ?? 'no finding').toBe('no finding');
      expect(r.ops).toBeGreaterThanOrEqual(OPS);
    });
  }
});
