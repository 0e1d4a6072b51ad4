// Device buses (after Firecracker's Bus / rust-vmm vm-device): PIO and MMIO are separate buses of
// non-overlapping ranges. Inserting an empty, overflowing or overlapping range throws (host
// misconfiguration); an access nobody claims reads all ones and is counted, never thrown.
// The PIO bus resolves a port with two array loads (a 64 Ki port index, then the range): it is on
// the exit hot path.

import type { BusDevice } from '../devices/device.js';
import { BootgateError } from '../errors.js';

export interface BusRange {
  base: number;
  span: number;
  device: BusDevice;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

abstract class RangeBus {
  protected ranges: BusRange[] = [];
  unassignedReads = 0;
  unassignedWrites = 0;
  /** Told after every insert or remove (the device owner bumps the MMIO map version vCPU threads cache against). */
  onMapChange: (() => void) | undefined;

  constructor(
    readonly name: string,
    readonly limit: number,
  ) {}

  insert(base: number, span: number, device: BusDevice): void {
    this.place(base, span, device);
    this.changed(device);
  }

  /** Add the range without telling anyone (insert and move tell once). */
  private place(base: number, span: number, device: BusDevice): void {
    if (!Number.isInteger(base) || !Number.isInteger(span) || span <= 0) {
      throw new BootgateError('E_BUS', `${this.name}: ${device.name} has an empty or invalid range ${hex(base)}+${span}`);
    }
    if (base < 0 || base + span > this.limit) {
      throw new BootgateError('E_BUS', `${this.name}: ${device.name} range ${hex(base)}+${hex(span)} overflows the bus (limit ${hex(this.limit)})`);
    }
    for (const r of this.ranges) {
      if (base < r.base + r.span && r.base < base + span) {
        throw new BootgateError(
          'E_BUS',
          `${this.name}: ${device.name} at ${hex(base)}+${hex(span)} overlaps ${r.device.name} at ${hex(r.base)}+${hex(r.span)}`,
        );
      }
    }
    const range = { base, span, device };
    this.ranges.push(range);
    this.ranges.sort((a, b) => a.base - b.base);
    this.onInsert(range);
  }

  remove(device: BusDevice): void {
    if (this.unplace(device)) this.changed(device);
  }

  /** Drop the device's ranges without telling anyone; whether it had any. */
  private unplace(device: BusDevice): boolean {
    const removed = this.ranges.filter((r) => r.device === device);
    if (removed.length === 0) return false;
    this.ranges = this.ranges.filter((r) => r.device !== device);
    for (const r of removed) this.onRemove(r);
    return true;
  }

  /**
   * Move every range of `device` to start at `base` (a relocated BAR or PMBASE); null removes.
   * Listeners hear of a move once, with the device at its new place (a guest's BAR writes make
   * many moves, and each notice republishes tables to the vCPU threads).
   */
  move(device: BusDevice, base: number | null, span: number): void {
    const had = this.unplace(device);
    try {
      if (base !== null) this.place(base, span, device);
    } finally {
      // A refused place (an overlap) still removed the device: that is told too.
      if (had || base !== null) this.changed(device);
    }
  }

  private changed(device: BusDevice): void {
    this.onChange(device);
    this.onMapChange?.();
  }

  list(): readonly BusRange[] {
    return this.ranges;
  }

  /** A range was added or removed (lookup structures update only what it covers). */
  protected onInsert(_range: BusRange): void {}
  protected onRemove(_range: BusRange): void {}
  /** After any insert, remove or move, with the device whose ranges changed. */
  protected onChange(_device: BusDevice): void {}

  abstract find(addr: number): BusRange | undefined;

  /** Dispatch a read; returns the range that served it (undefined → unassigned, data set to all ones). */
  read(addr: number, data: Uint8Array): BusRange | undefined {
    const r = this.find(addr);
    if (r === undefined) {
      data.fill(0xff);
      this.unassignedReads++;
      return undefined;
    }
    r.device.read(addr - r.base, data);
    return r;
  }

