import { describe, expect, it } from 'vitest';
import { FOUR_GIB } from '../layout.js';
import { guestRamOffset } from './host-memory.js';

const ram = { below4G: 0x20_0000, above4G: 0x10_0000 };

describe('guestRamOffset', () => {
  it('maps low and high RAM into the one allocation', () => {
    expect(guestRamOffset(ram, 0, 16)).toBe(0);
    expect(guestRamOffset(ram, 0x1f_fff0, 16)).toBe(0x1f_fff0);
    expect(guestRamOffset(ram, FOUR_GIB, 16)).toBe(0x20_0000);
    expect(guestRamOffset(ram, FOUR_GIB + 0xf_fff0, 16)).toBe(0x2f_fff0);
  });

  it('refuses ranges that straddle an end or the hole, lie in MMIO, or are not addresses at all', () => {
    for (const [gpa, length] of [
      [0x1f_fff1, 16],
      [0x20_0000, 1],
      [0xfee0_0000, 4],
      [FOUR_GIB - 8, 16],
      [FOUR_GIB + 0xf_fff1, 16],
      [-16, 16],
      [-1, 1],
      [0.5, 4],
      [2 ** 53, 1],
      [0, -1],
    ]) {
      expect(guestRamOffset(ram, gpa!, length!), `0x${gpa!.toString(16)}+${length}`).toBeUndefined();
    }
  });
});
