// A Vm with no accelerator behind it, for driving the real `pc` device set from a test or the
// fuzzer: memory slots are recorded (so a fuzz check can see what the memory map asked for),
// interrupt lines and MSIs are counted, the IOAPIC reads as unmasked and the PIT as idle.
// Nothing here runs guest code; it exists so buildPc() can assemble the machine off-host.

import type { MemoryRegion, Vm } from '../accel/types.js';

export class FakeVm implements Vm {
  readonly vcpuHandles: number[] = [];
  readonly fd = -1;
  readonly slots = new Map<number, MemoryRegion>();
  irqLineCalls = 0;
  msis = 0;

  constructor(
    readonly physBits = 40,
    readonly hostPhysBits = 46,
  ) {}

  mapMemory(region: MemoryRegion): void {
    this.slots.set(region.slot, region);
  }
  unmapMemory(slot: number): void {
    this.slots.delete(slot);
  }
  setIrqLine(): void {
    this.irqLineCalls++;
  }
  setIrqRouting(): void {}
  ioapicRedirection(): bigint {
    return 0n;
  }
  describeIoapic(): string {
    return 'fake IOAPIC';
  }
  pitChannel0(): { count: number; mode: number } {
    return { count: 0, mode: 0 };
  }
  signalMsi(): boolean {
    this.msis++;
    return true;
  }
  close(): void {}
}
