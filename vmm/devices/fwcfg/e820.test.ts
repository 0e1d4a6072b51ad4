// Unit tests for the etc/e820 builder: exact bytes for the maps the `pc` machine hands out.

import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../errors.js';
import { GiB, MiB, splitRam } from '../../layout.js';
import { buildE820, E820_RAM, E820_RESERVED, parseE820, pcE820 } from './e820.js';
import { hexBytes } from './test-guest.js';

// One line per 20-byte entry: u64 addr LE | u64 len LE | u32 type LE.
function lines(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 20) {
    out.push(`${hexBytes(bytes.subarray(i, i + 8))} | ${hexBytes(bytes.subarray(i + 8, i + 16))} | ${hexBytes(bytes.subarray(i + 16, i + 20))}`);
  }
  return out;
}

describe('pcE820', () => {
  it('512 MiB: KVM reservation first (as QEMU under KVM), then low RAM from 0', () => {
    const bytes = buildE820(pcE820({ ramBelow4G: 512 * MiB, ramAbove4G: 0 }));
    expect(bytes.length).toBe(40);
    expect(lines(bytes)).toEqual([
      '00 c0 ff fe 00 00 00 00 | 00 40 00 00 00 00 00 00 | 02 00 00 00',
      '00 00 00 00 00 00 00 00 | 00 00 00 20 00 00 00 00 | 01 00 00 00',
    ]);
  });

  it('6 GiB split by layout.ts: 3 GiB low, 3 GiB from 4 GiB', () => {
    const { low, high } = splitRam(6 * GiB);
    const bytes = buildE820(pcE820({ ramBelow4G: low, ramAbove4G: high }));
    expect(bytes.length).toBe(60);
    expect(lines(bytes)).toEqual([
      '00 c0 ff fe 00 00 00 00 | 00 40 00 00 00 00 00 00 | 02 00 00 00',
      '00 00 00 00 00 00 00 00 | 00 00 00 c0 00 00 00 00 | 01 00 00 00',
      '00 00 00 00 01 00 00 00 | 00 00 00 c0 00 00 00 00 | 01 00 00 00',
    ]);
  });

  it('matches the RAM entry for 1 GiB in docs/qemu-7.2-reference.md and round-trips through parseE820', () => {
    const entries = pcE820({ ramBelow4G: GiB, ramAbove4G: 0 });
    expect(parseE820(buildE820(entries))).toEqual([
      { addr: 0xfeff_c000, len: 0x4000, type: E820_RESERVED },
      { addr: 0, len: 0x4000_0000, type: E820_RAM },
    ]);
  });

  it('rejects low RAM above 0xE0000000, zero low RAM and negative high RAM', () => {
    expect(() => pcE820({ ramBelow4G: 0xe000_0000 + MiB, ramAbove4G: 0 })).toThrow(BootgateError);
    expect(() => pcE820({ ramBelow4G: 0, ramAbove4G: 0 })).toThrow(BootgateError);
    expect(() => pcE820({ ramBelow4G: GiB, ramAbove4G: -1 })).toThrow(BootgateError);
  });
});

describe('buildE820', () => {
  it('writes entries in the order given, 64-bit fields above 4 GiB included', () => {
    const bytes = buildE820([{ addr: 0x12_3456_7000, len: 0x10_0000_0000, type: 4 }]);
    expect(lines(bytes)).toEqual(['00 70 56 34 12 00 00 00 | 00 00 00 00 10 00 00 00 | 04 00 00 00']);
  });

  it('rejects empty lengths and bad types', () => {
    expect(() => buildE820([{ addr: 0, len: 0, type: 1 }])).toThrow(/len/);
    expect(() => buildE820([{ addr: 0, len: 1, type: 0 }])).toThrow(/type/);
    expect(() => parseE820(new Uint8Array(21))).toThrow(BootgateError);
  });
});
