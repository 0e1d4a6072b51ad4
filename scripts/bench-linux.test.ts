import { describe, expect, it } from 'vitest';
import { type LinuxBenchSeries, linuxFigures, resetToInitMs } from './bench-linux.js';

describe('resetToInitMs', () => {
  it('is the init milestone minus vm-created', () => {
    expect(resetToInitMs({ status: 'until-matched', milestones: { 'vm-created': 3900, init: 21_400 } }, 'x')).toBe(17_500);
    // Own VMM: from the first instruction, after every vCPU thread started.
    expect(resetToInitMs({ status: 'until-matched', milestones: { 'vm-created': 3600, 'reset-vector': 15_400, init: 38_400 } }, 'x')).toBe(23_000);
  });
  it('names a boot that never reached init', () => {
    expect(() => resetToInitMs({ status: 'timeout', milestones: { 'vm-created': 1 }, error: { message: 'timed out after 300 s' } }, 'own VMM SMP 8')).toThrow(
      /own VMM SMP 8: the probe's init line never came \(timeout: timed out after 300 s\)/,
    );
  });
});

describe('linuxFigures', () => {
  const series: LinuxBenchSeries = {
    'own.smp1': { samples: [16_000, 18_000], outsideGuest: [1_000, 3_000] },
    'qemu.smp1': { samples: [20_000, 20_000] },
    'own.smp8': { samples: [27_000, 27_000] },
    'qemu.smp8': { samples: [], error: 'E_GUEST: QEMU -accel kvm SMP 8: no init' },
  };
  const { figures, failures } = linuxFigures(series, 2);
  const byName = (n: string) => figures.find((f) => f.name === n)!;
  it('puts own/QEMU at SMP 1 and own SMP 8 / SMP 1 on the own medians, with their targets', () => {
    expect(byName('linux.own.smp1.resetToInit.median')).toMatchObject({ value: 17_000, ratio: 0.85, target: 0.8 });
    expect(byName('linux.own.smp8.resetToInit.median')).toMatchObject({ value: 27_000, ratio: 27_000 / 17_000, target: 1.5 });
    expect(byName('linux.qemu.smp1.resetToInit.median').ratio).toBeNull();
  });
  it("reports the own VMM's time outside the guest, and own/QEMU without it (the floor free exit handling would reach)", () => {
    expect(byName('linux.own.smp1.outsideGuest.median')).toMatchObject({ value: 2_000, ratio: 15_000 / 20_000, target: null });
  });
  it('reports a stack that failed with its reason', () => {
    expect(failures).toEqual([{ what: 'Debian reset to init, Debian reset to init, QEMU -accel kvm, SMP 8', reason: 'E_GUEST: QEMU -accel kvm SMP 8: no init' }]);
  });
});

describe('a stack without its samples', () => {
  it('is a failure even when nothing reported an error (one sample per stack at SMP 1, none at SMP 8)', () => {
    const short: LinuxBenchSeries = {
      'own.smp1': { samples: [13_300] },
      'qemu.smp1': { samples: [13_500] },
      'own.smp8': { samples: [] },
      'qemu.smp8': { samples: [] },
    };
    const { failures } = linuxFigures(short, 2);
    expect(failures.map((f) => f.reason)).toEqual([
      '1 of 2 runs gave a sample, and none reported an error',
      '1 of 2 runs gave a sample, and none reported an error',
      '0 of 2 runs gave a sample, and none reported an error',
      '0 of 2 runs gave a sample, and none reported an error',
    ]);
    expect(failures[2]!.what).toMatch(/own VMM, SMP 8/);
  });
});
