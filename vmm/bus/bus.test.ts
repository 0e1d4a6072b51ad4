import { describe, expect, it } from 'vitest';
import type { BusDevice } from '../devices/device.js';
import { MmioBus, PioBus } from './bus.js';

function recorder(name: string) {
  const log: string[] = [];
  const dev: BusDevice = {
    name,
    read: (off, data) => {
      log.push(`r${off}/${data.length}`);
      data.fill(0x42);
    },
    write: (off, data) => log.push(`w${off}=${data[0]}`),
  };
  return { dev, log };
}

describe('PioBus', () => {
  it('dispatches relative offsets to the owning device', () => {
    const bus = new PioBus();
    const { dev, log } = recorder('uart');
    bus.insert(0x3f8, 8, dev);
    const d = new Uint8Array(1);
    bus.read(0x3fd, d);
    bus.write(0x3f8, Uint8Array.of(0x41));
    expect(log).toEqual(['r5/1', 'w0=65']);
    expect(d[0]).toBe(0x42);
  });
  it('answers unassigned reads with all ones and counts them', () => {
    const bus = new PioBus();
    const d = new Uint8Array(4);
    expect(bus.read(0xaf00, d)).toBeUndefined();
    expect([...d]).toEqual([0xff, 0xff, 0xff, 0xff]);
    bus.write(0xaf00, d);
    expect(bus.unassignedReads).toBe(1);
    expect(bus.unassignedWrites).toBe(1);
  });
  it('rejects overlapping, empty and overflowing ranges', () => {
    const bus = new PioBus();
    bus.insert(0x70, 2, recorder('cmos').dev);
    expect(() => bus.insert(0x71, 1, recorder('x').dev)).toThrow(/overlaps cmos/);
    expect(() => bus.insert(0x80, 0, recorder('y').dev)).toThrow(/empty/);
    expect(() => bus.insert(0xfffe, 4, recorder('z').dev)).toThrow(/overflows/);
  });
  it('moves a device (relocated PMBASE)', () => {
    const bus = new PioBus();
    const { dev } = recorder('pm');
    bus.insert(0xb000, 0x40, dev);
    bus.move(dev, 0x600, 0x40);
    expect(bus.find(0xb008)).toBeUndefined();
    expect(bus.find(0x608)?.device).toBe(dev);
    bus.move(dev, null, 0x40);
    expect(bus.find(0x608)).toBeUndefined();
  });
  it('removes every range of a device and leaves its neighbours in place', () => {
    const bus = new PioBus();
    const ide = recorder('ide');
    const next = recorder('next');
    bus.insert(0x1f0, 8, ide.dev);
    bus.insert(0x3f6, 1, ide.dev);
    bus.insert(0x1f8, 1, next.dev);
    bus.remove(ide.dev);
    expect([0x1f0, 0x1f7, 0x3f6].map((p) => bus.find(p))).toEqual([undefined, undefined, undefined]);
    expect(bus.find(0x1f8)?.device).toBe(next.dev);
    bus.insert(0x1f0, 8, ide.dev);
    expect(bus.find(0x1f7)?.device).toBe(ide.dev);
  });
  it('stays right after more BAR moves than its index has entries (indexes are reused)', () => {
    const bus = new PioBus();
    const bar = recorder('bar').dev;
    const fixed = recorder('fixed').dev;
    bus.insert(0x60, 1, fixed);
    for (let i = 0; i < 70_000; i++) bus.move(bar, 0xc000 + (i % 16) * 16, 16);
    expect(bus.find(0xc000 + (69_999 % 16) * 16)?.device).toBe(bar);
    expect(bus.find(0x60)?.device).toBe(fixed);
    expect(bus.list()).toHaveLength(2);
  });
});

describe('MmioBus', () => {
  it('finds ranges by binary search above 4 GiB', () => {
    const bus = new MmioBus();
    const a = recorder('a').dev;
    const b = recorder('b').dev;
    bus.insert(0xfec0_0000, 0x1000, a);
    bus.insert(0x8_0000_0000, 0x4000_0000, b);
    expect(bus.find(0xfec0_0fff)?.device).toBe(a);
    expect(bus.find(0xfec0_1000)).toBeUndefined();
    expect(bus.find(0x8_3fff_ffff)?.device).toBe(b);
  });

  it('tells a span no range touches from one a range starts in, ends in or covers', () => {
    const bus = new MmioBus();
    expect(bus.isEmpty(0xb8000, 0x1000)).toBe(true);
    bus.insert(0xa0010, 0x10, recorder('small').dev);
    bus.insert(0xc0000, 0x40000, recorder('pam').dev);
    expect(bus.isEmpty(0xb8000, 0x1000)).toBe(true);
    expect(bus.isEmpty(0xa0000, 0x1000)).toBe(false); // a 16-byte range inside the page
    expect(bus.isEmpty(0xa0020, 0x1000)).toBe(true); // starts where that range ends
    expect(bus.isEmpty(0xbf000, 0x1000)).toBe(true); // ends where the next range starts
    expect(bus.isEmpty(0xbf000, 0x1001)).toBe(false);
    expect(bus.isEmpty(0xd0000, 0x1000)).toBe(false); // inside a larger range
    expect(bus.isEmpty(0x1_0000_0000, 0x1000)).toBe(true); // past every range
  });

  it('tells the map listener of every insert and remove (a move is both)', () => {
    const bus = new MmioBus();
    let changes = 0;
    bus.onMapChange = () => changes++;
    const dev = recorder('bar').dev;
    bus.insert(0xfe00_0000, 0x1000, dev);
    bus.move(dev, 0xfd00_0000, 0x1000);
    bus.remove(dev);
    expect(changes).toBe(4);
  });
});
