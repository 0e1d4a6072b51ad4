// Piix3: IDs/header, PIRQ route registers as SeaBIOS piix_isa_bridge_setup programs them
// (10, 10, 11, 11), route callbacks, reset, and QEMU's slot->PIRQ swizzle.

import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../errors.js';
import { bdfOf, PortIo, SeabiosPci } from './pci-firmware-sim.js';
import { PciHost } from './pci-host.js';
import { decodePirqRoute, Piix3, pirqForSlot } from './piix3.js';

const ISA = bdfOf(0, 1, 0);

function setup() {
  const calls: Array<[number, number | null]> = [];
  const piix3 = new Piix3({ onPirqChange: (pirq, irq) => calls.push([pirq, irq]) });
  const host = new PciHost();
  host.addFunction(piix3);
  return { piix3, calls, pci: new SeabiosPci(new PortIo(host)) };
}

describe('Piix3', () => {
  it('identifies as 8086:7000 class 0601, multifunction, command 0x0007 at reset', () => {
    const { pci } = setup();
    expect(pci.readl(ISA, 0x00)).toBe(0x7000_8086);
    expect(pci.readl(ISA, 0x08)).toBe(0x0601_0000);
    expect(pci.readb(ISA, 0x0e)).toBe(0x80);
    expect(pci.readl(ISA, 0x04)).toBe(0x0200_0007);
  });

  it('resets all four PIRQ routes to disabled (0x80)', () => {
    const { pci, piix3 } = setup();
    expect(pci.readl(ISA, 0x60)).toBe(0x8080_8080);
    expect([0, 1, 2, 3].map((p) => piix3.pirqRoute(p))).toEqual([null, null, null, null]);
  });

  it('takes SeaBIOS piix_isa_bridge_setup writes 10, 10, 11, 11 and reports each route', () => {
    const { pci, calls, piix3 } = setup();
    [10, 10, 11, 11].forEach((irq, i) => {
      pci.writeb(ISA, 0x60 + i, irq);
    });
    expect(calls).toEqual([
      [0, 10],
      [1, 10],
      [2, 11],
      [3, 11],
    ]);
    expect(pci.readl(ISA, 0x60)).toBe(0x0b0b_0a0a);
    expect(piix3.pirqRoute(2)).toBe(11);
    // Writing the same routes again changes nothing.
    pci.writel(ISA, 0x60, 0x0b0b_0a0a);
    expect(calls).toHaveLength(4);
  });

  it('masks reserved bits and treats IRQEN# set as disabled', () => {
    const { pci, calls } = setup();
    pci.writeb(ISA, 0x61, 0xff);
    expect(pci.readb(ISA, 0x61)).toBe(0x8f);
    expect(calls).toEqual([]);
    pci.writeb(ISA, 0x61, 0x75);
    expect(pci.readb(ISA, 0x61)).toBe(0x05);
    pci.writeb(ISA, 0x61, 0x8a);
    expect(calls).toEqual([
      [1, 5],
      [1, null],
    ]);
    expect(decodePirqRoute(0x0f)).toBe(15);
    expect(decodePirqRoute(0x80)).toBe(null);
  });

  it('reset() restores the routes and reports every PIRQ', () => {
    const { pci, calls, piix3 } = setup();
    pci.writel(ISA, 0x60, 0x0b0b_0a0a);
    calls.length = 0;
    piix3.reset();
    expect(calls).toEqual([
      [0, null],
      [1, null],
      [2, null],
      [3, null],
    ]);
    expect(pci.readl(ISA, 0x60)).toBe(0x8080_8080);
  });
});

describe('pirqForSlot (QEMU i440FX swizzle)', () => {
  it('rotates pins by slot: (pin - 1 + slot - 1) & 3', () => {
    expect(pirqForSlot(1, 1)).toBe(0);
    expect(pirqForSlot(2, 1)).toBe(1);
    expect(pirqForSlot(3, 1)).toBe(2);
    expect(pirqForSlot(3, 4)).toBe(1);
    expect(pirqForSlot(4, 2)).toBe(0);
    expect(pirqForSlot(0, 1)).toBe(3);
    expect(pirqForSlot(31, 4)).toBe(1);
  });

  it('rejects pins outside INTA#-INTD# and slots outside 0-31', () => {
    expect(() => pirqForSlot(1, 0)).toThrow(BootgateError);
    expect(() => pirqForSlot(1, 5)).toThrow(/interrupt pin/);
    expect(() => pirqForSlot(32, 1)).toThrow(/slot/);
  });
});
