// Test support (not used by the VMM): the PCI configuration accesses SeaBIOS 1.16.2 makes, written
// again in TypeScript so unit tests can replay them against our chipset. Follows src/hw/pci.c
// (pci_config_read*/write*, pci_probe_host, pci_next), src/fw/pciinit.c (pci_bios_get_bar) and
// src/fw/shadow.c (make_bios_writable_intel / make_bios_readonly_intel) access by access.
// The port dispatcher mimics the machine's PIO bus as the lead registers it: dispatch by start
// port, CONFIG_ADDRESS at 0xCF8 with span 1, 0xCF9-0xCFB unassigned here (reads all ones),
// CONFIG_DATA at 0xCFC span 4.
// Left out: everything in those files that is not a config-space access (copying the BIOS, ROM
// placement, bridges).

import { BIOS_SEGMENT_BASE, PAM_AREA_BASE } from '../../layout.js';
import { getLE, setLE } from '../device.js';
import type { PciHost } from './pci-host.js';

export const PORT_PCI_CMD = 0xcf8;
export const PORT_PCI_DATA = 0xcfc;

/** outb/outw/outl/inb/inw/inl over a PciHost, counting accesses that hit no device. */
export class PortIo {
  unassigned = 0;
  constructor(private readonly host: PciHost) {}

  out(port: number, size: number, value: number): void {
    const data = new Uint8Array(size);
    setLE(data, value);
    if (port === PORT_PCI_CMD) this.host.addressPort.write(0, data);
    else if (port >= PORT_PCI_DATA && port < PORT_PCI_DATA + 4) this.host.dataPort.write(port - PORT_PCI_DATA, data);
    else this.unassigned++;
  }

  in(port: number, size: number): number {
    const data = new Uint8Array(size);
    if (port === PORT_PCI_CMD) this.host.addressPort.read(0, data);
    else if (port >= PORT_PCI_DATA && port < PORT_PCI_DATA + 4) this.host.dataPort.read(port - PORT_PCI_DATA, data);
    else {
      this.unassigned++;
      data.fill(0xff);
    }
    return getLE(data);
  }

  outb(value: number, port: number): void {
    this.out(port, 1, value);
  }
  outw(value: number, port: number): void {
    this.out(port, 2, value);
  }
  outl(value: number, port: number): void {
    this.out(port, 4, value);
  }
  inb(port: number): number {
    return this.in(port, 1);
  }
  inw(port: number): number {
    return this.in(port, 2);
  }
  inl(port: number): number {
    return this.in(port, 4);
  }
}

/** SeaBIOS's 16-bit bdf: bus << 8 | device << 3 | function. */
export function bdfOf(bus: number, device: number, fn: number): number {
  return (bus << 8) | (device << 3) | fn;
}

function cmd(bdf: number, addr: number): number {
  return (0x8000_0000 | (bdf << 8) | (addr & 0xfc)) >>> 0;
}

/** SeaBIOS pci_config_{read,write}{b,w,l}: latch the dword, then access the data port lane. */
/** The port instructions SeabiosPci uses: a PortIo, or any bus the caller drives (the device fuzzer's machine). */
export type PortInstructions = Pick<PortIo, 'outb' | 'outw' | 'outl' | 'inb' | 'inw' | 'inl'>;

export class SeabiosPci {
  constructor(readonly io: PortInstructions) {}

  writel(bdf: number, addr: number, val: number): void {
    this.io.outl(cmd(bdf, addr), PORT_PCI_CMD);
    this.io.outl(val >>> 0, PORT_PCI_DATA);
  }
  writew(bdf: number, addr: number, val: number): void {
    this.io.outl(cmd(bdf, addr), PORT_PCI_CMD);
    this.io.outw(val & 0xffff, PORT_PCI_DATA + (addr & 2));
  }
  writeb(bdf: number, addr: number, val: number): void {
    this.io.outl(cmd(bdf, addr), PORT_PCI_CMD);
    this.io.outb(val & 0xff, PORT_PCI_DATA + (addr & 3));
  }
  readl(bdf: number, addr: number): number {
    this.io.outl(cmd(bdf, addr), PORT_PCI_CMD);
    return this.io.inl(PORT_PCI_DATA);
  }
  readw(bdf: number, addr: number): number {
    this.io.outl(cmd(bdf, addr), PORT_PCI_CMD);
    return this.io.inw(PORT_PCI_DATA + (addr & 2));
  }
  readb(bdf: number, addr: number): number {
    this.io.outl(cmd(bdf, addr), PORT_PCI_CMD);
    return this.io.inb(PORT_PCI_DATA + (addr & 3));
  }

