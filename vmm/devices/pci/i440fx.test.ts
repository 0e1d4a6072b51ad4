// I440fx: IDs, PAM decode, and SeaBIOS shadow.c make_bios_writable / make_bios_readonly replayed
// access by access (dword RMW at 0x58/0x5C), with the exact segments the machine is told.

import { describe, expect, it } from 'vitest';
import { coalescePam, decodePam, I440fx, PAM_RESET_BIOS_AS_RAM, type PamMode, type PamSegment } from './i440fx.js';
import { bdfOf, PortIo, SeabiosPci } from './pci-firmware-sim.js';
import { PciHost } from './pci-host.js';

const HB = bdfOf(0, 0, 0);

function setup() {
  const calls: PamSegment[][] = [];
  const hb = new I440fx({ onPamChange: (s) => calls.push(s) });
  const host = new PciHost();
  host.addFunction(hb);
  return { hb, calls, pci: new SeabiosPci(new PortIo(host)) };
}

/** The 13 granules with `modes[i]` (12 expansion granules, then the BIOS segment). */
function segments(modes: PamMode[]): PamSegment[] {
  return modes.map((mode, i) =>
    i < 12 ? { base: 0xc0000 + i * 0x4000, size: 0x4000, mode } : { base: 0xf0000, size: 0x10000, mode },
  );
}
const all = (m: PamMode) => segments(new Array(13).fill(m));

describe('decodePam', () => {
  it('maps PAM0 high nibble to 0xF0000 and each later register low nibble to the lower 16 KiB', () => {
    expect(decodePam([0, 0, 0, 0, 0, 0, 0])).toEqual(all(0));
    const s = decodePam([0x20, 0x12, 0x00, 0x00, 0x00, 0x00, 0x30]);
    expect(s[0]).toEqual({ base: 0xc0000, size: 0x4000, mode: 2 });
    expect(s[1]).toEqual({ base: 0xc4000, size: 0x4000, mode: 1 });
    expect(s[10]).toEqual({ base: 0xe8000, size: 0x4000, mode: 0 });
    expect(s[11]).toEqual({ base: 0xec000, size: 0x4000, mode: 3 });
    expect(s[12]).toEqual({ base: 0xf0000, size: 0x10000, mode: 2 });
    // Cache-enable bits and PAM0's reserved low nibble do not change the mode.
    expect(decodePam([0x07, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44])).toEqual(all(0));
  });

  it('coalesces neighbours with the same mode', () => {
    expect(coalescePam(all(3))).toEqual([{ base: 0xc0000, size: 0x40000, mode: 3 }]);
    expect(coalescePam(decodePam([0x10, 0x31, 0x33, 0x33, 0x33, 0x33, 0x33]))).toEqual([
      { base: 0xc0000, size: 0x4000, mode: 1 },
      { base: 0xc4000, size: 0x2c000, mode: 3 },
      { base: 0xf0000, size: 0x10000, mode: 1 },
    ]);
  });
});

describe('I440fx', () => {
  it('identifies as 8086:1237 rev 02, class 0600, single-function', () => {
    const { pci } = setup();
    expect(pci.readl(HB, 0x00)).toBe(0x1237_8086);
    expect(pci.readl(HB, 0x08)).toBe(0x0600_0002);
    expect(pci.readb(HB, 0x0e)).toBe(0x00);
    expect(pci.readl(HB, 0x2c)).toBe(0x1100_1af4);
    expect(pci.readb(HB, 0x72)).toBe(0x02);
  });

  it('make_bios_writable: two dword RMWs at 0x58/0x5C read back and open all of 0xC0000-0xFFFFF', () => {
    const { pci, calls } = setup();
    pci.makeBiosWritable(HB);
    expect(pci.readl(HB, 0x58)).toBe(0x3333_3000);
    expect(pci.readl(HB, 0x5c)).toBe(0x3333_3333);
    // The first dword covers PAM0-PAM2, so the machine sees the intermediate state, as on QEMU.
    expect(calls).toEqual([segments([3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 3]), all(3)]);
  });

  it('vmd-low-bios-only: PAM resets to RAM for 0xE0000-0xFFFFF, and a reset restores that', () => {
    const calls: PamSegment[][] = [];
    const hb = new I440fx({ onPamChange: (s) => calls.push(s), pamReset: PAM_RESET_BIOS_AS_RAM });
    hb.reset();
    expect(calls.at(-1)).toEqual(segments([0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3]));
    hb.writeConfig(0x59, 1, 0x10);
    hb.reset();
    expect(hb.readConfig(0x59, 1)).toBe(0x30);
  });

  it('make_bios_readonly without upper-memory use turns every granule read-only', () => {
    const { pci, calls } = setup();
    pci.makeBiosWritable(HB);
    calls.length = 0;
    pci.makeBiosReadonly(HB);
    expect(pci.readl(HB, 0x58)).toBe(0x1111_1000);
    expect(pci.readl(HB, 0x5c)).toBe(0x1111_1111);
    expect(calls).toEqual([segments([1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 1]), all(1)]);
  });

  it('make_bios_readonly with option ROMs ending at 0xC3000 leaves the UMB area writable', () => {
    const { pci, hb } = setup();
    pci.makeBiosWritable(HB);
    pci.makeBiosReadonly(HB, 0xc3000, 0xe8800);
    expect(pci.readb(HB, 0x5a)).toBe(0x31);
    expect(hb.pamSegments()).toEqual(segments([1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1]));
  });

  it('notifies only when a write changes the decoded state', () => {
    const { pci, calls } = setup();
    pci.writeb(HB, 0x59, 0x00);
    pci.writeb(HB, 0x5a, 0x44);
    pci.writeb(HB, 0x57, 0xff);
    expect(calls).toEqual([]);
    pci.writeb(HB, 0x5f, 0x20);
    expect(calls).toEqual([segments([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0])]);
  });

  it('stores SMRAM control bits but keeps the C-segment base read-only', () => {
    const { pci } = setup();
    pci.writeb(HB, 0x72, 0x4a);
    expect(pci.readb(HB, 0x72)).toBe(0x4a);
    pci.writeb(HB, 0x72, 0xff);
    expect(pci.readb(HB, 0x72)).toBe(0x7a);
  });

  it('reset() clears PAM and always reports the power-on state', () => {
    const { pci, calls, hb } = setup();
    pci.makeBiosWritable(HB);
    calls.length = 0;
    hb.reset();
    expect(pci.readl(HB, 0x58)).toBe(0);
    expect(calls).toEqual([all(0)]);
    hb.reset();
    expect(calls).toHaveLength(2);
  });
});
