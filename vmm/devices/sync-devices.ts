// The devices a vCPU thread serves itself: for each sync register kind (device.ts SyncKind) a
// thread-local instance, built from the kind alone, and the table of where the owner's bus has
// them mapped (published through the control block, read again when its version changes).
// This file is on a vCPU thread's start path: it imports only the two small device files.

import { type BusDevice, SyncKind } from './device.js';
import { PostCode } from './legacy/post-code.js';
import { PM_TIMER_MASK, PmTimer } from './pci/pm-timer.js';

export interface SyncMapping {
  kind: number;
  port: number;
  span: number;
}

/** PM_TMR alone (4 bytes): narrower reads see their bytes of the 24-bit count, writes are ignored (read-only). */
class LocalPmTimer implements BusDevice {
  readonly name = 'pm-timer';
  constructor(private readonly timer: PmTimer) {}
  read(offset: number, data: Uint8Array): void {
    const v = this.timer.read() & PM_TIMER_MASK;
    for (let i = 0; i < data.length; i++) data[i] = (v >>> (8 * (offset + i))) & 0xff;
  }
  write(): void {}
}

export function createSyncDevice(kind: number, options: { pmTimerEpochMs: number }): BusDevice | undefined {
  switch (kind) {
    case SyncKind.PmTimer:
      return new LocalPmTimer(new PmTimer({ epochMs: options.pmTimerEpochMs }));
    case SyncKind.PostCode:
      return new PostCode();
    default:
      return undefined;
  }
}

/** Port → (device, base) for the sync registers a vCPU thread serves itself. */
export class SyncPortMap {
  private readonly byPort = new Map<number, { device: BusDevice; base: number }>();
  private readonly instances = new Map<number, BusDevice>();

  constructor(private readonly options: { pmTimerEpochMs: number }) {}

  /** Replace the mappings (the owner moved a device, e.g. the firmware programmed PMBASE). */
  update(mappings: readonly SyncMapping[]): void {
    this.byPort.clear();
    for (const m of mappings) {
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
   * Serve a PIO access locally when every byte of it is a sync register; false to hand it over.
   * String PIO (count > 1) always goes to the owner: it is rare and may cross registers.
   */
  serve(isIn: boolean, port: number, size: number, count: number, data: Uint8Array): boolean {
    if (count !== 1) return false;
    const hit = this.byPort.get(port);
    if (hit === undefined || this.byPort.get(port + size - 1)?.device !== hit.device) return false;
    if (isIn) hit.device.read(port - hit.base, data);
    else hit.device.write(port - hit.base, data);
    return true;
  }
}
