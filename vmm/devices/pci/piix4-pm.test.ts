// Piix4Pm/PmIo/PiixGpe/PmTimer: SeaBIOS piix4_pm_config_setup (PMBASE 0x600 + PMIOSE), S5 power-off
// through PM1a_CNT (SeaBIOS and Linux sequences), SCI from PM1/GPE0, PM timer values and wrap on
// a driven clock, and monotonicity and cost on the real clock.

import { describe, expect, it } from 'vitest';
import type { MachineServices } from '../device.js';
import { bdfOf, PortIo, SeabiosPci } from './pci-firmware-sim.js';
import { PciHost } from './pci-host.js';
import { PM_TIMER_HZ, PiixGpe, Piix4Pm, PM_IO_SPAN, PmIo, PmTimer } from './piix4-pm.js';

const PM = bdfOf(0, 1, 3);

function setupPm() {
  const calls: Array<number | null> = [];
  const pm = new Piix4Pm({ onPmIoChange: (base) => calls.push(base) });
  const host = new PciHost();
  host.addFunction(pm);
  return { pm, calls, pci: new SeabiosPci(new PortIo(host)) };
}

function fakeServices() {
  const log = { powerOff: [] as string[], irq: [] as Array<[number, boolean]>, misuse: [] as string[] };
  const services: MachineServices = {
    setIrqLine: (gsi, level) => log.irq.push([gsi, level]),
    requestReset: () => {},
    requestPowerOff: (source) => log.powerOff.push(source),
    readGuest: () => new Uint8Array(0),
    writeGuest: () => {},
    emit: () => {},
    guestMisuse: (_device, what) => log.misuse.push(what),
  };
  return { services, log };
}

/** A PmIo on a hand-driven clock (ms). */
function setupIo() {
  let now = 0;
  const timer = new PmTimer({ clock: () => now });
  const { services, log } = fakeServices();
  const io = new PmIo(services, { timer });
  const read = (offset: number, size: number) => {
    const d = new Uint8Array(size);
    io.read(offset, d);
    return d.reduceRight((v, b) => v * 256 + b, 0);
  };
  const write = (offset: number, size: number, value: number) => {
    const d = new Uint8Array(size);
    for (let i = 0; i < size; i++) d[i] = (value >>> (8 * i)) & 0xff;
    io.write(offset, d);
  };
  return { io, log, read, write, setNow: (ms: number) => (now = ms) };
}

describe('Piix4Pm config', () => {
  it('identifies as 8086:7113 rev 03 class 0680, pin A, line 9, APMC_EN set', () => {
    const { pci } = setupPm();
    expect(pci.readl(PM, 0x00)).toBe(0x7113_8086);
    expect(pci.readl(PM, 0x08)).toBe(0x0680_0003);
    expect(pci.readb(PM, 0x0e)).toBe(0x00);
    expect(pci.readl(PM, 0x3c)).toBe(0x0000_0109);
    expect(pci.readl(PM, 0x58)).toBe(0x0200_0000);
    expect(pci.readl(PM, 0x40)).toBe(0x0000_0001);
    expect(pci.readb(PM, 0x80)).toBe(0);
  });

  it('SeaBIOS piix4_pm_config_setup: PMBASE 0x600 then PMIOSE decodes the block at 0x600', () => {
    const { pci, calls, pm } = setupPm();
    pci.writeb(PM, 0x3c, 10); // pci_bios_init_device, from the slot swizzle
    pci.writeb(PM, 0x3c, 9);
    pci.writel(PM, 0x40, 0x600 | 1);
    expect(calls).toEqual([]);
    pci.writeb(PM, 0x80, 0x01);
    pci.writel(PM, 0x90, 0x700 | 1);
    pci.writeb(PM, 0xd2, 0x09);
    expect(calls).toEqual([0x600]);
    expect(pm.pmIoBase()).toBe(0x600);
    expect(pci.readl(PM, 0x40)).toBe(0x0000_0601);
    expect(pci.readl(PM, 0x90)).toBe(0x0000_0701);
    expect(pci.readb(PM, 0xd2)).toBe(0x09);
    expect(pci.readb(PM, 0x3c)).toBe(9);
  });

  it('keeps PMBASE bit 0 at 1 and bits 5:1, 31:16 at 0; moves and disables the block', () => {
    const { pci, calls } = setupPm();
    pci.writeb(PM, 0x80, 0x01);
    expect(calls).toEqual([]); // PMBASE 0 is not decoded
    pci.writel(PM, 0x40, 0xb000);
    expect(pci.readl(PM, 0x40)).toBe(0x0000_b001);
    pci.writel(PM, 0x40, 0xffff_ffff);
    expect(pci.readl(PM, 0x40)).toBe(0x0000_ffc1);
    pci.writeb(PM, 0x80, 0xff);
    expect(pci.readb(PM, 0x80)).toBe(0x01);
    pci.writeb(PM, 0x80, 0x00);
    expect(calls).toEqual([0xb000, 0xffc0, null]);
  });

  it('reset() restores power-on config and reports the block gone', () => {
    const { pci, calls, pm } = setupPm();
    pci.writel(PM, 0x40, 0x601);
    pci.writeb(PM, 0x80, 1);
    pci.writel(PM, 0x58, 0);
    pm.reset();
    expect(calls).toEqual([0x600, null]);
    expect(pci.readl(PM, 0x40)).toBe(1);
    expect(pci.readl(PM, 0x58)).toBe(0x0200_0000);
  });
});

