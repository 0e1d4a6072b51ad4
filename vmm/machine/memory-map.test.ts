import { describe, expect, it } from 'vitest';
import type { MemoryRegion, Vm } from '../accel/types.js';
import type { MachineServices } from '../devices/device.js';
import type { HostMemory } from '../memory/host-memory.js';
import { initialPamSegments, MemoryMap, type PamMode } from './memory-map.js';

class FakeVm implements Vm {
  readonly slots = new Map<number, MemoryRegion>();
  readonly fd = -1;
  readonly physBits = 40;
  readonly hostPhysBits = 40;
  readonly vcpuHandles: number[] = [];
  mapMemory(r: MemoryRegion): void {
    this.slots.set(r.slot, r);
  }
  unmapMemory(slot: number): void {
    this.slots.delete(slot);
  }
  setIrqLine(): void {}
  setIrqRouting(): void {}
  ioapicRedirection(): bigint {
    return 0n;
  }
  pitChannel0() {
    return { count: 0x1_0000, mode: 3 };
  }
  describeIoapic(): string {
    return 'ioapic: (fake)';
  }
  signalMsi(): boolean {
    return true;
  }
  close(): void {}
  at(gpa: number): MemoryRegion | undefined {
    return [...this.slots.values()].find((r) => gpa >= r.gpa && gpa < r.gpa + r.size);
  }
}

function host(size: number, address: bigint, fill = 0): HostMemory {
  return { address, size, bytes: new Uint8Array(size).fill(fill) };
}

const services = { emit: () => {}, guestMisuse: () => {} } as unknown as MachineServices;

function build(firmwareSize = 256 * 1024, highCopy = true) {
  const vm = new FakeVm();
  const fw = host(firmwareSize, 0x7000_0000_0000n, 0xaa);
  const map = new MemoryMap(vm, host(64 << 20, 0x1000_0000_0000n), 64 << 20, 0, fw, highCopy);
  map.mapAll();
  return { vm, map, fw };
}

function withMode(mode: PamMode, from = 0) {
  return initialPamSegments().map((s, i) => (i >= from ? { ...s, mode } : s));
}

describe('MemoryMap', () => {
  it('maps the high copy read-only so that it ends at 4 GiB', () => {
    const { vm } = build();
    const r = vm.at(0xffff_fff0)!;
    expect(r.name).toBe('firmware-high');
    expect(r.gpa + r.size).toBe(0x1_0000_0000);
    expect(r.flags.write).toBe(false);
  });
  it('maps nothing at the reset vector with the no-high-bios-copy quirk', () => {
    expect(build(256 * 1024, false).vm.at(0xffff_fff0)).toBeUndefined();
  });
  it('aliases the last 128 KiB of the image below 1 MiB at power-on (PAM mode 0)', () => {
    const { vm } = build();
    const f = vm.at(0xf_fff0)!;
    expect(f.flags.write).toBe(false);
    // offset of 0xf0000 within the image: size - 128 KiB + 64 KiB
    expect(f.hostAddress).toBe(0x7000_0000_0000n + BigInt(256 * 1024 - 128 * 1024 + 64 * 1024));
    expect(vm.at(0xc_0000), 'C/D segments in mode 0 trap (no option ROMs)').toBeUndefined();
  });
  it('follows PAM: mode 3 shadow RAM read-write, mode 1 read-only, mode 2 trapped', () => {
    const { vm, map } = build();
    map.setPam(withMode(3));
    expect(vm.at(0xf_0000)).toMatchObject({ hostAddress: 0x1000_0000_0000n + 0xf_0000n, flags: { write: true } });
    map.setPam(withMode(1));
    expect(vm.at(0xe_4000)).toMatchObject({ hostAddress: 0x1000_0000_0000n + 0xe_4000n, flags: { write: false } });
    map.setPam(withMode(2));
    expect(vm.at(0xe_4000)).toBeUndefined();
  });
  it('serves trapped PAM accesses: ROM reads, dropped writes in mode 1, RAM writes in mode 2', () => {
    const { map, fw } = build(128 * 1024);
    const dev = map.pamArea(services);
    fw.bytes[0x1_0000] = 0x42; // image offset of 0xf0000 for a 128 KiB image
    const d = new Uint8Array(1);
    dev.read(0xf_0000 - 0xc_0000, d);
    expect(d[0]).toBe(0x42);
    dev.read(0, d);
    expect(d[0], 'no ROM at 0xc0000').toBe(0xff);
    map.setPam(withMode(1));
    dev.write(0xf_0000 - 0xc_0000, Uint8Array.of(7));
    expect(map.ram.bytes[0xf_0000]).toBe(0);
    expect(map.shadowWritesDropped).toBe(1);
    map.setPam(withMode(2));
    dev.write(0xf_0000 - 0xc_0000, Uint8Array.of(7));
    expect(map.ram.bytes[0xf_0000]).toBe(7);
  });
  it('maps the same regions again on a rebuilt VM', () => {
    const { vm, map } = build();
    map.setPam(withMode(3));
    const fresh = new FakeVm();
    map.mapAll(fresh);
    expect([...fresh.slots.values()].map((r) => r.name).sort()).toEqual([...vm.slots.values()].map((r) => r.name).sort());
  });
});
