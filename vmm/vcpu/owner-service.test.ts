import { describe, expect, it } from 'vitest';
import type { Vm } from '../accel/types.js';
import type { BusDevice } from '../devices/device.js';
import { Machine } from '../machine/machine.js';
import type { HostMemory } from '../memory/host-memory.js';
import { MailKind, Mailbox } from './mailbox.js';
import { OwnerService } from './owner-service.js';

function machine(): Machine {
  const ram: HostMemory = { address: 0n, size: 4096, bytes: new Uint8Array(4096) };
  return new Machine({} as Vm, ram, 4096, 0, () => {});
}

function service(m: Machine, log: string[] = []) {
  return new OwnerService(() => m, {
    resetStep: (s) => {
      log.push(`step ${s.exit}`);
      if (s.exit !== 'Debug') throw new Error('bad step');
    },
    fatal: (v) => log.push(`fatal ${v}`),
    tripleFault: (v) => {
      log.push(`triple ${v}`);
      m.requestReset(`triple-fault (vCPU ${v})`);
    },
  });
}

describe('OwnerService', () => {
  it('serves a port read into the mailbox and says a device claimed it', () => {
    const m = machine();
    m.pio.insert(0x70, 2, { name: 'cmos', read: (_o, d) => d.fill(0x42), write: () => {} });
    const mb = Mailbox.create();
    mb.post(MailKind.PioIn, 0x71, 1, 1);
    service(m).serve(2, mb);
    expect(mb.waitDone(0)).toBe(true);
    expect(mb.data[0]).toBe(0x42);
    expect(mb.claimed).toBe(true);
    expect(mb.resetAsked).toBe(false);
  });

  it('lets the owner publish shadow values after the access and before the vCPU sees the reply', () => {
    const m = machine();
    const mb = Mailbox.create();
    const states: boolean[] = [];
    const svc = new OwnerService(() => m, { resetStep: () => {}, fatal: () => {}, tripleFault: () => {}, beforeReply: () => states.push(mb.pending) });
    m.pio.insert(0x1f0, 8, { name: 'ide', read: (_o, d) => d.fill(0x58), write: () => {} });
    mb.post(MailKind.PioOut, 0x1f7, 1, 1, Uint8Array.of(0x20));
    svc.serve(0, mb);
    expect(states).toEqual([true]);
    expect(mb.pending).toBe(false);
  });

  it('answers an unassigned port with all ones and claimed=false', () => {
    const mb = Mailbox.create();
    mb.post(MailKind.PioIn, 0xaf00, 2, 1);
    service(machine()).serve(1, mb);
    expect([...mb.data.subarray(0, 2)]).toEqual([0xff, 0xff]);
    expect(mb.claimed).toBe(false);
  });

  it('names the MMIO region that served an access, by a cached id', () => {
    const m = machine();
    const dev: BusDevice = { name: 'pflash-code', read: (_o, d) => d.fill(0x90), write: () => {} };
    m.mmio.insert(0xffc0_0000, 0x40_0000, dev);
    const svc = service(m);
    const mb = Mailbox.create();
    const cache = new Map<number, string>();
    mb.post(MailKind.MmioRead, 0xffff_fff0, 4, 1);
    svc.serve(0, mb);
    expect(mb.servedRegion(cache)).toBe('pflash-code');
    mb.finish();
    mb.post(MailKind.MmioWrite, 0xb8000, 2, 1, Uint8Array.from([0x41, 0x07]));
    svc.serve(0, mb);
    expect(mb.servedRegion(cache)).toBe('unassigned');
  });

  it('applies a posted write as the port write of the vCPU that queued it, little-endian and at its size', () => {
    const m = machine();
    const writes: string[] = [];
    m.pio.insert(0xcf8, 1, { name: 'pci-conf-idx', read: () => {}, write: (o, d) => writes.push(`${o}:${[...d].map((b) => b.toString(16)).join(',')}`) });
    service(m).applyPosted({ vcpu: 4, port: 0xcf8, size: 4, value: 0x8000_0810 });
    expect(writes).toEqual(['0:10,8,0,80']);
    expect(m.pending).toBeNull();
  });

  it('attributes a reset a posted write asked for (against its declaration) to the vCPU that queued it', () => {
    const m = machine();
    m.pio.insert(0x70, 1, { name: 'odd', read: () => {}, write: () => m.requestReset('odd') });
    service(m).applyPosted({ vcpu: 6, port: 0x70, size: 1, value: 1 });
    expect(m.pending).toEqual({ kind: 'reset', source: 'odd', vcpu: 6 });
  });

  it('attributes a reset the access asked for to the asking vCPU and tells it', () => {
    const m = machine();
    m.pio.insert(0xcf9, 1, { name: 'reset-control', read: () => {}, write: () => m.requestReset('cf9 0x06') });
    const mb = Mailbox.create();
    mb.post(MailKind.PioOut, 0xcf9, 1, 1, Uint8Array.of(6));
    service(m).serve(3, mb);
    expect(mb.resetAsked).toBe(true);
    expect(m.pending).toEqual({ kind: 'reset', source: 'cf9 0x06', vcpu: 3 });
  });

  it('turns a shutdown into a reset of the machine attributed to that vCPU, and a fatal exit into an event', () => {
    const m = machine();
    const log: string[] = [];
    const mb = Mailbox.create();
    mb.post(MailKind.TripleFault, 0, 0, 0);
    service(m, log).serve(5, mb);
    expect(m.pending).toMatchObject({ kind: 'reset', vcpu: 5 });
    mb.finish();
    mb.post(MailKind.Fatal, 0, 0, 0);
    service(m, log).serve(5, mb);
    expect(log).toEqual(['triple 5', 'fatal 5']);
  });

  it('replies before it rethrows a verdict, so the vCPU thread never hangs', () => {
    const log: string[] = [];
    const mb = Mailbox.create();
    const step = new TextEncoder().encode(JSON.stringify({ stepped: true, exit: 'MmioRead', before: { csBase: 0, csSelector: 0, rip: 0 } }));
    mb.post(MailKind.ResetStep, 0, 1, step.length, step);
    expect(() => service(machine(), log).serve(0, mb)).toThrow('bad step');
    expect(mb.waitDone(0)).toBe(true);
  });

  it('says the page of an unassigned MMIO access is empty, with the map version, only when no range touches the page', () => {
    const m = machine();
    m.mmio.insert(0xfec0_0000, 0x20, { name: 'ioapic', read: (_o, d) => d.fill(0x11), write: () => {} });
    const svc = new OwnerService(() => m, { resetStep: () => {}, fatal: () => {}, tripleFault: () => {}, mmioMapVersion: () => 9 });
    const mb = Mailbox.create();
    const emptyPageVersion = (kind: MailKind, addr: number, size: number, payload?: Uint8Array): number => {
      mb.post(kind, addr, size, 1, payload);
      svc.serve(1, mb);
      const v = mb.emptyPageVersion;
      mb.finish();
      return v;
    };
    expect(emptyPageVersion(MailKind.MmioRead, 0xb8f00, 2)).toBe(9);
    expect([...mb.data.subarray(0, 2)]).toEqual([0xff, 0xff]);
    // Unassigned, but the IOAPIC shares the page: every access there must still reach the owner.
    expect(emptyPageVersion(MailKind.MmioWrite, 0xfec0_0800, 4, Uint8Array.of(1, 2, 3, 4))).toBe(-1);
    // A claimed access, and any other reply, clears what an earlier reply said.
    emptyPageVersion(MailKind.MmioRead, 0xb8f00, 2);
    expect(emptyPageVersion(MailKind.MmioRead, 0xfec0_0000, 4)).toBe(-1);
    emptyPageVersion(MailKind.MmioRead, 0xb8f00, 2);
    expect(emptyPageVersion(MailKind.PioIn, 0xaf00, 1)).toBe(-1);
  });

  it('refuses a request kind it does not know, naming the vCPU', () => {
    const mb = Mailbox.create();
    mb.post(99 as MailKind, 0, 0, 0);
    expect(() => service(machine()).serve(4, mb)).toThrow(/vCPU 4 posted an unknown mailbox request 99/);
  });
});
