// The devices a vCPU thread serves itself: for each sync register kind (device.ts SyncKind) a
// thread-local instance, built from the kind alone, and the table of where the owner's bus has
// them mapped (published through the control block, read again when its version changes). The
// same table names the registers whose writes the thread may post (SyncKind.PostedWrite) and those
// whose byte reads it may answer from the value the owner published (SyncKind.ShadowRead).
// This file is on a vCPU thread's start path: it imports only small device files.

import { ConsoleBuffer } from '../machine/console-buffer.js';
import { type BusDevice, SyncKind } from './device.js';
import { DEBUGCON_READBACK } from './legacy/debugcon.js';
import { PostCode } from './legacy/post-code.js';
import { PM_TIMER_MASK, PmTimer } from './pci/pm-timer.js';

/** A thread-local instance: which access sizes it serves itself (the rest go to the owner), and what to flush at the end. */
export interface SyncDevice extends BusDevice {
  serves(size: number): boolean;
  flush?(): void;
}

export interface SyncDeviceOptions {
  pmTimerEpochMs: number;
  /** Where a thread's debug-console lines go (a 'serial' event on port debugcon). */
  emit?(event: Record<string, unknown>): void;
  /**
   * The ShadowRead value the owner last published for table entry `index` of the table `version`
   * (negative: ask the owner, also when the table changed since).
   */
  readShadow?(index: number, version: number): number;
}

export interface SyncMapping {
  kind: number;
  port: number;
  span: number;
}

/** PM_TMR alone (4 bytes): narrower reads see their bytes of the 24-bit count, writes are ignored (read-only). */
class LocalPmTimer implements SyncDevice {
  readonly name = 'pm-timer';
  constructor(private readonly timer: PmTimer) {}
  serves(): boolean {
    return true;
  }
  read(offset: number, data: Uint8Array): void {
    const v = this.timer.read() & PM_TIMER_MASK;
    for (let i = 0; i < data.length; i++) data[i] = (v >>> (8 * (offset + i))) & 0xff;
  }
  write(): void {}
}

/** Port 0x80: a thread's own POST-code latch. */
class LocalPostCode extends PostCode implements SyncDevice {
  serves(): boolean {
    return true;
  }
}

/** 0x402 byte accesses: reads 0xE9, writes buffered per line into this thread's 'serial' events. */
class LocalDebugcon implements SyncDevice {
  readonly name = 'debugcon';
  private readonly out: ConsoleBuffer;
  constructor(emit: (event: Record<string, unknown>) => void) {
    this.out = new ConsoleBuffer((text) => emit({ event: 'serial', port: 'debugcon', data: text }));
  }
  serves(size: number): boolean {
    return size === 1;
  }
  read(_offset: number, data: Uint8Array): void {
    data[0] = DEBUGCON_READBACK;
  }
  write(_offset: number, data: Uint8Array): void {
    this.out.push(data[0]!);
  }
  flush(): void {
    this.out.flush();
  }
}

export function createSyncDevice(kind: number, options: SyncDeviceOptions): SyncDevice | undefined {
  switch (kind) {
    case SyncKind.PmTimer:
      return new LocalPmTimer(new PmTimer({ epochMs: options.pmTimerEpochMs }));
    case SyncKind.PostCode:
      return new LocalPostCode();
    case SyncKind.Debugcon:
      return options.emit ? new LocalDebugcon(options.emit) : undefined;
    default:
      return undefined;
  }
}

/** Port → (device, base) for the sync registers a vCPU thread serves itself. */
export class SyncPortMap {
  private readonly byPort = new Map<number, { device: SyncDevice; base: number }>();
  private readonly instances = new Map<number, SyncDevice>();
  /** Posted-write registers: port → the one access size that may be posted there. */
  private readonly posted = new Map<number, number>();
  /** ShadowRead registers: port → the table entry holding its published value. */
  private readonly shadows = new Map<number, number>();
  /** The table version of the current mappings (a shadow value is read under it). */
  private version = 0;

  constructor(private readonly options: SyncDeviceOptions) {}

  /** Replace the mappings (the owner moved a device, e.g. the firmware programmed PMBASE); `version`: the table's. */
  update(mappings: readonly SyncMapping[], version = 0): void {
    this.version = version;
    this.byPort.clear();
    this.posted.clear();
    this.shadows.clear();
    for (const [index, m] of mappings.entries()) {
      if (m.kind === SyncKind.PostedWrite || m.kind === SyncKind.ConfigAddress) {
        this.posted.set(m.port, m.span);
        continue;
      }
      if (m.kind === SyncKind.ShadowRead) {
        if (this.options.readShadow) this.shadows.set(m.port, index);
        continue;
      }
      let device = this.instances.get(m.kind);
      if (device === undefined) {
        device = createSyncDevice(m.kind, this.options);
        if (device === undefined) continue;
        this.instances.set(m.kind, device);
      }
      for (let p = m.port; p < m.port + m.span; p++) this.byPort.set(p, { device, base: m.port });
    }
  }

  /**
   * Serve a PIO access locally when every byte of it is a sync register, or it is a byte read of a
   * shadow-read register whose value is published; false to hand it over.
   * String PIO (count > 1) always goes to the owner: it is rare and may cross registers.
   */
  serve(isIn: boolean, port: number, size: number, count: number, data: Uint8Array): boolean {
    if (count !== 1) return false;
    if (isIn && size === 1 && this.shadows.size > 0) {
      const index = this.shadows.get(port);
      if (index !== undefined) {
        const value = this.options.readShadow!(index, this.version);
        if (value < 0) return false;
        data[0] = value;
        return true;
      }
    }
    const hit = this.byPort.get(port);
    if (hit === undefined || this.byPort.get(port + size - 1)?.device !== hit.device || !hit.device.serves(size)) return false;
    if (isIn) hit.device.read(port - hit.base, data);
    else hit.device.write(port - hit.base, data);
    return true;
  }

  /** Whether a write of `size` bytes at `port` may be posted: exactly a posted register, one element. */
  posts(port: number, size: number, count: number): boolean {
    return count === 1 && this.posted.get(port) === size;
  }

  /** Hand on what the thread's instances still buffer (at the end of the run). */
  flush(): void {
    for (const d of this.instances.values()) d.flush?.();
  }
}
