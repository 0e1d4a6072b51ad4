// Test support (no production code imports this): the PIIX3 IDE function on a real PioBus at the
// legacy ports, its BAR 4 placed and enabled the way SeaBIOS leaves it (BMIBA 0xC000, I/O decode,
// IDETIM decode enable) plus bus mastering as Linux's ata_piix turns it on, and a MachineServices
// fake with flat guest RAM whose readGuest/writeGuest throw outside it, as vmm/machine/machine.ts
// does. Port helpers are named after the x86 instructions the guest drivers use.

import { PioBus } from '../../bus/bus.js';
import { getLE, setLE } from '../device.js';
import { FakeServices } from '../legacy/test-services.js';
import { PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_COMMAND_IO } from '../pci/pci-function.js';
import { AtaDrive } from './ata-drive.js';
import { MemoryBackend, SECTOR_SIZE } from './block-backend.js';
import {
  BMDMA_SPAN,
  BMIBA_BAR,
  IDE_COMMAND_SPAN,
  IDE_CONTROL_SPAN,
  IDE_PRIMARY_COMMAND_BASE,
  IDE_PRIMARY_CONTROL_PORT,
  IDE_SECONDARY_COMMAND_BASE,
  IDE_SECONDARY_CONTROL_PORT,
  IDETIM_DECODE_ENABLE,
  IDETIM_PRIMARY,
  IDETIM_SECONDARY,
  type PiixIdeDrives,
  PiixIde,
} from './piix-ide.js';

/** Where the tests' firmware put BAR 4. */
export const BMIBA = 0xc000;
const PCI_COMMAND_MASTER = 0x0004;

/** FakeServices with guest RAM [0, size); any access outside throws like an unmapped gpa. */
export class RamServices extends FakeServices {
  readonly ram: Uint8Array;
  constructor(size: number) {
    super();
    this.ram = new Uint8Array(size);
  }
  private check(gpa: number, length: number): void {
    if (!Number.isInteger(gpa) || gpa < 0 || gpa + length > this.ram.length) {
      throw new Error(`guest DMA to 0x${gpa.toString(16)}+${length} is outside guest RAM`);
    }
  }
  override readGuest(gpa: number, length: number): Uint8Array {
    this.check(gpa, length);
    return this.ram.slice(gpa, gpa + length);
  }
  override writeGuest(gpa: number, bytes: Uint8Array): void {
    this.check(gpa, bytes.length);
    this.ram.set(bytes, gpa);
  }
}

/** A memory disk whose sector n holds bytes (n * 7 + i) & 0xff, so any misplaced sector shows. */
export function patternDisk(sectors: number): MemoryBackend {
  const bytes = new Uint8Array(sectors * SECTOR_SIZE);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (Math.floor(i / SECTOR_SIZE) * 7 + i) & 0xff;
  return new MemoryBackend(bytes);
}

export interface TestPc {
  ide: PiixIde;
  pio: PioBus;
  machine: RamServices;
  inb(port: number): number;
  inw(port: number): number;
  inl(port: number): number;
  outb(port: number, value: number): void;
  outw(port: number, value: number): void;
  outl(port: number, value: number): void;
}

/** A PIIX3 IDE with `drives` (default: one 64-sector pattern disk as primary master), RAM of `ramSize`. */
export function testPc(drives?: PiixIdeDrives, ramSize = 0x10_0000): TestPc {
  const machine = new RamServices(ramSize);
  const pio = new PioBus();
  const ide = new PiixIde({ services: machine, drives: drives ?? { primaryMaster: new AtaDrive(patternDisk(64)) } });
  pio.insert(IDE_PRIMARY_COMMAND_BASE, IDE_COMMAND_SPAN, ide.primary.commandBlock);
  pio.insert(IDE_PRIMARY_CONTROL_PORT, IDE_CONTROL_SPAN, ide.primary.control);
  pio.insert(IDE_SECONDARY_COMMAND_BASE, IDE_COMMAND_SPAN, ide.secondary.commandBlock);
  pio.insert(IDE_SECONDARY_CONTROL_PORT, IDE_CONTROL_SPAN, ide.secondary.control);
  ide.onBarChange = (c) => pio.move(ide.bmdma, c.newBase, BMDMA_SPAN);
  ide.writeConfig(PCI_BASE_ADDRESS_0 + 4 * BMIBA_BAR, 4, BMIBA);
  ide.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
  ide.writeConfig(IDETIM_PRIMARY, 2, IDETIM_DECODE_ENABLE);
  ide.writeConfig(IDETIM_SECONDARY, 2, IDETIM_DECODE_ENABLE);
  const read = (port: number, size: number) => {
    const data = new Uint8Array(size);
    pio.read(port, data);
    return getLE(data);
  };
  const write = (port: number, value: number, size: number) => {
    const data = new Uint8Array(size);
    setLE(data, value);
    pio.write(port, data);
  };
  return {
    ide,
    pio,
    machine,
    inb: (p) => read(p, 1),
    inw: (p) => read(p, 2),
    inl: (p) => read(p, 4),
    outb: (p, v) => write(p, v, 1),
    outw: (p, v) => write(p, v, 2),
    outl: (p, v) => write(p, v, 4),
  };
}
