import { describe, expect, it } from 'vitest';
import { PioBus } from '../bus/bus.js';
import { CmosRtc } from './legacy/cmos-rtc.js';
import { PostCode } from './legacy/post-code.js';
import { Uart16550 } from './legacy/uart16550.js';
import { PciHost } from './pci/pci-host.js';
import { PmIo } from './pci/piix4-pm.js';
import { SyncKind } from './device.js';
import { createSyncDevice, SyncPortMap } from './sync-devices.js';

const services = { setIrqLine: () => {}, requestReset: () => {}, requestPowerOff: () => {}, readGuest: () => new Uint8Array(), writeGuest: () => {}, emit: () => {}, guestMisuse: () => {} };

describe('sync registers', () => {
  it('the PIO bus tells where the declared registers are, following a moved device', () => {
    const bus = new PioBus();
    const seen: string[] = [];
    bus.onSyncChange = (r) => seen.push(r.map((x) => `${x.kind}@${x.port.toString(16)}+${x.span}`).join(' '));
    const pm = new PmIo(services);
    bus.insert(0x80, 1, new PostCode());
    bus.insert(0x600, 0x40, pm);
    bus.move(pm, 0xb000, 0x40);
    expect(seen.at(-1)).toBe(`${SyncKind.PostCode}@80+1 ${SyncKind.PmTimer}@b008+4`);
  });

  it('a thread-local PM timer counts from the shared epoch, and narrower reads see their bytes', () => {
    const epoch = performance.timeOrigin + performance.now() - 1000;
    const dev = createSyncDevice(SyncKind.PmTimer, { pmTimerEpochMs: epoch })!;
    const d = new Uint8Array(4);
    dev.read(0, d);
    const v = d[0]! | (d[1]! << 8) | (d[2]! << 16);
    // about 1 s at 3.579545 MHz, modulo 2^24
    expect(v).toBeGreaterThan(3_500_000);
    expect(d[3]).toBe(0);
    const hi = new Uint8Array(2);
    dev.read(2, hi);
    expect(hi[1]).toBe(0);
    expect(createSyncDevice(99, { pmTimerEpochMs: 0 })).toBeUndefined();
  });

  it('a vCPU thread serves only whole accesses inside sync registers, and hands over the rest', () => {
    const map = new SyncPortMap({ pmTimerEpochMs: performance.timeOrigin });
    map.update([
      { kind: SyncKind.PmTimer, port: 0x608, span: 4 },
      { kind: SyncKind.PostCode, port: 0x80, span: 1 },
    ]);
    expect(map.serve(true, 0x608, 4, 1, new Uint8Array(4))).toBe(true);
    expect(map.serve(false, 0x80, 1, 1, Uint8Array.of(0x55))).toBe(true);
    // crosses out of the register, string I/O, or not a sync register at all
    expect(map.serve(true, 0x60a, 4, 1, new Uint8Array(4))).toBe(false);
    expect(map.serve(false, 0x80, 1, 4, new Uint8Array(4))).toBe(false);
    expect(map.serve(true, 0x3f8, 1, 1, new Uint8Array(1))).toBe(false);
    map.update([]);
    expect(map.serve(true, 0x608, 4, 1, new Uint8Array(4))).toBe(false);
  });
});

