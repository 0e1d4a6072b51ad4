import { describe, expect, it } from 'vitest';
import type { BenchPlan } from './plan.js';
import { markShort, pioWhere } from './where.js';

const plan: BenchPlan = { runs: 2, linuxRuns: 2, iterations: 10, seabios: {}, skip: {} };

describe('markShort', () => {
  it('gives every series short of its runs the reason the lab ended, and leaves finished ones and earlier reasons alone', () => {
    const s = markShort(
      {
        'pio.c': { samples: [{ value: 1 }, { value: 2 }] },
        'pio.own': { samples: [{ value: 1 }], error: 'counted 9 exits' },
        'resetVector.own.smp1': { samples: [{ value: 3 }] },
      },
      plan,
      'the nested lab wedged: soft lockup',
    );
    expect(s['pio.c']!.error).toBeUndefined();
    expect(s['pio.own']!.error).toBe('counted 9 exits');
    expect(s['resetVector.own.smp1']).toEqual({ samples: [{ value: 3 }], error: 'the nested lab wedged: soft lockup' });
    expect(s['linux.qemu.smp8']).toEqual({ samples: [], error: 'the nested lab wedged: soft lockup' });
    expect(s['linux.base.smp8']).toBeUndefined();
  });
});

describe('pioWhere', () => {
  it("runs the PIO comparison on this host's /dev/kvm whenever it opens, even when Linux boots go to the lab", () => {
    expect(pioWhere('here', '/nonexistent/kvm')).toBe('here');
    expect(pioWhere('lab', '/dev/null')).toBe('here');
  });
  it('sends it to the lab with everything else when the device does not open', () => {
    expect(pioWhere('lab', '/nonexistent/kvm')).toBe('lab');
  });
});
