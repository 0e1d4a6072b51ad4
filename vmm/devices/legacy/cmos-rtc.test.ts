import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../errors.js';
import { GiB, MiB, splitRam } from '../../layout.js';
import { CmosRtc, encodeBootOrder } from './cmos-rtc.js';
import { FakeServices, inp, outp } from './test-services.js';

function cmos(ramSize: number, extra: { cpus?: number; now?: () => Date } = {}) {
  const services = new FakeServices();
  const { low, high } = splitRam(ramSize);
  const dev = new CmosRtc(services, { ramBelow4G: low, ramAbove4G: high, cpus: extra.cpus ?? 1, now: extra.now });
  return { services, dev };
}

function rd(dev: CmosRtc, index: number): number {
  outp(dev, 0, index);
  return inp(dev, 1);
}

function wr(dev: CmosRtc, index: number, value: number): void {
  outp(dev, 0, index);
  outp(dev, 1, value);
}

/** The memory-size bytes SeaBIOS and OVMF read, as little-endian values. */
function memoryFields(dev: CmosRtc) {
  return {
    base: rd(dev, 0x15) | (rd(dev, 0x16) << 8),
    ext: rd(dev, 0x17) | (rd(dev, 0x18) << 8),
    ext2: rd(dev, 0x30) | (rd(dev, 0x31) << 8),
    above16M: rd(dev, 0x34) | (rd(dev, 0x35) << 8),
    above4G: rd(dev, 0x5b) | (rd(dev, 0x5c) << 8) | (rd(dev, 0x5d) << 16),
  };
}

describe('CmosRtc memory and platform presets', () => {
  it('encodes 512 MiB', () => {
    const { dev } = cmos(512 * MiB);
    expect(memoryFields(dev)).toEqual({ base: 640, ext: 0xffff, ext2: 0xffff, above16M: 0x1f00, above4G: 0 });
    expect([rd(dev, 0x34), rd(dev, 0x35)]).toEqual([0x00, 0x1f]);
  });

  it('encodes 3 GiB (all below 4 GiB on pc)', () => {
    const { dev } = cmos(3 * GiB);
    expect(memoryFields(dev)).toEqual({ base: 640, ext: 0xffff, ext2: 0xffff, above16M: 0xbf00, above4G: 0 });
  });

  it('encodes 3.5 GiB as 3 GiB low + 0.5 GiB above 4 GiB (QEMU pc gigabyte alignment)', () => {
    const { dev } = cmos(3.5 * GiB);
    expect(memoryFields(dev)).toEqual({ base: 640, ext: 0xffff, ext2: 0xffff, above16M: 0xbf00, above4G: 0x2000 });
  });

  it('encodes 8 GiB as 3 GiB low + 5 GiB above 4 GiB', () => {
    const { dev } = cmos(8 * GiB);
    expect(memoryFields(dev)).toEqual({ base: 640, ext: 0xffff, ext2: 0xffff, above16M: 0xbf00, above4G: 0x1_4000 });
    expect([rd(dev, 0x5b), rd(dev, 0x5c), rd(dev, 0x5d)]).toEqual([0x00, 0x40, 0x01]);
  });

  it('encodes small RAM without capping (16 MiB)', () => {
    const { dev } = cmos(16 * MiB);
    expect(memoryFields(dev)).toEqual({ base: 640, ext: 15 * 1024, ext2: 15 * 1024, above16M: 0, above4G: 0 });
  });

  it("stores CPUs - 1, QEMU's equipment byte, no floppies, boot order 'cad'", () => {
    const { dev } = cmos(512 * MiB, { cpus: 4 });
    expect(rd(dev, 0x5f)).toBe(3);
    expect(rd(dev, 0x14)).toBe(0x06);
    expect(rd(dev, 0x10)).toBe(0x00);
    expect(rd(dev, 0x3d)).toBe(0x12);
    expect(rd(dev, 0x38)).toBe(0x30);
    expect(rd(dev, 0x0f)).toBe(0x00);
  });

  it('encodes boot orders like QEMU set_boot_dev', () => {
    expect(encodeBootOrder('cad')).toEqual({ flag2: 0x12, flag1: 0x30 });
    expect(encodeBootOrder('c')).toEqual({ flag2: 0x02, flag1: 0x00 });
    expect(encodeBootOrder('ndc')).toEqual({ flag2: 0x34, flag1: 0x20 });
    expect(() => encodeBootOrder('cadn')).toThrow(BootgateError);
    expect(() => encodeBootOrder('x')).toThrow(/bootOrder/);
  });

  it('rejects bad options with E_CONFIG', () => {
    const s = new FakeServices();
    const ok = { ramBelow4G: 512 * MiB, ramAbove4G: 0, cpus: 1 };
    const bad = [
      { ...ok, cpus: 0 },
      { ...ok, cpus: 257 },
      { ...ok, ramBelow4G: 4 * GiB + 1 },
      { ...ok, ramBelow4G: 0.5 * MiB },
      { ...ok, ramAbove4G: -1 },
      { ...ok, ramAbove4G: 1.5 },
      { ...ok, bootOrder: 'z' },
    ];
    for (const opts of bad) {
      let err: unknown;
      try {
        new CmosRtc(s, opts);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(opts)).toBeInstanceOf(BootgateError);
      expect((err as BootgateError).code).toBe('E_CONFIG');
    }
  });
});

