// System Control Port A at 0x92 ("fast A20 and reset"), after the IBM PS/2 technical reference
// and QEMU's hw/i386/pc.c port92 (read for the edge rule). SeaBIOS read-modify-writes it to set A20
// (docs/platform.md), so it must read back what was written.
//
// Implemented: an 8-bit latch that reads back; bit 1 = A20 gate (recorded only: KVM guests always
// run with A20 on); a 0-to-1 edge of bit 0 asks the machine for a reset. Bit 0 is cleared when that
// happens, so it reads back as 0 (on hardware the reset pulse is self-timed).
// Left out: the other bits (watchdog status, security lock, disk activity LEDs) are plain latch
// bits. Wider accesses see one register and the rest as unassigned (reads 0xFF, writes dropped).

import type { BusDevice, MachineServices } from '../device.js';

export const PORT92_BASE = 0x92;
export const PORT92_SPAN = 1;

const BIT_RESET = 0x01;
const BIT_A20 = 0x02;

export class Port92 implements BusDevice {
  readonly name = 'port92';
  private value = 0;

  constructor(private readonly services: MachineServices) {}

  /** Power-on state: everything 0 (A20 reads back off, as QEMU's port92 at power-on). */
  reset(): void {
    this.value = 0;
  }

  get a20(): boolean {
    return (this.value & BIT_A20) !== 0;
  }

  read(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) data[i] = offset + i === 0 ? this.value : 0xff;
  }

  write(offset: number, data: Uint8Array): void {
    if (offset !== 0) return;
    const v = data[0]!;
    const old = this.value;
    this.value = v;
    if (v & BIT_RESET && !(old & BIT_RESET)) {
      this.value &= ~BIT_RESET;
      this.services.requestReset('port92');
    }
  }
}
