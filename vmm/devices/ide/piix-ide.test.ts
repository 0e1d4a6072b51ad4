import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PioBus } from '../../bus/bus.js';
import { FakeServices } from '../legacy/test-services.js';
import { PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_COMMAND_IO } from '../pci/pci-function.js';
import { AtaDrive } from './ata-drive.js';
import { MemoryBackend } from './block-backend.js';
import { BMDMA_SPAN, defaultSerial, IDETIM_PRIMARY, IDETIM_SECONDARY, PiixIde, SIDETIM } from './piix-ide.js';
import { BMIBA, testPc } from './test-pc.js';

const drive = () => new AtaDrive(new MemoryBackend(16));

describe('PiixIde config space', () => {
  it('is 8086:7010 at 00:01.1, class 01/01/80, with QEMU reset values and no interrupt pin', () => {
    const ide = new PiixIde({ services: new FakeServices() });
    expect(ide.bdf).toEqual({ bus: 0, device: 1, function: 1 });
    expect([ide.readConfig(0, 2), ide.readConfig(2, 2)]).toEqual([0x8086, 0x7010]);
    expect(ide.readConfig(0x08, 4) >>> 8).toBe(0x01_01_80);
    expect(ide.readConfig(0x0e, 1)).toBe(0);
    expect([ide.readConfig(PCI_COMMAND, 2), ide.readConfig(0x06, 2)]).toEqual([0, 0x0280]);
    expect([ide.readConfig(0x2c, 2), ide.readConfig(0x2e, 2)]).toEqual([0x1af4, 0x1100]);
    expect(ide.readConfig(0x3d, 1)).toBe(0);
  });

  it("matches QEMU 7.2's query-pci for 00:01.1 after SeaBIOS (targets/qemu/testdata/query-pci-pc-7.2.json)", () => {
    type QueryPciDevice = { slot: number; function: number; irq_pin: number; class_info: { class: number }; id: Record<string, number>; regions: unknown[] };
    const path = new URL('../../../targets/qemu/testdata/query-pci-pc-7.2.json', import.meta.url);
    const bus0 = (JSON.parse(readFileSync(path, 'utf8')) as Array<{ devices: QueryPciDevice[] }>)[0]!;
    const qemu = bus0.devices.find((d) => d.slot === 1 && d.function === 1)!;
    const pc = testPc();
    const ide = pc.ide;
    const ours = {
      irq_pin: ide.readConfig(0x3d, 1),
      class: ide.readConfig(0x0a, 2),
      id: { vendor: ide.readConfig(0, 2), device: ide.readConfig(2, 2), 'subsystem-vendor': ide.readConfig(0x2c, 2), subsystem: ide.readConfig(0x2e, 2) },
      regions: [{ bar: 4, size: ide.bar(4)!.size, address: ide.bar(4)!.base, type: ide.bar(4)!.kind }],
    };
    expect(ours).toEqual({ irq_pin: qemu.irq_pin, class: qemu.class_info.class, id: qemu.id, regions: qemu.regions });
  });

  it('sizes BAR 4 as 16 I/O bytes and has no BARs 0-3 or 5', () => {
    const ide = new PiixIde({ services: new FakeServices() });
    for (let i = 0; i < 6; i++) ide.writeConfig(PCI_BASE_ADDRESS_0 + 4 * i, 4, 0xffff_ffff);
    expect([0, 1, 2, 3, 4, 5].map((i) => ide.readConfig(PCI_BASE_ADDRESS_0 + 4 * i, 4) >>> 0)).toEqual([0, 0, 0, 0, 0xffff_fff1, 0]);
  });

  it('keeps IDETIM and SIDETIM as written (SeaBIOS enables both channels, ata_piix reads bit 15)', () => {
    const ide = new PiixIde({ services: new FakeServices() });
    ide.writeConfig(IDETIM_PRIMARY, 2, 0x8000);
    ide.writeConfig(IDETIM_SECONDARY, 2, 0xa307);
    ide.writeConfig(SIDETIM, 1, 0x5a);
    ide.writeConfig(0x48, 1, 0xff);
    expect([ide.readConfig(0x41, 1), ide.readConfig(IDETIM_SECONDARY, 2), ide.readConfig(SIDETIM, 1), ide.readConfig(0x48, 1)]).toEqual([
      0x80, 0xa307, 0x5a, 0,
    ]);
    ide.reset();
    expect(ide.readConfig(IDETIM_PRIMARY, 4)).toBe(0);
  });

  it('reports BAR 4 where it decodes, and the bus-master block answers there', () => {
    const pio = new PioBus();
    const ide = new PiixIde({ services: new FakeServices() });
    const moves: Array<number | null> = [];
    ide.onBarChange = (c) => {
      moves.push(c.newBase);
      pio.move(ide.bmdma, c.newBase, BMDMA_SPAN);
    };
    ide.writeConfig(PCI_BASE_ADDRESS_0 + 16, 4, 0xc040);
    ide.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_IO);
    const data = new Uint8Array(4);
    pio.write(0xc044, Uint8Array.of(0x00, 0x10, 0, 0));
    pio.read(0xc044, data);
    expect([...data]).toEqual([0x00, 0x10, 0, 0]);
    ide.writeConfig(PCI_COMMAND, 2, 0);
    expect(moves).toEqual([0xc040, null]);
  });
});