describe('CmosRtc ports and registers', () => {
  it('masks the NMI bit off the index and reads 0xFF from the index port', () => {
    const { dev } = cmos(512 * MiB, { cpus: 2 });
    outp(dev, 0, 0xdf); // 0x80 | 0x5f
    expect(inp(dev, 1)).toBe(1);
    expect(dev.nmiDisabled).toBe(true);
    outp(dev, 0, 0x5f);
    expect(dev.nmiDisabled).toBe(false);
    expect(inp(dev, 0)).toBe(0xff);
  });

  it('has status registers A=0x26 (UIP clear), B=0x02, C=0, D=0x80', () => {
    const { dev } = cmos(512 * MiB);
    expect([rd(dev, 0x0a), rd(dev, 0x0b), rd(dev, 0x0c), rd(dev, 0x0d)]).toEqual([0x26, 0x02, 0x00, 0x80]);
    wr(dev, 0x0a, 0xa6);
    expect(rd(dev, 0x0a)).toBe(0x26);
  });

  it('counts writes to C and D as misuse and keeps D', () => {
    const { dev, services } = cmos(512 * MiB);
    wr(dev, 0x0d, 0);
    wr(dev, 0x0c, 0xff);
    expect(services.misuse).toHaveLength(2);
    expect(rd(dev, 0x0d)).toBe(0x80);
    expect(rd(dev, 0x0c)).toBe(0x00);
  });

  it('keeps RAM (0x0F shutdown status included) across a machine reset, clears interrupt enables', () => {
    const { dev } = cmos(512 * MiB);
    wr(dev, 0x0f, 0xfe);
    wr(dev, 0x40, 0x5a);
    wr(dev, 0x0b, 0x02 | 0x40 | 0x20 | 0x10 | 0x08);
    dev.reset();
    expect(rd(dev, 0x0f)).toBe(0xfe);
    expect(rd(dev, 0x40)).toBe(0x5a);
    expect(rd(dev, 0x0b)).toBe(0x02);
  });

  it('splits a word access into index and data bytes', () => {
    const { dev } = cmos(512 * MiB, { cpus: 8 });
    outp(dev, 0, 0x5f, 1);
    expect(inp(dev, 0, 2)).toBe(0x07ff);
  });
});

