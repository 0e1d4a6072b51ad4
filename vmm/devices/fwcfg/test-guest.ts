// Test support (no production code imports this): a fake MachineServices with flat guest RAM, and
// the guest side of fw_cfg done the way SeaBIOS rel-1.16.2 (src/fw/paravirt.c) and OVMF drive it:
// outw to 0x510, insb from 0x511, and DMA descriptors whose address is written with
// outl(cpu_to_be32(addr)) to 0x514/0x518 (so the port sees the big-endian bytes of the address).

import type { MachineServices } from '../device.js';
import { FwCfg, type FwCfgOptions } from './fwcfg.js';
import {
  FWCFG_DMA_CTL_READ,
  FWCFG_DMA_CTL_SELECT,
  FWCFG_PORT_DATA,
  FWCFG_PORT_DMA,
  FWCFG_PORT_DMA_LOW,
  FWCFG_PORT_SELECTOR,
} from './fwcfg-keys.js';

export interface FakeMachine {
  services: MachineServices;
  mem: Uint8Array;
  misuse: string[];
  events: Record<string, unknown>[];
}

/** Guest RAM [0, size); any access outside throws like an unmapped gpa. */
export function fakeMachine(size = 0x10_0000): FakeMachine {
  const mem = new Uint8Array(size);
  const misuse: string[] = [];
  const events: Record<string, unknown>[] = [];
  const check = (gpa: number, length: number) => {
    if (!Number.isInteger(gpa) || gpa < 0 || gpa + length > mem.length) {
      throw new Error(`unmapped gpa 0x${gpa.toString(16)} (+${length})`);
    }
  };
  const services: MachineServices = {
    setIrqLine() {},
    requestReset() {},
    requestPowerOff() {},
    readGuest(gpa, length) {
      check(gpa, length);
      return mem.slice(gpa, gpa + length);
    },
    writeGuest(gpa, bytes) {
      check(gpa, bytes.length);
      mem.set(bytes, gpa);
    },
    emit(event) {
      events.push(event);
    },
    guestMisuse(_device, what) {
      misuse.push(what);
    },
  };
  return { services, mem, misuse, events };
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** x86 port I/O against the device as the PIO bus would deliver it (value little-endian in data). */
export class Guest {
  constructor(
    readonly fw: FwCfg,
    readonly m: FakeMachine,
  ) {}

  out(port: number, size: 1 | 2 | 4, value: number): void {
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (value >>> (8 * i)) & 0xff;
    this.fw.write(port - FWCFG_PORT_SELECTOR, data);
  }

  in(port: number, size: 1 | 2 | 4): number {
    const data = new Uint8Array(size);
    this.fw.read(port - FWCFG_PORT_SELECTOR, data);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + data[i]!;
    return v;
  }

  select(key: number): void {
    this.out(FWCFG_PORT_SELECTOR, 2, key);
  }

  /** `insb` from the data port. */
  insb(count: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(this.in(FWCFG_PORT_DATA, 1));
    return out;
  }

  /** Put a descriptor at `at` and start it; returns the control word the device wrote back. */
  dma(at: number, control: number, length: number, address: number, opts: { high?: number } = {}): number {
    const view = new DataView(this.m.mem.buffer);
    view.setUint32(at, control >>> 0);
    view.setUint32(at + 4, length >>> 0);
    view.setUint32(at + 8, Math.floor(address / 0x1_0000_0000));
    view.setUint32(at + 12, address >>> 0);
    if (opts.high !== undefined) this.out(FWCFG_PORT_DMA, 4, bswap32(opts.high));
    this.out(FWCFG_PORT_DMA_LOW, 4, bswap32(at));
    return view.getUint32(at);
  }

  /** SeaBIOS qemu_cfg_read_entry with DMA: select + read in one descriptor; returns the bytes. */
  readEntry(key: number, length: number, desc = 0x1000, buf = 0x2000): Uint8Array {
    const control = this.dma(desc, ((key << 16) | FWCFG_DMA_CTL_SELECT | FWCFG_DMA_CTL_READ) >>> 0, length, buf);
    if (control !== 0) throw new Error(`DMA control ${control}`);
    return this.m.mem.slice(buf, buf + length);
  }

  /** SeaBIOS qemu_cfg_read with DMA: read from the current offset of the current item. */
  read(length: number, desc = 0x1000, buf = 0x2000): Uint8Array {
    const control = this.dma(desc, FWCFG_DMA_CTL_READ, length, buf);
    if (control !== 0) throw new Error(`DMA control ${control}`);
    return this.m.mem.slice(buf, buf + length);
  }
}

export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** A fresh device on a fake machine, with the guest that drives it. */
export function setupFwCfg(options?: FwCfgOptions): { m: FakeMachine; fw: FwCfg; g: Guest } {
  const m = fakeMachine();
  const fw = new FwCfg(m.services, options);
  return { m, fw, g: new Guest(fw, m) };
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** `n` bytes counting up from `start` (mod 256). */
export function seq(n: number, start = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
}
