// PciHost (mechanism #1): the 0xCF8 latch (dword only, reads back), byte/word/dword lanes of
// 0xCFC, SeaBIOS's probe and bus-0 scan over the pc functions, all ones for absent functions.

import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../errors.js';
import { I440fx } from './i440fx.js';
import { bdfOf, PORT_PCI_CMD, PORT_PCI_DATA, PortIo, SeabiosPci } from './pci-firmware-sim.js';
import { PciFunction } from './pci-function.js';
import { configAddress, PciHost } from './pci-host.js';
import { Piix3 } from './piix3.js';
import { Piix4Pm } from './piix4-pm.js';

/** The `pc` machine's bus 0 as QEMU 7.2 presents it to SeaBIOS: four functions (docs/platform.md). */
function pcBus() {
  const host = new PciHost();
  host.addFunction(new I440fx());
  host.addFunction(new Piix3());
  const ide = new PciFunction('piix3-ide', { bus: 0, device: 1, function: 1 });
  ide.setIds(0x8086, 0x7010);
  ide.setClass(0x01_01_80);
  host.addFunction(ide);
  host.addFunction(new Piix4Pm());
  const io = new PortIo(host);
  return { host, io, pci: new SeabiosPci(io) };
}

describe('PciHost CONFIG_ADDRESS latch', () => {
  it('passes SeaBIOS pci_probe_host and reads back all 32 bits written', () => {
    const { pci, io } = pcBus();
    expect(pci.probeHost()).toBe(true);
    io.outl(0x7f12_3457, PORT_PCI_CMD);
    expect(io.inl(PORT_PCI_CMD)).toBe(0x7f12_3457);
  });

  it('is not the latch for byte and word accesses: writes ignored, reads all ones', () => {
    const { io, host } = pcBus();
    io.outl(0x8000_0800, PORT_PCI_CMD);
    io.outb(0x00, PORT_PCI_CMD);
    io.outw(0x0000, PORT_PCI_CMD);
    expect(host.configAddress).toBe(0x8000_0800);
    expect(io.inb(PORT_PCI_CMD)).toBe(0xff);
    expect(io.inw(PORT_PCI_CMD)).toBe(0xffff);
    // Linux's pci_check_type1 pokes 0xCFB with a byte: that is not our device at all.
    io.outb(0x01, PORT_PCI_CMD + 3);
    expect(io.inl(PORT_PCI_CMD)).toBe(0x8000_0800);
  });

  it('builds addresses as firmware does', () => {
    expect(configAddress(0, 1, 3, 0x42)).toBe(0x8000_0b40);
  });
});

describe('PciHost CONFIG_DATA', () => {
  it('finds exactly the four pc functions with SeaBIOS pci_next (byte, word reads)', () => {
    const { pci } = pcBus();
    expect(pci.scan(0)).toEqual([bdfOf(0, 0, 0), bdfOf(0, 1, 0), bdfOf(0, 1, 1), bdfOf(0, 1, 3)]);
    expect(pci.scan(1)).toEqual([]);
  });

  it('reads IDs through dword, word and byte lanes', () => {
    const { pci } = pcBus();
    const hb = bdfOf(0, 0, 0);
    expect(pci.readl(hb, 0x00)).toBe(0x1237_8086);
    expect(pci.readw(hb, 0x00)).toBe(0x8086);
    expect(pci.readw(hb, 0x02)).toBe(0x1237);
    expect(pci.readb(hb, 0x01)).toBe(0x80);
    expect(pci.readb(hb, 0x03)).toBe(0x12);
    expect(pci.readw(bdfOf(0, 1, 0), 0x0a)).toBe(0x0601);
    expect(pci.readb(bdfOf(0, 1, 0), 0x0e)).toBe(0x80);
    expect(pci.readl(bdfOf(0, 1, 3), 0x00)).toBe(0x7113_8086);
  });

  it('reads all ones from absent functions, other buses and with the enable bit clear', () => {
    const { pci, io } = pcBus();
    expect(pci.readl(bdfOf(0, 2, 0), 0)).toBe(0xffff_ffff);
    expect(pci.readw(bdfOf(0, 1, 2), 0)).toBe(0xffff);
    expect(pci.readb(bdfOf(0, 31, 7), 0x0e)).toBe(0xff);
    expect(pci.readl(bdfOf(1, 0, 0), 0)).toBe(0xffff_ffff);
    io.outl(0x0000_0000, PORT_PCI_CMD);
    expect(io.inl(PORT_PCI_DATA)).toBe(0xffff_ffff);
    expect(io.inw(PORT_PCI_DATA + 2)).toBe(0xffff);
  });

  it('drops writes to absent functions and with the enable bit clear', () => {
    const { pci, io } = pcBus();
    pci.writel(bdfOf(0, 2, 0), 0x04, 0x7);
    io.outl(0x0000_0058, PORT_PCI_CMD);
    io.outl(0x3333_3000, PORT_PCI_DATA);
    expect(pci.readl(bdfOf(0, 0, 0), 0x58)).toBe(0);
  });

  it('addresses (latch & 0xFC) + port offset for every lane', () => {
    const { pci, io } = pcBus();
    const hb = bdfOf(0, 0, 0);
    pci.writel(hb, 0x5c, 0x3322_1100);
    io.outl(configAddress(0, 0, 0, 0x5c) | 0x3, PORT_PCI_CMD);
    expect(io.inb(PORT_PCI_DATA + 1)).toBe(0x11);
    expect(io.inw(PORT_PCI_DATA + 2)).toBe(0x3322);
    expect(io.inl(PORT_PCI_DATA)).toBe(0x3322_1100);
  });
});

