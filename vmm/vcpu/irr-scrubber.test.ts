import { describe, expect, it } from 'vitest';
import type { Vcpu } from '../accel/types.js';
import { irrScrubber } from './irr-scrubber.js';

function vcpu(pending: Set<number>): { v: Vcpu; cleared: number[] } {
  const cleared: number[] = [];
  const v = {
    clearIrrVector: (vector: number) => {
      cleared.push(vector);
      return pending.delete(vector);
    },
  } as unknown as Vcpu;
  return { v, cleared };
}

describe('irrScrubber', () => {
  it('is off without the quirk', () => {
    expect(irrScrubber({ scrubVector: 0x20 }, [])).toBeUndefined();
  });

  it('clears the published vector from the IRR before an entry, and nothing before one is published', () => {
    const control = { scrubVector: 0 };
    const hook = irrScrubber(control, ['scrub-irr-live-vector'])!;
    const pending = new Set([0x20, 0x31]);
    const { v, cleared } = vcpu(pending);
    hook(v);
    expect(cleared).toEqual([]);
    control.scrubVector = 0x20;
    hook(v);
    expect(cleared).toEqual([0x20]);
    expect([...pending]).toEqual([0x31]);
  });
});
