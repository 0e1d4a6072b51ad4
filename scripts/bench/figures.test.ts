import { describe, expect, it } from 'vitest';
import { median, missingFigures, ratioFigure, seriesFigures, seriesNames } from './figures.js';

describe('figures', () => {
  it('takes the median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  it('gives a series its runs and median, under the names it promises', () => {
    const figs = seriesFigures('pio.own.roundTrip', 'own', 'us', [11, 10, 12]);
    expect(figs.map((f) => f.name)).toEqual(seriesNames('pio.own.roundTrip', 3));
    expect(figs[3]).toMatchObject({ value: 11, target: null });
    expect(seriesFigures('x', 'x', 'ms', [])).toEqual([]);
  });

  it('divides medians into a ratio with its target, or says which side lacks samples', () => {
    const sides = (a: number[], b: number[]) => ({ over: { label: 'own', samples: a }, under: { label: 'QEMU', samples: b } });
    expect(ratioFigure('r', 'own / QEMU', sides([2, 4, 3], [2, 2, 2]), { target: 1 }).figures).toEqual([{ name: 'r', label: 'own / QEMU', value: 1.5, unit: 'ratio', target: 1 }]);
    expect(ratioFigure('r', 'own / QEMU', sides([], [2]))).toEqual({ figures: [], failures: [] });
    expect(ratioFigure('r', 'own / QEMU', sides([1, 2], [2, 2, 2]), { minSamples: 3 }).failures).toEqual([
      { what: 'own / QEMU', reason: 'the comparison needs at least 3 samples per stack; own has 2, QEMU 3' },
    ]);
  });

  it('names each promised figure that is missing', () => {
    expect(missingFigures(['a', 'b'], [{ name: 'a', label: 'a', value: 1, unit: 'ms', target: null }])).toEqual([{ what: 'figure b', reason: 'promised but not measured' }]);
  });
});