describe('PmIo', () => {
  it('has SCI_EN set at reset and spans 0x40 bytes', () => {
    const { read } = setupIo();
    expect(PM_IO_SPAN).toBe(0x40);
    expect(read(4, 2)).toBe(0x0001);
    expect(read(0, 2)).toBe(0x0000);
    expect(read(0x10, 1)).toBe(0xff);
  });

  it('powers off on SeaBIOS apm_shutdown: outw(0x2000, PM1a_CNT)', () => {
    const { write, log } = setupIo();
    write(4, 2, 0x2000);
    expect(log.powerOff).toEqual(['acpi-s5']);
  });

  it("powers off on Linux's S5 sequence only when SLP_EN is written; SLP_EN never reads back", () => {
    const { write, read, log } = setupIo();
    write(4, 2, 0x0001);
    expect(log.powerOff).toEqual([]);
    write(4, 2, 0x2001);
    expect(log.powerOff).toEqual(['acpi-s5']);
    expect(read(4, 2)).toBe(0x0001);
    // A byte write of the high half behaves like QEMU (merged with the low byte).
    write(5, 1, 0x20);
    expect(log.powerOff).toEqual(['acpi-s5', 'acpi-s5']);
  });

  it('does not power off for other sleep types; logs misuse and keeps SLP_TYP', () => {
    const { write, read, log } = setupIo();
    write(4, 2, 0x2401);
    expect(log.powerOff).toEqual([]);
    expect(log.misuse).toEqual(['sleep type 1 requested; only S5 (SLP_TYP 0) is supported']);
    expect(read(4, 2)).toBe(0x0401);
  });

  it('raises the SCI for an enabled power button and drops it on write-1-to-clear', () => {
    const { io, write, read, log } = setupIo();
    io.powerButton();
    expect(log.irq).toEqual([]);
    expect(read(0, 2)).toBe(0x0100);
    write(2, 2, 0x0100);
    expect(log.irq).toEqual([[9, true]]);
    write(0, 2, 0x0001); // clearing another bit leaves it
    expect(read(0, 2)).toBe(0x0100);
    write(0, 2, 0x0100);
    expect(read(0, 2)).toBe(0x0000);
    expect(log.irq).toEqual([
      [9, true],
      [9, false],
    ]);
  });

  it('reads the timer at +8 as 24 bits of 3.579545 MHz, wrapping', () => {
    const { read, setNow } = setupIo();
    expect(read(8, 4)).toBe(0);
    setNow(1);
    expect(read(8, 4)).toBe(3579);
    setNow(1000);
    expect(read(8, 4)).toBe(PM_TIMER_HZ);
    setNow(4686);
    expect(read(8, 4)).toBe(16_773_747);
    setNow(4687);
    expect(read(8, 4)).toBe(111);
    setNow(10_000);
    expect(read(8, 4)).toBe(2_241_018);
    expect(read(8, 2)).toBe(2_241_018 & 0xffff);
    expect(read(10, 1)).toBe(2_241_018 >>> 16);
    expect(read(11, 1)).toBe(0);
  });

  it('sets TMR_STS when timer bit 23 flips and clears it on write 1', () => {
    const { read, write, setNow, log } = setupIo();
    setNow(2343);
    expect(read(0, 2) & 1).toBe(0);
    setNow(2344);
    expect(read(0, 2) & 1).toBe(1);
    write(0, 2, 0x0001);
    expect(read(0, 2) & 1).toBe(0);
    setNow(4687);
    expect(read(0, 2) & 1).toBe(1);
    expect(log.irq).toEqual([]);
  });

  it('ignores and reports writes to the read-only timer', () => {
    const { read, write, log, setNow } = setupIo();
    setNow(1);
    write(8, 4, 0);
    expect(read(8, 4)).toBe(3579);
    expect(log.misuse).toEqual(['write to read-only PM_TMR', 'write to read-only PM_TMR']);
  });

  it('reset() restores power-on values and drops the SCI', () => {
    const { io, write, read, log } = setupIo();
    write(2, 2, 0x0100);
    write(4, 2, 0x0c00);
    io.powerButton();
    io.reset();
    expect(read(0, 2)).toBe(0);
    expect(read(2, 2)).toBe(0);
    expect(read(4, 2)).toBe(0x0001);
    expect(log.irq).toEqual([
      [9, true],
      [9, false],
    ]);
  });
});