  write(addr: number, data: Uint8Array): BusRange | undefined {
    const r = this.find(addr);
    if (r === undefined) {
      this.unassignedWrites++;
      return undefined;
    }
    r.device.write(addr - r.base, data);
    return r;
  }
}

/** A sync register's place on the PIO bus (device.ts SyncRegister, made absolute). */
export interface SyncPortRange {
  kind: number;
  port: number;
  span: number;
  /** The declaring device and the register's offset in it (ShadowRead values come from there). */
  device: BusDevice;
  offset: number;
}

export class PioBus extends RangeBus {
  // port -> index into `byIndex` (0: unassigned). A Uint16Array is zeroed memory, so a bus costs
  // nothing to build; indexes of removed ranges are reused, so BAR moves never grow the table.
  private readonly indexOf = new Uint16Array(0x1_0000);
  private readonly byIndex: Array<BusRange | undefined> = [undefined];
  private readonly freeIndexes: number[] = [];
  /** Told the sync registers' places after every change (the device owner publishes them to the vCPU threads). */
  onSyncChange: ((ranges: SyncPortRange[]) => void) | undefined;

  constructor() {
    super('pio', 0x1_0000);
  }

  // Only the ports a range covers are touched: a BAR move during boot costs its span, not 64 Ki.
  protected override onInsert(r: BusRange): void {
    const index = this.freeIndexes.pop() ?? this.byIndex.length;
    this.byIndex[index] = r;
    this.indexOf.fill(index, r.base, r.base + r.span);
  }

  protected override onRemove(r: BusRange): void {
    const index = this.indexOf[r.base]!;
    this.byIndex[index] = undefined;
    this.freeIndexes.push(index);
    this.indexOf.fill(0, r.base, r.base + r.span);
  }

  // Only a device that declares sync registers can change where they are.
  protected override onChange(device: BusDevice): void {
    if (device.syncRegisters?.length) this.onSyncChange?.(this.syncRanges());
  }

  /** Where the sync registers of the inserted devices are now. */
  syncRanges(): SyncPortRange[] {
    return this.ranges.flatMap((r) => (r.device.syncRegisters ?? []).map((s) => ({ kind: s.kind, port: r.base + s.offset, span: s.span, device: r.device, offset: s.offset })));
  }

  find(port: number): BusRange | undefined {
    return this.byIndex[this.indexOf[port]!];
  }

  /**
   * String PIO: `data.length / size` accesses of `size` bytes at `port`, packed in `data`. The port
   * is resolved once: an access to a port moves no range that covers that same port (only PCI
   * configuration writes move ranges, and the configuration ports never move). Unassigned, every
   * element reads all ones and counts.
   */
  readRepeated(port: number, size: number, data: Uint8Array): BusRange | undefined {
    return this.repeat(port, size, data, true);
  }

  writeRepeated(port: number, size: number, data: Uint8Array): BusRange | undefined {
    return this.repeat(port, size, data, false);
  }

  private repeat(port: number, size: number, data: Uint8Array, isIn: boolean): BusRange | undefined {
    const r = this.find(port);
    if (r === undefined) {
      if (isIn) {
        data.fill(0xff);
        this.unassignedReads += data.length / size;
      } else this.unassignedWrites += data.length / size;
      return undefined;
    }
    const { device } = r;
    const offset = port - r.base;
    const runs = isIn ? device.readRepeated : device.writeRepeated;
    if (runs) runs.call(device, offset, size, data);
    else for (let at = 0; at < data.length; at += size) (isIn ? device.read : device.write).call(device, offset, data.subarray(at, at + size));
    return r;
  }
}

export class MmioBus extends RangeBus {
  constructor() {
    super('mmio', 2 ** 52);
  }

  find(gpa: number): BusRange | undefined {
    const rs = this.ranges;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid]!;
      if (gpa < r.base) hi = mid - 1;
      else if (gpa >= r.base + r.span) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  /** Whether no range covers any byte of [base, base + span) (a whole page nobody claims). */
  isEmpty(base: number, span: number): boolean {
    const rs = this.ranges;
    // The first range that ends after `base`; the span is empty if there is none or it starts past the span.
    let lo = 0;
    let hi = rs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid]!;
      if (r.base + r.span <= base) lo = mid + 1;
      else hi = mid;
    }
    return lo === rs.length || rs[lo]!.base >= base + span;
  }
}
