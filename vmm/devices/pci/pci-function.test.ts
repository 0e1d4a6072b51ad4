// PciFunction: write masks, write-1-to-clear, read-back of firmware dword RMW, reset, and BAR
// sizing/decoding exactly as SeaBIOS pci_bios_get_bar drives it (64-bit prefetchable 512 MiB, IO).

import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../errors.js';
import { bdfOf, PortIo, SeabiosPci } from './pci-firmware-sim.js';
import { type BarChange, PciFunction } from './pci-function.js';
import { PciHost } from './pci-host.js';

/** A test device: a 64-bit prefetchable 512 MiB BAR at 0-1 and a 64-byte IO BAR at 4. */
class TestDevice extends PciFunction {
  writes: Array<[number, number, number]> = [];
  constructor() {
    super('test', { bus: 0, device: 3, function: 0 });
    this.setIds(0x1b36, 0x0005);
    this.setClass(0x00_ff_00);
    this.setStatus(0x2010);
    this.addBar(0, { kind: 'mem64', size: 512 * 1024 * 1024, prefetchable: true });
    this.addBar(4, { kind: 'io', size: 0x40 });
    this.define(0x40, 4, 0x1234_5678, 0x00ff_ff00);
  }
  protected override onConfigWrite(offset: number, size: number, oldValue: number): void {
    this.writes.push([offset, size, oldValue]);
  }
}

function setup() {
  const host = new PciHost();
  const dev = new TestDevice();
  host.addFunction(dev);
  const pci = new SeabiosPci(new PortIo(host));
  const changes: BarChange[] = [];
  const decode: Array<[boolean, boolean]> = [];
  dev.onBarChange = (c) => changes.push(c);
  dev.onDecodeChange = (io, mem) => decode.push([io, mem]);
  return { dev, pci, changes, decode, bdf: bdfOf(0, 3, 0) };
}

describe('PciFunction config space', () => {
  it('keeps read-only bits, applies write masks and reads back a dword read-modify-write', () => {
    const { pci, bdf } = setup();
    pci.writel(bdf, 0x00, 0xffff_ffff);
    expect(pci.readl(bdf, 0x00)).toBe(0x0005_1b36);
    expect(pci.readl(bdf, 0x40)).toBe(0x1234_5678);
    pci.writel(bdf, 0x40, 0xaaaa_aaaa);
    expect(pci.readl(bdf, 0x40)).toBe(0x12aa_aa78);
    // Firmware-style RMW of the dword: read, change one byte, write back: the rest is unchanged.
    const v = pci.readl(bdf, 0x40);
    pci.writel(bdf, 0x40, (v & ~0x00ff_0000) | 0x0055_0000);
    expect(pci.readl(bdf, 0x40)).toBe(0x1255_aa78);
    pci.writeb(bdf, 0x41, 0x01);
    expect(pci.readl(bdf, 0x40)).toBe(0x1255_0178);
  });

  it('command takes only IO/MEM/MASTER/PARITY/SERR/INTX_DISABLE; status error bits are write-1-to-clear', () => {
    const { pci, bdf } = setup();
    pci.writew(bdf, 0x04, 0xffff);
    expect(pci.readw(bdf, 0x04)).toBe(0x0547);
    expect(pci.readw(bdf, 0x06)).toBe(0x2010);
    pci.writew(bdf, 0x06, 0x0010);
    expect(pci.readw(bdf, 0x06)).toBe(0x2010);
    pci.writew(bdf, 0x06, 0x2000);
    expect(pci.readw(bdf, 0x06)).toBe(0x0010);
  });

  it('hands onConfigWrite the offset, size and the value the range held before', () => {
    const { dev, pci, bdf } = setup();
    pci.writew(bdf, 0x42, 0xbeef);
    expect(dev.writes).toEqual([[0x42, 2, 0x1234]]);
  });

  it('reset() restores the power-on configuration', () => {
    const { dev, pci, bdf } = setup();
    pci.writel(bdf, 0x40, 0);
    pci.writew(bdf, 0x04, 0x0003);
    pci.writeb(bdf, 0x3c, 11);
    dev.reset();
    expect(pci.readl(bdf, 0x40)).toBe(0x1234_5678);
    expect(pci.readw(bdf, 0x04)).toBe(0);
    expect(pci.readb(bdf, 0x3c)).toBe(0);
  });

  it('rejects a bad BDF and bad BAR layouts as configuration errors', () => {
    expect(() => new PciFunction('x', { bus: 0, device: 32, function: 0 })).toThrow(BootgateError);
    const f = new PciFunction('x', { bus: 0, device: 1, function: 0 });
    expect(() => f.addBar(5, { kind: 'mem64', size: 4096 })).toThrow(/BAR index/);
    expect(() => f.addBar(0, { kind: 'mem32', size: 3000 })).toThrow(/size/);
    expect(() => f.addBar(0, { kind: 'io', size: 512 })).toThrow(/size/);
    f.addBar(0, { kind: 'mem64', size: 4096 });
    expect(() => f.addBar(1, { kind: 'io', size: 16 })).toThrow(/already in use/);
    try {
      f.addBar(0, { kind: 'io', size: 16 });
      expect.unreachable();
    } catch (e) {
      expect((e as BootgateError).code).toBe('E_CONFIG');
    }
  });
});