describe('PciHost functions', () => {
  it('refuses a BDF that is taken, or a bus other than 0', () => {
    const { host } = pcBus();
    let err: unknown;
    try {
      host.addFunction(new PciFunction('dup', { bus: 0, device: 1, function: 3 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BootgateError);
    expect((err as BootgateError).code).toBe('E_CONFIG');
    expect((err as BootgateError).message).toMatch(/00:01\.3 is taken by piix4-pm/);
    expect(() => host.addFunction(new PciFunction('b1', { bus: 1, device: 0, function: 0 }))).toThrow(/bus/);
  });

  it('lists functions in BDF order and reset() clears the latch and every function', () => {
    const { host, pci, io } = pcBus();
    expect(host.functions().map((f) => f.name)).toEqual(['i440fx', 'piix3', 'piix3-ide', 'piix4-pm']);
    pci.writeb(bdfOf(0, 1, 0), 0x60, 10);
    host.reset();
    expect(io.inl(PORT_PCI_CMD)).toBe(0);
    expect(pci.readb(bdfOf(0, 1, 0), 0x60)).toBe(0x80);
  });
});

describe('PciHost configuration image (native vCPU threads answer CONFIG_DATA reads from it)', () => {
  it('tells which function a CONFIG_DATA write changed, and every function after a reset; reads tell nothing', () => {
    const { host, io } = pcBus();
    const told: Array<number | undefined> = [];
    host.onConfigChange = (devfn) => told.push(devfn);
    io.outl(configAddress(0, 1, 3, 0x40), PORT_PCI_CMD);
    io.outl(0x0601, PORT_PCI_DATA);
    io.inl(PORT_PCI_DATA);
    io.outl(configAddress(0, 9, 0, 0x04), PORT_PCI_CMD); // nobody there: nothing changed
    io.outw(0x0007, PORT_PCI_DATA);
    host.reset();
    expect(told).toEqual([(1 << 3) | 3, undefined]);
  });

  it('the image holds what CONFIG_DATA reads: each present function\'s 256 bytes, none where nothing is', () => {
    const { host, io } = pcBus();
    io.outl(configAddress(0, 1, 3, 0x40), PORT_PCI_CMD);
    io.outl(0x0601, PORT_PCI_DATA);
    const image = host.configImage();
    expect(image).toHaveLength(256);
    const pm = image[(1 << 3) | 3]!.config!;
    for (let reg = 0; reg < 256; reg += 4) {
      io.outl(configAddress(0, 1, 3, reg), PORT_PCI_CMD);
      expect(new DataView(pm.buffer, pm.byteOffset).getUint32(reg, true)).toBe(io.inl(PORT_PCI_DATA));
    }
    expect(image[(9 << 3) | 0]!.config).toBeUndefined();
    expect(host.configImage((1 << 3) | 3)).toEqual([{ devfn: (1 << 3) | 3, config: pm }]);
  });
});
