// `query-pci` parsing against real QEMU 7.2 output (testdata/).

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { PCI_TESTDEV_ID } from './args.js';
import { barPlacement, bdf, parseQueryPci, readbackBars, unassignedBars } from './pci.js';

const data = (name: string): unknown => JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8'));

describe('query-pci (QEMU 7.2 pc, SeaBIOS)', () => {
  const fns = parseQueryPci(data('query-pci-pc-7.2.json'));

  test('the four i440fx/PIIX functions with their IDs', () => {
    expect(fns.map((f) => [f.bdf, f.vendor.toString(16), f.device.toString(16), f.classCode.toString(16)])).toEqual([
      ['00:00.0', '8086', '1237', '600'],
      ['00:01.0', '8086', '7000', '601'],
      ['00:01.1', '8086', '7010', '101'],
      ['00:01.3', '8086', '7113', '680'],
    ]);
    expect(fns[3]).toMatchObject({ irq: 9, irqPin: 1, classDesc: 'Bridge', subsystemVendor: 0x1af4, subsystem: 0x1100 });
  });

  test('the IDE BMDMA BAR SeaBIOS placed at 0xc000', () => {
    expect(fns[2]!.bars).toEqual([{ bar: 4, type: 'io', address: 0xc000, size: 16 }]);
    expect(unassignedBars(fns)).toEqual([]);
  });
});

describe('query-pci (QEMU 7.2 pc with a bridge, virtio-net behind it, e1000, VGA)', () => {
  const fns = parseQueryPci(data('query-pci-bridge-7.2.json'));
  const fn = (b: string) => fns.find((f) => f.bdf === b)!;

  test('functions behind a bridge are listed after it, on its secondary bus', () => {
    expect(fns.map((f) => f.bdf)).toEqual(['00:00.0', '00:01.0', '00:01.1', '00:01.3', '00:02.0', '01:02.0', '00:03.0', '00:04.0']);
    expect(fn('00:02.0').bridge).toEqual({
      primary: 0,
      secondary: 1,
      subordinate: 1,
      io: { base: 0xc000, limit: 0xcfff },
      memory: { base: 0xfe80_0000, limit: 0xfe9f_ffff },
      prefetchable: { base: 0xfe00_0000, limit: 0xfe1f_ffff },
    });
  });

  test('BAR kinds: io, 32-bit memory, 64-bit prefetchable', () => {
    expect(fn('01:02.0').bars.slice(0, 3)).toEqual([
      { bar: 0, type: 'io', address: 0xc000, size: 32 },
      { bar: 1, type: 'memory', address: 0xfe84_0000, size: 4096, prefetch: false, mem64: false },
      { bar: 4, type: 'memory', address: 0xfe00_0000, size: 16384, prefetch: true, mem64: true },
    ]);
    expect(fn('00:04.0').bars[0]).toEqual({ bar: 0, type: 'memory', address: 0xfd00_0000, size: 16 * 2 ** 20, prefetch: true, mem64: false });
  });

  test('a BAR QEMU reports at address -1 is unassigned (here: the option ROM BARs SeaBIOS left disabled)', () => {
    expect(unassignedBars(fns).map((u) => [u.bdf, u.bar.bar, u.bar.size])).toEqual([
      ['01:02.0', 6, 262144],
      ['00:04.0', 6, 65536],
    ]);
  });
});

describe('bad input', () => {
  test('names what is wrong', () => {
    expect(() => parseQueryPci({})).toThrow(/expected an array of buses/);
    expect(() => parseQueryPci([{ bus: 0 }])).toThrow(/without "devices"/);
    expect(() => parseQueryPci([{ bus: 0, devices: [{ bus: 0, slot: 'x' }] }])).toThrow(/slot is "x"/);
    const badRegion = { bus: 0, slot: 1, function: 0, id: { vendor: 1, device: 2 }, class_info: { class: 3 }, regions: [{ bar: 0, type: 'weird' }] };
    expect(() => parseQueryPci([{ bus: 0, devices: [badRegion] }])).toThrow(/region type "weird"/);
  });

  test('bdf formatting', () => {
    expect(bdf(0, 0x1f, 3)).toBe('00:1f.3');
    expect(bdf(0x12, 1, 0)).toBe('12:01.0');
  });
});