describe('PiixGpe', () => {
  it('keeps status (write 1 to clear) and enable, and drives the SCI through PmIo', () => {
    const { io, log } = setupIo();
    const gpe = io.gpe;
    const rd = (o: number, n: number) => {
      const d = new Uint8Array(n);
      gpe.read(o, d);
      return d.reduceRight((v, b) => v * 256 + b, 0);
    };
    gpe.raise(1);
    expect(rd(0, 4)).toBe(0x0000_0002);
    expect(log.irq).toEqual([]);
    gpe.write(2, Uint8Array.of(0x02));
    expect(rd(0, 4)).toBe(0x0002_0002);
    expect(log.irq).toEqual([[9, true]]);
    gpe.write(0, Uint8Array.of(0x02, 0x00));
    expect(rd(0, 2)).toBe(0);
    expect(log.irq).toEqual([
      [9, true],
      [9, false],
    ]);
    expect(gpe.name).toBe('piix4-gpe0');
    expect(new PiixGpe().pending()).toBe(false);
  });
});

describe('PmTimer', () => {
  it('is monotonic (modulo 2^24) on the real clock and cheap', () => {
    const t = new PmTimer();
    let last = t.read();
    let total = 0;
    let backwards = 0;
    const start = performance.now();
    for (let i = 0; i < 1_000_000; i++) {
      const v = t.read();
      const delta = (v - last) & 0xff_ffff;
      if (delta >= 0x80_0000) backwards++;
      total += delta;
      last = v;
    }
    const ms = performance.now() - start;
    expect(backwards).toBe(0);
    expect(total).toBeGreaterThan(0);
    // A million reads in well under a second keeps OVMF's delay loops fast.
    expect(ms).toBeLessThan(1500);
  });

  it('shares the count with a PmTimer built from its epoch (as a vCPU worker would)', () => {
    const a = new PmTimer();
    const b = new PmTimer({ epochMs: a.epochMs });
    const before = a.ticks();
    const mid = b.ticks();
    const after = a.ticks();
    expect(mid).toBeGreaterThanOrEqual(before - 2);
    expect(mid).toBeLessThanOrEqual(after + 2);
  });
});