describe('CmosRtc clock', () => {
  const fixed = new Date('2024-02-29T23:59:58.250Z'); // a Thursday

  it('reads the time in BCD, 24h, UTC', () => {
    const { dev } = cmos(512 * MiB, { now: () => fixed });
    const regs = [0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32].map((r) => rd(dev, r));
    expect(regs).toEqual([0x58, 0x59, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20]);
  });

  it('reads binary and 12-hour formats when register B asks', () => {
    const { dev } = cmos(512 * MiB, { now: () => fixed });
    wr(dev, 0x0b, 0x06);
    expect([rd(dev, 0x00), rd(dev, 0x04), rd(dev, 0x09), rd(dev, 0x32)]).toEqual([58, 23, 24, 20]);
    wr(dev, 0x0b, 0x00); // BCD, 12h: 23h is 11 PM
    expect(rd(dev, 0x04)).toBe(0x91);
    const midnight = cmos(512 * MiB, { now: () => new Date('2024-03-01T00:30:00Z') }).dev;
    wr(midnight, 0x0b, 0x00);
    expect(rd(midnight, 0x04)).toBe(0x12);
  });

  it('follows now() at read time', () => {
    let t = fixed.getTime();
    const { dev } = cmos(512 * MiB, { now: () => new Date(t) });
    expect(rd(dev, 0x00)).toBe(0x58);
    t += 3000;
    expect([rd(dev, 0x00), rd(dev, 0x02), rd(dev, 0x04), rd(dev, 0x07), rd(dev, 0x08)]).toEqual([0x01, 0x00, 0x00, 0x01, 0x03]);
  });

  it('sets the clock under B.SET: frozen while set, runs from the new time after', () => {
    let t = fixed.getTime();
    const { dev, services } = cmos(512 * MiB, { now: () => new Date(t) });
    wr(dev, 0x0b, 0x82);
    wr(dev, 0x04, 0x10);
    wr(dev, 0x02, 0x20);
    wr(dev, 0x00, 0x30);
    wr(dev, 0x07, 0x15);
    wr(dev, 0x08, 0x06);
    wr(dev, 0x09, 0x99);
    wr(dev, 0x32, 0x19);
    t += 5000;
    expect(rd(dev, 0x00)).toBe(0x30); // frozen
    wr(dev, 0x0b, 0x02);
    t += 2000;
    const regs = [0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32, 0x06].map((r) => rd(dev, r));
    expect(regs).toEqual([0x32, 0x20, 0x10, 0x15, 0x06, 0x99, 0x19, 0x03]); // 1999-06-15 was a Tuesday
    expect(services.misuse).toEqual([]);
  });

  it('keeps running time across a SET cycle without clock writes (OVMF PcRtc reads under SET)', () => {
    let t = fixed.getTime();
    const { dev } = cmos(512 * MiB, { now: () => new Date(t) });
    t += 700; // 23:59:58.950
    wr(dev, 0x0b, 0x82);
    t += 100;
    wr(dev, 0x0b, 0x02);
    t += 100; // 23:59:59.150 on the host
    expect(rd(dev, 0x00)).toBe(0x59);
  });

  it('applies a single clock write at once when not in SET mode', () => {
    const { dev } = cmos(512 * MiB, { now: () => fixed });
    wr(dev, 0x04, 0x07);
    expect([rd(dev, 0x04), rd(dev, 0x02), rd(dev, 0x07)]).toEqual([0x07, 0x59, 0x29]);
  });

  it('drops an invalid setting as guest misuse', () => {
    const { dev, services } = cmos(512 * MiB, { now: () => fixed });
    wr(dev, 0x08, 0x1a);
    expect(services.misuse).toHaveLength(1);
    expect(rd(dev, 0x08)).toBe(0x02);
  });
});

describe('CMOS checksum', () => {
  it('holds the AT checksum of 0x10-0x2D at 0x2E/0x2F (high byte first), as Linux /dev/nvram checks it', () => {
    const { dev } = cmos(3 * GiB, { cpus: 4 });
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += rd(dev, i);
    expect(sum).toBeGreaterThan(0);
    expect((rd(dev, 0x2e) << 8) | rd(dev, 0x2f)).toBe(sum & 0xffff);
  });
  it('survives a machine reset, with the byte a guest stored beside it', () => {
    const { dev } = cmos(512 * MiB);
    wr(dev, 0x7e, 2);
    const before = (rd(dev, 0x2e) << 8) | rd(dev, 0x2f);
    dev.reset();
    expect(rd(dev, 0x7e)).toBe(2);
    expect((rd(dev, 0x2e) << 8) | rd(dev, 0x2f)).toBe(before);
  });
});