describe('query-pci → pci-bars (QEMU 7.2 pc, two pci-testdev membar=32G, phys-bits=36)', () => {
  const fns = parseQueryPci(data('query-pci-testdev-2x32G-7.2.json'));
  const GiB = 2 ** 30;
  const membar = (b: { type: string; mem64?: boolean; prefetch?: boolean }) => b.type === 'memory' && b.mem64 === true && b.prefetch === true;

  test('only the test devices\' membar BARs, in the own VMM\'s shape: the second lands at 2^36 (SeaBIOS ignores phys-bits)', () => {
    expect(readbackBars(fns, PCI_TESTDEV_ID, membar)).toEqual([
      { bdf: '00:02.0', index: 2, kind: 'mem64', prefetchable: true, size: 32 * GiB, address: 32 * GiB, decoded: true },
      { bdf: '00:03.0', index: 2, kind: 'mem64', prefetchable: true, size: 32 * GiB, address: 64 * GiB, decoded: true },
    ]);
  });

  test('without the filter pci-testdev\'s own fixed BARs show too: 4 KiB 32-bit memory, 256 ports of IO', () => {
    expect(readbackBars(fns, PCI_TESTDEV_ID).filter((b) => b.bdf === '00:02.0')).toEqual([
      { bdf: '00:02.0', index: 0, kind: 'mem32', prefetchable: false, size: 4096, address: 0xfebf_e000, decoded: true },
      { bdf: '00:02.0', index: 1, kind: 'io', prefetchable: false, size: 256, address: 0xc000, decoded: true },
      { bdf: '00:02.0', index: 2, kind: 'mem64', prefetchable: true, size: 32 * GiB, address: 32 * GiB, decoded: true },
    ]);
    expect(readbackBars(fns, { vendor: 0x1af4, device: 0x1000 })).toEqual([]);
  });

  test('with the firmware\'s placement, each BAR carries firstDecoded: Linux\'s moves show, a BAR firmware left unassigned is null', () => {
    const firmware = barPlacement(fns, PCI_TESTDEV_ID);
    expect(firmware.get('00:02.0:2')).toBe(32 * GiB);
    // Linux moved the second device's BAR after the firmware had left it unassigned.
    const atFirmware = new Map([...firmware, ['00:03.0:2', null]]);
    expect(readbackBars(fns, PCI_TESTDEV_ID, membar, atFirmware).map((b) => [b.bdf, b.address, b.firstDecoded])).toEqual([
      ['00:02.0', 32 * GiB, 32 * GiB],
      ['00:03.0', 64 * GiB, null],
    ]);
    expect(readbackBars(fns, PCI_TESTDEV_ID, membar)[0]).not.toHaveProperty('firstDecoded');
  });

  test('a BAR QEMU reports at -1 becomes address 0, not decoded (bar-check: unassigned); ROM BARs are left out', () => {
    const bridge = parseQueryPci(data('query-pci-bridge-7.2.json'));
    const e1000 = bridge.find((f) => f.bdf === '00:03.0')!;
    expect(readbackBars(bridge, { vendor: e1000.vendor, device: e1000.device }).map((b) => b.index)).not.toContain(6);
    const fake = [{ ...fns[4]!, bars: [{ bar: 2, type: 'memory' as const, address: null, size: 32 * GiB, prefetch: true, mem64: true }] }];
    expect(readbackBars(fake, PCI_TESTDEV_ID, membar)).toEqual([{ bdf: '00:02.0', index: 2, kind: 'mem64', prefetchable: true, size: 32 * GiB, address: 0, decoded: false }]);
  });
});
