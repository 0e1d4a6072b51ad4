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
  it('splits RAM like QEMU pc: all low below 3.5 GiB, else 3 GiB low and the rest above 4 GiB', () => {
    const MiB = 1024 * 1024;
    expect(splitRam(512 * MiB)).toEqual({ low: 512 * MiB, high: 0 });
    expect(splitRam(PC_LOW_RAM_MAX - MiB)).toEqual({ low: PC_LOW_RAM_MAX - MiB, high: 0 });
    const big = 8 * 1024 * MiB;
    expect(splitRam(big)).toEqual({ low: 3 * 1024 * MiB, high: big - 3 * 1024 * MiB });
  });
  it('honours a lower maximum below 4 GiB (moves the 32-bit PCI window)', () => {
    const MiB = 1024 * 1024;
    expect(splitRam(3 * 1024 * MiB, 2 * 1024 * MiB)).toEqual({ low: 2 * 1024 * MiB, high: 1024 * MiB });
  });
});