describe('PciFunction BARs', () => {
  it('sizes a 64-bit prefetchable 512 MiB BAR the way SeaBIOS pci_bios_get_bar does', () => {
    const { pci, bdf } = setup();
    expect(pci.readl(bdf, 0x10)).toBe(0x0000_000c);
    pci.writel(bdf, 0x10, 0xffff_ffff);
    expect(pci.readl(bdf, 0x10)).toBe(0xe000_000c);
    pci.writel(bdf, 0x14, 0xffff_ffff);
    expect(pci.readl(bdf, 0x14)).toBe(0xffff_ffff);
    pci.writel(bdf, 0x10, 0x0000_000c);
    pci.writel(bdf, 0x14, 0);
    expect(pci.getBar(bdf, 0)).toEqual({ type: 'prefmem', size: 0x2000_0000n, is64: true });
    // Sizing restored the BAR.
    expect(pci.readl(bdf, 0x10)).toBe(0x0000_000c);
    expect(pci.readl(bdf, 0x14)).toBe(0);
  });

  it('sizes an IO BAR (all 32 bits writable, as QEMU, so the size arithmetic works)', () => {
    const { pci, bdf } = setup();
    expect(pci.readl(bdf, 0x20)).toBe(0x0000_0001);
    pci.writel(bdf, 0x20, 0xffff_ffff);
    expect(pci.readl(bdf, 0x20)).toBe(0xffff_ffc1);
    pci.writel(bdf, 0x20, 1);
    expect(pci.getBar(bdf, 4)).toEqual({ type: 'io', size: 0x40n, is64: false });
    // Unimplemented BAR slots read 0 and size to nothing.
    pci.writel(bdf, 0x18, 0xffff_ffff);
    expect(pci.readl(bdf, 0x18)).toBe(0);
  });

  it('reports a BAR when decode is enabled, when it moves, and when decode goes away', () => {
    const { dev, pci, bdf, changes, decode } = setup();
    pci.writel(bdf, 0x10, 0x0000_000c);
    pci.writel(bdf, 0x14, 0x0000_0001);
    pci.writel(bdf, 0x20, 0xc001);
    expect(changes).toEqual([]);
    pci.writew(bdf, 0x04, 0x0002);
    expect(changes).toEqual([{ index: 0, kind: 'mem64', size: 0x2000_0000, oldBase: null, newBase: 0x1_0000_0000 }]);
    expect(decode).toEqual([[false, true]]);
    pci.writew(bdf, 0x04, 0x0003);
    expect(changes[1]).toEqual({ index: 4, kind: 'io', size: 0x40, oldBase: null, newBase: 0xc000 });
    expect(dev.bar(4)).toEqual({ index: 4, kind: 'io', size: 0x40, prefetchable: false, base: 0xc000 });
    pci.writel(bdf, 0x10, 0x2000_000c);
    expect(changes[2]).toEqual({ index: 0, kind: 'mem64', size: 0x2000_0000, oldBase: 0x1_0000_0000, newBase: 0x1_2000_0000 });
    pci.writew(bdf, 0x04, 0x0001);
    expect(changes[3]).toEqual({ index: 0, kind: 'mem64', size: 0x2000_0000, oldBase: 0x1_2000_0000, newBase: null });
    expect(decode).toEqual([
      [false, true],
      [true, true],
      [true, false],
    ]);
    expect(changes).toHaveLength(4);
  });

  it('drops an IO BAR while it holds the sizing pattern with decode on, and restores it', () => {
    const { pci, bdf, changes } = setup();
    pci.writel(bdf, 0x20, 0xc041);
    pci.writew(bdf, 0x04, 0x0001);
    changes.length = 0;
    expect(pci.getBar(bdf, 4).size).toBe(0x40n);
    expect(changes.map((c) => c.newBase)).toEqual([null, 0xc040]);
  });

  it('reset() unmaps decoded BARs through the callback', () => {
    const { dev, pci, bdf, changes, decode } = setup();
    pci.writel(bdf, 0x20, 0xc001);
    pci.writew(bdf, 0x04, 0x0001);
    changes.length = 0;
    decode.length = 0;
    dev.reset();
    expect(changes).toEqual([{ index: 4, kind: 'io', size: 0x40, oldBase: 0xc000, newBase: null }]);
    expect(decode).toEqual([[false, false]]);
    expect(dev.bar(4)?.base).toBe(null);
  });
});
