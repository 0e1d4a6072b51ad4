import { describe, expect, it } from 'vitest';
import { assertBarsOk, type Bar, checkBars, formatVerdict, parseSeabiosWindows } from './bar-check.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const LOG = `PCI: IO: c000 - bfff
PCI: 32: 00000000c0000000 - 00000000fec00000
PCI: 64: 0000000100000000 - 0000001800000000
`;
const machine = { physBits: 36, ram: [{ start: 0, end: 3 * GiB }] };

function bar(p: Partial<Bar>): Bar {
  return { bdf: '00:02.0', index: 0, kind: 'mem32', prefetchable: false, size: 512 * MiB, address: 0xc000_0000, decoded: true, ...p };
}

describe('parseSeabiosWindows', () => {
  it("reads SeaBIOS's IO, 32-bit and 64-bit windows (IO end inclusive, memory ends exclusive)", () => {
    expect(parseSeabiosWindows(LOG)).toEqual([
      { name: 'io', start: 0xc000, end: 0xc000 },
      { name: '32bit', start: 0xc000_0000, end: 0xfec0_0000 },
      { name: '64bit', start: 0x1_0000_0000, end: 0x18_0000_0000 },
    ]);
  });
});

describe('checkBars', () => {
  const windows = parseSeabiosWindows(LOG);
  it('accepts BARs inside their window, aligned, apart, below the address width', () => {
    const v = checkBars([bar({}), bar({ bdf: '00:03.0', size: 256 * MiB, address: 0xe000_0000 })], windows, machine);
    expect(v.map((x) => x.verdict)).toEqual(['ok', 'ok']);
    expect(() => assertBarsOk(v)).not.toThrow();
  });
  it('flags unassigned, misaligned, overlapping and over-RAM BARs', () => {
    const v = checkBars(
      [
        bar({ address: 0, decoded: false }),
        bar({ bdf: '00:03.0', address: 0xd000_0000 }),
        bar({ bdf: '00:04.0', size: 256 * MiB, address: 0xd000_0000 }),
        bar({ bdf: '00:05.0', size: 256 * MiB, address: 0x8000_0000 }),
      ],
      windows,
      machine,
    );
    expect(v.map((x) => x.verdict)).toEqual(['unassigned', 'misaligned', 'overlap', 'over-ram']);
  });
  it('flags a 64-bit BAR beyond the physical address width, naming the width', () => {
    const v = checkBars([bar({ kind: 'mem64', prefetchable: true, size: 32 * GiB, address: 64 * GiB })], windows, machine);
    expect(v[0]!.verdict).toBe('beyond-phys-bits');
    expect(formatVerdict(v[0]!)).toBe(
      "00:02.0 bar0 mem64pref 32G @0x1000000000 window=64bit beyond-phys-bits: ends at 0x1800000000, beyond the guest's 36-bit physical address width (0x1000000000)",
    );
    expect(() => assertBarsOk(v)).toThrow(/beyond the guest's 36-bit physical address width/);
  });
  it('flags a 32-bit BAR outside the 32-bit window', () => {
    const v = checkBars([bar({ size: 16 * MiB, address: 0xff00_0000 })], windows, machine);
    expect(v[0]!.verdict).toBe('outside-window');
  });
});
