// A fake MachineServices for the legacy-device unit tests: records every call so tests can assert
// exact IRQ edges, reset and power-off requests and misuse counts. Plus inb/outb-style helpers
// that drive a BusDevice the way the PIO bus will (offset relative to the device base).

import type { BusDevice, MachineServices } from '../device.js';
import { getLE, setLE } from '../device.js';

export class FakeServices implements MachineServices {
  /** Every setIrqLine call, in order. */
  readonly irqCalls: Array<{ gsi: number; level: boolean }> = [];
  readonly resets: string[] = [];
  readonly powerOffs: Array<{ source: string; code: number | undefined }> = [];
  readonly misuse: Array<{ device: string; what: string }> = [];
  readonly events: Array<Record<string, unknown>> = [];
  private readonly levels = new Map<number, boolean>();

  setIrqLine(gsi: number, level: boolean): void {
    this.irqCalls.push({ gsi, level });
    this.levels.set(gsi, level);
  }
  requestReset(source: string): void {
    this.resets.push(source);
  }
  requestPowerOff(source: string, code?: number): void {
    this.powerOffs.push({ source, code });
  }
  readGuest(gpa: number, _length: number): Uint8Array {
    throw new Error(`FakeServices: no guest memory (read at ${gpa})`);
  }
  writeGuest(gpa: number, _bytes: Uint8Array): void {
    throw new Error(`FakeServices: no guest memory (write at ${gpa})`);
  }
  emit(event: Record<string, unknown>): void {
    this.events.push(event);
  }
  guestMisuse(device: string, what: string): void {
    this.misuse.push({ device, what });
  }

  /** Current level of a line (false if never driven). */
  level(gsi: number): boolean {
    return this.levels.get(gsi) ?? false;
  }
  /** Number of low-to-high transitions seen on a line: what an edge-triggered PIC would latch. */
  risingEdges(gsi: number): number {
    let prev = false;
    let n = 0;
    for (const c of this.irqCalls) {
      if (c.gsi !== gsi) continue;
      if (c.level && !prev) n++;
      prev = c.level;
    }
    return n;
  }
}

/** Read `size` bytes at `offset` and return the little-endian value. */
export function inp(dev: BusDevice, offset: number, size: 1 | 2 | 4 = 1): number {
  const data = new Uint8Array(size);
  dev.read(offset, data);
  return getLE(data);
}

/** Write `value` as a `size`-byte little-endian access at `offset`. */
export function outp(dev: BusDevice, offset: number, value: number, size: 1 | 2 | 4 = 1): void {
  const data = new Uint8Array(size);
  setLE(data, value);
  dev.write(offset, data);
}
