import { describe, expect, it } from 'vitest';
import { MmioBus, PioBus } from '../../bus/bus.js';
import { PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY } from './pci-function.js';
import { parseTestBars, PCI_TEST_DEVICE_ID, PCI_TEST_VENDOR_ID, PciTestDevice } from './pci-test-device.js';

const GiB = 2 ** 30;

function device(spec: string) {
  const buses = { pio: new PioBus(), mmio: new MmioBus() };
  const misuse: string[] = [];
  const dev = new PciTestDevice({ bus: 0, device: 2, function: 0 }, parseTestBars(spec), buses, (w) => misuse.push(w));
  return { dev, buses, misuse };
}

/** Size a BAR the way SeaBIOS does: save, write all ones, read the mask, restore. */
function sizeBar(dev: PciTestDevice, index: number): number {
  const off = 0x10 + 4 * index;
  const old = dev.readConfig(off, 4);
  dev.writeConfig(off, 4, 0xffff_ffff);
  const mask = dev.readConfig(off, 4);
  dev.writeConfig(off, 4, old);
  return mask;
}

describe('parseTestBars', () => {
  it('parses kinds, prefetchable and size suffixes', () => {
    expect(parseTestBars('mem64pref:32G,mem32:512M,io:256')).toEqual([
      { kind: 'mem64', prefetchable: true, size: 32 * GiB },
      { kind: 'mem32', prefetchable: false, size: 512 * 2 ** 20 },
      { kind: 'io', prefetchable: false, size: 256 },
    ]);
  });
  it('rejects bad kinds, prefetchable IO and more than 6 slots with the fix', () => {
    expect(() => parseTestBars('rom:4K')).toThrow(/invalid PCI test-device BAR "rom:4K"/);
    expect(() => parseTestBars('iopref:16')).toThrow(/invalid|prefetchable/);
    expect(() => parseTestBars('mem64:4K,mem64:4K,mem64:4K,io:16')).toThrow(/needs 7 BAR slots; a function has 6/);
  });
});

describe('PciTestDevice', () => {
  it("answers with QEMU pci-testdev's IDs", () => {
    const { dev } = device('mem32:4K');
    expect(dev.readConfig(0, 2)).toBe(PCI_TEST_VENDOR_ID);
    expect(dev.readConfig(2, 2)).toBe(PCI_TEST_DEVICE_ID);
  });
  it('sizes a 32 GiB 64-bit prefetchable BAR over two dwords', () => {
    const { dev } = device('mem64pref:32G');
    expect(sizeBar(dev, 0)).toBe(0x0000_000c); // low dword: all address bits fixed, type 64-bit prefetchable
    expect(sizeBar(dev, 1)).toBe(0xffff_fff8); // high dword: 32 GiB = 2^35
  });
  it('maps a BAR on the bus only while decode is on, and moves it with the BAR', () => {
    const { dev, buses } = device('mem32:512M,io:256');
    dev.writeConfig(0x10, 4, 0xc000_0000);
    dev.writeConfig(0x14, 4, 0xc100);
    expect(buses.mmio.find(0xc000_0000)).toBeUndefined();
    dev.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    expect(buses.mmio.find(0xdfff_ffff)?.device.name).toBe('pci-test@00:02.0-bar0');
    expect(buses.pio.find(0xc1ff)?.device.name).toBe('pci-test@00:02.0-bar1');
    dev.writeConfig(0x10, 4, 0xa000_0000);
    expect(buses.mmio.find(0xc000_0000)).toBeUndefined();
    expect(buses.mmio.find(0xa000_0000)).toBeDefined();
  });
  it('reports programmed addresses, 64-bit ones included, whether decoded or not', () => {
    const { dev } = device('mem64pref:32G,mem32:4K');
    dev.writeConfig(0x10, 4, 0x0000_000c);
    dev.writeConfig(0x14, 4, 0x8);
    expect(dev.assignments()).toEqual([
      { bdf: '00:02.0', device: 'pci-test@00:02.0', index: 0, kind: 'mem64', prefetchable: true, size: 32 * GiB, address: 32 * GiB, decoded: false, firstDecoded: null },
      { bdf: '00:02.0', device: 'pci-test@00:02.0', index: 2, kind: 'mem32', prefetchable: false, size: 4096, address: 0, decoded: false, firstDecoded: null },
    ]);
  });
  it('remembers where a BAR was when decode first came on (the firmware), apart from where the OS moved it', () => {
    const { dev } = device('mem32:1M');
    dev.writeConfig(0x10, 4, 0xe000_0000);
    dev.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    dev.writeConfig(PCI_COMMAND, 2, 0); // the OS sizes with decode off
    dev.writeConfig(0x10, 4, 0xf000_0000);
    dev.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    expect(dev.assignments()[0]).toMatchObject({ address: 0xf000_0000, decoded: true, firstDecoded: 0xe000_0000 });
  });
  it('leaves a BAR unmapped and reports misuse when the guest overlaps another region', () => {
    const { dev, buses, misuse } = device('mem32:4K');
    buses.mmio.insert(0xfec0_0000, 0x1000, { name: 'ioapic', read: () => {}, write: () => {} });
    dev.writeConfig(0x10, 4, 0xfec0_0000);
    dev.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    expect(buses.mmio.find(0xfec0_0000)?.device.name).toBe('ioapic');
    expect(misuse[0]).toMatch(/BAR 0 at 0xfec00000: .*overlaps ioapic/);
  });
});
