// The machine core that devices see: buses, guest-memory access, interrupt lines, and the
// reset/power-off requests that the BSP loop acts on between exits. Device sets (pc-devices.ts)
// are assembled on top of it. Lives on the device-owner thread only.

import type { Vm } from '../accel/types.js';
import { MmioBus, PioBus } from '../bus/bus.js';
import type { MachineServices } from '../devices/device.js';
import { BootgateError } from '../errors.js';
import { guestRamOffset, type HostMemory } from '../memory/host-memory.js';

/**
 * A reset asked for between exits. `vcpu` is the vCPU whose exit asked for it and `rip` (hex, the
 * BSP only: an AP's registers stay on its thread) the linear address after the instruction that
 * did, so a suite can tell firmware (below 1 MiB) from the kernel writing the same register.
 */
export type PendingReset = { kind: 'reset'; source: string; vcpu?: number; rip?: string };
export type PendingAction = PendingReset | { kind: 'power-off'; source: string; code?: number };

export interface Resettable {
  reset(): void;
}

export class Machine implements MachineServices {
  readonly pio = new PioBus();
  readonly mmio = new MmioBus();
  pending: PendingAction | null = null;
  guestMisuses = 0;
  private readonly resettables: Resettable[] = [];

  constructor(
    public vm: Vm,
    readonly ram: HostMemory,
    readonly ramBelow4G: number,
    readonly ramAbove4G: number,
    private readonly sink: (event: Record<string, unknown>) => void,
  ) {}

  /** Register something whose state returns to power-on values on a machine reset. */
  onReset<T extends Resettable>(device: T): T {
    this.resettables.push(device);
    return device;
  }

  resetDevices(): void {
    for (const d of this.resettables) d.reset();
  }

  setIrqLine(gsi: number, level: boolean): void {
    this.vm.setIrqLine(gsi, level);
  }

  requestReset(source: string): void {
    // A power-off already requested wins over a reset requested after it.
    if (this.pending?.kind !== 'power-off') this.pending = { kind: 'reset', source };
  }

  requestPowerOff(source: string, code?: number): void {
    this.pending = { kind: 'power-off', source, code };
  }

  /** Offset into `ram` of guest-physical [gpa, gpa+length), or throws if that is not RAM. */
  private ramOffset(gpa: number, length: number): number {
    const off = guestRamOffset({ below4G: this.ramBelow4G, above4G: this.ramAbove4G }, gpa, length);
    if (off !== undefined) return off;
    throw new BootgateError('E_GUEST', `guest DMA to 0x${gpa.toString(16)}+${length} is outside guest RAM`);
  }

  readGuest(gpa: number, length: number): Uint8Array {
    const off = this.ramOffset(gpa, length);
    return this.ram.bytes.slice(off, off + length);
  }

  writeGuest(gpa: number, bytes: Uint8Array): void {
    this.ram.bytes.set(bytes, this.ramOffset(gpa, bytes.length));
  }

  emit(event: Record<string, unknown>): void {
    this.sink(event);
  }

  guestMisuse(device: string, what: string): void {
    this.guestMisuses++;
    // Log the first few of each storm; the count is always in the final metrics.
    if (this.guestMisuses <= 50) this.sink({ event: 'guest-misuse', device, what });
  }
}
