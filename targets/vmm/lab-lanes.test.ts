// Lab lanes: the split (balance by timeout, a shared UEFI variable store kept in one lane in
// order, every lane keeping the input order, no empty lane) and the lane count's refusals.

import { describe, expect, it } from 'vitest';
import type { BootRequest } from '../target.js';
import { labLanes, LAB_LANES_ENV, splitLanes } from './lab-lanes.js';

const boot = (id: string, timeoutS: number, extra: Partial<BootRequest> = {}) => ({ id, req: { smp: 1, timeoutS, ...extra } });
const ids = (lanes: { id: string }[][]) => lanes.map((l) => l.map((b) => b.id));

describe('splitLanes', () => {
  it('balances by timeout, heaviest first, each lane in the input order', () => {
    const boots = [boot('a', 60), boot('b', 300), boot('c', 60), boot('d', 120), boot('e', 90)];
    expect(ids(splitLanes(boots, 2))).toEqual([['b'], ['a', 'c', 'd', 'e']]);
    const even = [boot('a', 100), boot('b', 100), boot('c', 100), boot('d', 100)];
    expect(ids(splitLanes(even, 2))).toEqual([['a', 'c'], ['b', 'd']]);
  });

  it('keeps the boots of one UEFI variable store together and in order, the store written before it is read', () => {
    const boots = [boot('w', 120, { vars: '/v.fd' }), boot('x', 120), boot('f', 120, { vars: '/v.fd' }), boot('y', 120), boot('z', 120)];
    const lanes = ids(splitLanes(boots, 2));
    const withVars = lanes.find((l) => l.includes('w'))!;
    expect(withVars.filter((id) => id === 'w' || id === 'f')).toEqual(['w', 'f']);
    expect(lanes.flat().sort()).toEqual(['f', 'w', 'x', 'y', 'z']);
    expect(lanes).toEqual([['w', 'f', 'z'], ['x', 'y']]);
  });

  it('one lane for one boot or one lane asked; none for no boots; never an empty lane', () => {
    expect(ids(splitLanes([boot('a', 1)], 2))).toEqual([['a']]);
    expect(ids(splitLanes([boot('a', 1), boot('b', 1)], 1))).toEqual([['a', 'b']]);
    expect(splitLanes([], 2)).toEqual([]);
    expect(ids(splitLanes([boot('w', 1, { vars: '/v' }), boot('f', 1, { vars: '/v' })], 2))).toEqual([['w', 'f']]);
  });
});

describe('labLanes', () => {
  it('is 2 unless told 1 or 2, and refuses anything else naming the fix', () => {
    expect(labLanes({})).toBe(2);
    expect(labLanes({ [LAB_LANES_ENV]: '1' })).toBe(1);
    expect(labLanes({ [LAB_LANES_ENV]: '2' })).toBe(2);
    expect(() => labLanes({ [LAB_LANES_ENV]: '3' })).toThrow(/BOOTGATE_LAB_LANES="3" is no lane count/);
    expect(() => labLanes({ [LAB_LANES_ENV]: 'two' })).toThrow(/BOOTGATE_LAB_LANES="two"/);
  });
});