describe('PiixIde drives, reset and stats', () => {
  it('refuses a slave without a master and one drive in two places', () => {
    expect(() => new PiixIde({ services: new FakeServices(), drives: { primarySlave: drive() } })).toThrow(/a slave without a master/);
    const d = drive();
    expect(() => new PiixIde({ services: new FakeServices(), drives: { primaryMaster: d, secondaryMaster: d } })).toThrow(/two positions/);
  });

  it('a machine reset restores the channels, the bus master and config space, and lowers a raised IRQ', () => {
    const pc = testPc();
    pc.outb(0x1f7, 0xe7);
    pc.outb(BMIBA + 4, 0x40);
    expect(pc.machine.level(14)).toBe(true);
    pc.ide.reset();
    expect(pc.machine.level(14)).toBe(false);
    expect(pc.ide.readConfig(PCI_COMMAND, 2)).toBe(0);
    expect([pc.ide.primary.dma.readByte(4), pc.inb(0x1f7), pc.inb(0x1f2)]).toEqual([0, 0x50, 1]);
    // Counters cover the whole run.
    expect(pc.ide.stats().primary.interruptsRaised).toBe(1);
  });

  it('counts per channel: commands by opcode, interrupts on IRQ 14 and 15', () => {
    const pc = testPc({ primaryMaster: drive(), secondaryMaster: new AtaDrive(new MemoryBackend(16), { serial: defaultSerial(2) }) });
    pc.outb(0x1f7, 0xe7);
    pc.inb(0x1f7);
    pc.outb(0x177, 0xec);
    const words = Array.from({ length: 256 }, () => pc.inw(0x170));
    const serial = words.slice(10, 20).map((w) => String.fromCharCode(w >> 8, w & 0xff)).join('');
    expect(serial.trimEnd()).toBe('QM00003');
    expect(pc.inb(0x177)).toBe(0x50);
    const stats = pc.ide.stats();
    expect(stats.primary).toMatchObject({ irq: 14, commands: { '0xe7': 1 }, interruptsRaised: 1, interruptsRequested: 1 });
    expect(stats.secondary).toMatchObject({ irq: 15, commands: { '0xec': 1 }, interruptsRaised: 1, dmaTransfers: 0 });
    expect(pc.machine.risingEdges(15)).toBe(1);
  });

  it('refuses IDENTIFY strings that do not fit', () => {
    expect(() => new AtaDrive(new MemoryBackend(1), { model: 'x'.repeat(41) })).toThrow(/ATA drive model/);
    expect(() => new AtaDrive(new MemoryBackend(1), { serial: 'naïve' })).toThrow(/ATA drive serial/);
  });
});