  /** pci_probe_host: is there a mechanism-#1 host bridge at all? */
  probeHost(): boolean {
    this.io.outl(0x8000_0000, PORT_PCI_CMD);
    return this.io.inl(PORT_PCI_CMD) === 0x8000_0000;
  }

  /** pci_next: the next present bdf on `bus` after `bdf`, or -1. */
  next(bdf: number, bus: number): number {
    let b = bdf;
    if ((b & 7) === 0 && (this.readb(b, 0x0e) & 0x80) === 0) b += 8;
    else b += 1;
    for (;;) {
      if (b >> 8 !== bus) return -1;
      const v = this.readw(b, 0x00);
      if (v !== 0x0000 && v !== 0xffff) return b;
      b += (b & 7) === 0 ? 8 : 1;
    }
  }

  /** foreachbdf(bdf, bus): every present function on `bus`, in scan order. */
  scan(bus: number): number[] {
    const found: number[] = [];
    for (let b = this.next(bdfOf(bus, 0, 0) - 1, bus); b >= 0; b = this.next(b, bus)) found.push(b);
    return found;
  }

  /** pci_bios_get_bar for BAR `bar` (0-5): size the BAR and restore it. */
  getBar(bdf: number, bar: number): { type: 'io' | 'mem' | 'prefmem'; size: bigint; is64: boolean } {
    const ofs = 0x10 + bar * 4;
    const old = this.readl(bdf, ofs);
    let is64 = false;
    let type: 'io' | 'mem' | 'prefmem' = 'mem';
    let mask: bigint;
    if (old & 0x1) {
      mask = 0xffff_fffcn;
      type = 'io';
    } else {
      mask = 0xffff_fff0n;
      if (old & 0x8) type = 'prefmem';
      is64 = (old & 0x6) === 0x4;
    }
    this.writel(bdf, ofs, 0xffff_ffff);
    let val = BigInt(this.readl(bdf, ofs));
    this.writel(bdf, ofs, old);
    const u64 = (1n << 64n) - 1n;
    let size: bigint;
    if (is64) {
      const hold = this.readl(bdf, ofs + 4);
      this.writel(bdf, ofs + 4, 0xffff_ffff);
      const high = BigInt(this.readl(bdf, ofs + 4));
      this.writel(bdf, ofs + 4, hold);
      val |= high << 32n;
      mask |= 0xffff_ffffn << 32n;
      size = (~(val & mask) + 1n) & u64;
    } else {
      size = (~(val & mask) + 1n) & mask;
    }
    return { type, size, is64 };
  }

  /** make_bios_writable_intel for the i440FX (PAM0 at 0x59), config accesses only. */
  makeBiosWritable(bdf: number, pam0 = 0x59): void {
    // SeaBIOS first checks whether RAM already backs the BIOS segment, to decide where to run from.
    this.readb(bdf, pam0);
    const pam = this.readPam(bdf, pam0);
    const at = pam0 & 3;
    for (let i = 0; i < 6; i++) pam[at + i + 1] = 0x33;
    pam[at] = 0x30;
    this.writePam(bdf, pam0, pam);
  }

  /**
   * make_bios_readonly_intel: write-protect 0xC0000-0xEFFFF up to the option ROMs' end (`romlast`)
   * and the upper-memory allocation limit (`rommax`), then the BIOS segment. With romlast =
   * rommax = 0xF0000 (no upper-memory use) every granule becomes read-only.
   */
  makeBiosReadonly(bdf: number, romlast = BIOS_SEGMENT_BASE, rommax = BIOS_SEGMENT_BASE, pam0 = 0x59): void {
    const pam = this.readPam(bdf, pam0);
    const at = pam0 & 3;
    for (let i = 0; i < 6; i++) {
      const mem = PAM_AREA_BASE + i * 32 * 1024;
      if (romlast < mem + 16 * 1024 || rommax < mem + 32 * 1024) {
        if (romlast >= mem && rommax >= mem + 16 * 1024) pam[at + i + 1] = 0x31;
        break;
      }
      pam[at + i + 1] = 0x11;
    }
    pam[at] = 0x10;
    this.writePam(bdf, pam0, pam);
  }

  private readPam(bdf: number, pam0: number): Uint8Array {
    const base = pam0 & ~3;
    const view = new DataView(new ArrayBuffer(8));
    view.setUint32(0, this.readl(bdf, base), true);
    view.setUint32(4, this.readl(bdf, base + 4), true);
    return new Uint8Array(view.buffer);
  }

  private writePam(bdf: number, pam0: number, pam: Uint8Array): void {
    const base = pam0 & ~3;
    const view = new DataView(pam.buffer);
    this.writel(bdf, base, view.getUint32(0, true));
    this.writel(bdf, base + 4, view.getUint32(4, true));
  }
}
