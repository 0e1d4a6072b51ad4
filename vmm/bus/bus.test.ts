import { describe, expect, it } from 'vitest';
import { type BusDevice, SyncKind } from '../devices/device.js';
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

  it('tells the map listener of every insert, move and remove once, and of nothing that changed nothing', () => {
    const bus = new MmioBus();
    const seen: string[] = [];
    bus.onMapChange = () => seen.push(bus.list().map((r) => r.base.toString(16)).join(',') || 'empty');
    const dev = recorder('bar').dev;
    bus.insert(0xfe00_0000, 0x1000, dev);
    bus.move(dev, 0xfd00_0000, 0x1000);
    bus.move(dev, null, 0x1000);
    bus.move(dev, null, 0x1000); // not mapped: nothing to tell
    bus.remove(dev); // nor here
    bus.move(dev, 0xfc00_0000, 0x1000);
    bus.remove(dev);
    // Each notice sees the bus as the change left it (a move: at its new place, never half done).
    expect(seen).toEqual(['fe000000', 'fd000000', 'empty', 'fc000000', 'empty']);
  });

  it('tells of a move refused for an overlap: the device left its old place', () => {
    const bus = new MmioBus();
    const seen: string[] = [];
    const dev = recorder('bar').dev;
    bus.insert(0xfe00_0000, 0x1000, dev);
    bus.insert(0xfd00_0000, 0x1000, recorder('other').dev);
    bus.onMapChange = () => seen.push(bus.list().map((r) => r.device.name).join(','));
    expect(() => bus.move(dev, 0xfd00_0000, 0x1000)).toThrow(/overlaps other/);
    expect(seen).toEqual(['other']);
  });
});

describe('PioBus sync registers', () => {
  it('republishes where sync registers are only when a device that declares some moved', () => {
    const bus = new PioBus();
    const published: string[] = [];
    bus.onSyncChange = (ranges) => published.push(ranges.map((r) => `${r.kind}@${r.port.toString(16)}`).join(',') || 'none');
    const plain = recorder('plain').dev;
    const uart = { ...recorder('uart').dev, syncRegisters: [{ kind: SyncKind.PostedWrite, offset: 0, span: 1 }] };
    bus.insert(0x3f8, 8, uart);
    bus.insert(0xc000, 0x10, plain);
    bus.move(plain, 0xc100, 0x10);
    bus.remove(plain);
    bus.move(uart, 0x2f8, 8);
    bus.remove(uart);
    expect(published).toEqual([`${SyncKind.PostedWrite}@3f8`, `${SyncKind.PostedWrite}@2f8`, 'none']);
  });
});
