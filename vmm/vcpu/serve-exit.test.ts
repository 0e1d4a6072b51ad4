import { describe, expect, it } from 'vitest';
import { type ExitInfo, ExitKind } from '../accel/exit-info.js';
import { MmioBus, PioBus } from '../bus/bus.js';
import type { BusDevice } from '../devices/device.js';
import { serveMmio, servePio } from './serve-exit.js';

function exit(partial: Partial<ExitInfo>): ExitInfo {
  return { kind: ExitKind.IoIn, port: 0, size: 1, count: 1, gpa: 0, isWrite: false, data: new Uint8Array(1), reason: 2, suberror: 0, ...partial };
}

describe('servePio', () => {
  it('repeats string output per element (rep outsb)', () => {
    const bus = new PioBus();
    const seen: number[] = [];
    const dev: BusDevice = { name: 'debugcon', read: () => {}, write: (_o, d) => seen.push(d[0]!) };
    bus.insert(0x402, 1, dev);
    servePio(exit({ kind: ExitKind.IoOut, port: 0x402, count: 3, data: Uint8Array.from([0x4f, 0x4b, 0x0a]) }), bus);
    expect(seen).toEqual([0x4f, 0x4b, 0x0a]);
  });
  it('hands a string access to the device in one call when it copies runs (rep insw on a data port), and counts unassigned elements', () => {
    const bus = new PioBus();
    const calls: Array<[number, number, number]> = [];
    const dev: BusDevice = {
      name: 'data-port',
      read: () => {
        throw new Error('element-wise read on a device that copies runs');
      },
      write: () => {},
      readRepeated: (offset, size, data) => {
        calls.push([offset, size, data.length]);
        data.forEach((_, i) => (data[i] = i));
      },
    };
    bus.insert(0x1f0, 8, dev);
    const e = exit({ port: 0x1f0, size: 2, count: 256, data: new Uint8Array(4096) });
    expect(servePio(e, bus)).toBe(0x0100);
    expect(calls).toEqual([[0, 2, 512]]);
    expect(e.data[511]).toBe(511 & 0xff);
    expect(e.data[512]).toBe(0); // past count * size: untouched
    const u = exit({ port: 0x9000, size: 2, count: 5, data: new Uint8Array(10) });
    expect(servePio(u, bus)).toBe(-1);
    expect([...u.data]).toEqual(new Array(10).fill(0xff));
    expect(bus.unassignedReads).toBe(5);
    servePio(exit({ kind: ExitKind.IoOut, port: 0x9000, size: 1, count: 3, data: new Uint8Array(3) }), bus);
    expect(bus.unassignedWrites).toBe(3);
  });
  it('returns the value read and -1 for an unassigned port (data all ones)', () => {
    const bus = new PioBus();
    bus.insert(0x70, 2, { name: 'cmos', read: (_o, d) => d.fill(0x12), write: () => {} });
    expect(servePio(exit({ port: 0x71 }), bus)).toBe(0x12);
    const e = exit({ port: 0xaf00, size: 2, data: new Uint8Array(2) });
    expect(servePio(e, bus)).toBe(-1);
    expect([...e.data]).toEqual([0xff, 0xff]);
  });
});

describe('serveMmio', () => {
  it('names the serving region, or unassigned', () => {
    const bus = new MmioBus();
    bus.insert(0xfffc_0000, 0x4_0000, { name: 'firmware-high', read: () => {}, write: () => {} });
    expect(serveMmio(exit({ kind: ExitKind.MmioWrite, gpa: 0xffff_fff0, size: 4, data: new Uint8Array(4) }), bus)).toBe('firmware-high');
    expect(serveMmio(exit({ kind: ExitKind.MmioRead, gpa: 0xa_0000, size: 4, data: new Uint8Array(4) }), bus)).toBe('unassigned');
  });
});
