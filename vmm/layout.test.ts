import { describe, expect, it } from 'vitest';
import { FOUR_GIB, highFirmwareBase, PC_LOW_RAM_MAX, RESET_CS_BASE, RESET_IP, RESET_VECTOR, splitRam } from './layout.js';

describe('layout', () => {
  it('the reset vector is CS base + IP, 16 bytes below 4 GiB', () => {
    expect(RESET_CS_BASE + RESET_IP).toBe(RESET_VECTOR);
    expect(FOUR_GIB - RESET_VECTOR).toBe(16);
  });
  it('places a firmware image so that it ends at 4 GiB', () => {
    expect(highFirmwareBase(256 * 1024)).toBe(0xfffc_0000);
  });
  it('splits RAM above the pc low-RAM limit to above 4 GiB', () => {
    expect(splitRam(512 * 1024 * 1024)).toEqual({ low: 512 * 1024 * 1024, high: 0 });
    const big = 8 * 1024 * 1024 * 1024;
    expect(splitRam(big)).toEqual({ low: PC_LOW_RAM_MAX, high: big - PC_LOW_RAM_MAX });
  });
});