describe('posted-write registers', () => {
  it('a write of exactly the declared size at the declared port is posted; reads, other sizes and string I/O are not', () => {
    const map = new SyncPortMap({ pmTimerEpochMs: 0 });
    map.update([
      { kind: SyncKind.PostedWrite, port: 0xcf8, span: 4 },
      { kind: SyncKind.PostedWrite, port: 0x3f8, span: 1 },
    ]);
    expect(map.posts(0xcf8, 4, 1)).toBe(true);
    expect(map.posts(0x3f8, 1, 1)).toBe(true);
    // 0xCF9 is the reset control register, a byte at 0xCF8 is no latch write, rep outsb is a string
    expect(map.posts(0xcf9, 1, 1)).toBe(false);
    expect(map.posts(0xcf8, 1, 1)).toBe(false);
    expect(map.posts(0x3f8, 1, 16)).toBe(false);
    expect(map.posts(0x3f9, 1, 1)).toBe(false);
    // a posted register is not a register the thread serves
    expect(map.serve(false, 0x3f8, 1, 1, Uint8Array.of(0x41))).toBe(false);
    map.update([]);
    expect(map.posts(0xcf8, 4, 1)).toBe(false);
  });

  it('the UART THR, the PCI config address latch and the CMOS index are declared, and nothing that maps memory or resets', () => {
    const bus = new PioBus();
    bus.insert(0x3f8, 8, new Uart16550(services, { onOutput: () => {} }));
    const pci = new PciHost();
    bus.insert(0xcf8, 1, pci.addressPort);
    bus.insert(0xcfc, 4, pci.dataPort);
    bus.insert(0x70, 2, new CmosRtc(services, { ramBelow4G: 128 * 1024 * 1024, ramAbove4G: 0, cpus: 1 }));
    const posted = bus.syncRanges().filter((r) => r.kind === SyncKind.PostedWrite || r.kind === SyncKind.ConfigAddress).map((r) => `${r.port.toString(16)}+${r.span}`);
    expect(posted.sort()).toEqual(['3f8+1', '70+1', 'cf8+4']);
    // CONFIG_DATA reads come from the owner's image (native threads); none of its writes is posted.
    expect(bus.syncRanges().filter((r) => r.kind === SyncKind.ConfigData).map((r) => `${r.port.toString(16)}+${r.span}`)).toEqual(['cfc+4']);
  });

  it('a JavaScript thread posts CONFIG_ADDRESS writes as any posted register, and leaves CONFIG_DATA to the owner', () => {
    const map = new SyncPortMap({ pmTimerEpochMs: 0 });
    map.update([
      { kind: SyncKind.ConfigAddress, port: 0xcf8, span: 4 },
      { kind: SyncKind.ConfigData, port: 0xcfc, span: 4 },
    ]);
    expect(map.posts(0xcf8, 4, 1)).toBe(true);
    expect(map.posts(0xcf8, 1, 1)).toBe(false);
    expect(map.serve(true, 0xcfc, 4, 1, new Uint8Array(4))).toBe(false);
  });
});

describe('shadow-read registers', () => {
  it('a byte read is answered with the published value; a withheld value, another size or a moved table goes to the owner', () => {
    const published = new Map<number, number>([[0, 0x58], [1, -1]]);
    let tableVersion = 2;
    const map = new SyncPortMap({ pmTimerEpochMs: 0, readShadow: (i, v) => (v === tableVersion ? published.get(i)! : -1) });
    map.update([{ kind: SyncKind.ShadowRead, port: 0x3f6, span: 1 }, { kind: SyncKind.ShadowRead, port: 0x1f7, span: 1 }], 2);
    const d = new Uint8Array(4);
    expect(map.serve(true, 0x3f6, 1, 1, d)).toBe(true);
    expect(d[0]).toBe(0x58);
    // withheld (a read would acknowledge an interrupt), a word read, a write, string I/O
    expect(map.serve(true, 0x1f7, 1, 1, d)).toBe(false);
    expect(map.serve(true, 0x3f6, 2, 1, d)).toBe(false);
    expect(map.serve(false, 0x3f6, 1, 1, d)).toBe(false);
    expect(map.serve(true, 0x3f6, 1, 2, d)).toBe(false);
    tableVersion = 4;
    expect(map.serve(true, 0x3f6, 1, 1, d)).toBe(false);
  });

  it('without a way to read published values the thread hands every read over', () => {
    const map = new SyncPortMap({ pmTimerEpochMs: 0 });
    map.update([{ kind: SyncKind.ShadowRead, port: 0x3f6, span: 1 }]);
    expect(map.serve(true, 0x3f6, 1, 1, new Uint8Array(1))).toBe(false);
  });
});

describe('the debug console as a sync register', () => {
  it('a thread logs its own byte writes per line and hands wider accesses to the owner', () => {
    const events: Array<Record<string, unknown>> = [];
    const map = new SyncPortMap({ pmTimerEpochMs: 0, emit: (e) => events.push(e) });
    map.update([{ kind: SyncKind.Debugcon, port: 0x402, span: 1 }]);
    const rd = new Uint8Array(1);
    expect(map.serve(true, 0x402, 1, 1, rd)).toBe(true);
    expect(rd[0]).toBe(0xe9);
    for (const c of 'ok\nta') expect(map.serve(false, 0x402, 1, 1, Uint8Array.of(c.charCodeAt(0)))).toBe(true);
    expect(map.serve(false, 0x402, 2, 1, new Uint8Array(2))).toBe(false);
    expect(events).toEqual([{ event: 'serial', port: 'debugcon', data: 'ok\n' }]);
    map.flush();
    expect(events.at(-1)).toEqual({ event: 'serial', port: 'debugcon', data: 'ta' });
  });

  it('without an event sink the thread does not serve it', () => {
    expect(createSyncDevice(SyncKind.Debugcon, { pmTimerEpochMs: 0 })).toBeUndefined();
  });
});
