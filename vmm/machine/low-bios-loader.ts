// The vmd-low-bios-only quirk's firmware loader: OpenBSD vmd loads SeaBIOS into guest RAM below
// 1 MiB (the last 128 KiB of the image at 0xE0000) when it starts a VM and again when the VM is
// reset, and maps no copy ending at 4 GiB. Nothing else of the machine changes; the PAM registers
// start as RAM (i440fx pamReset), so SeaBIOS's shadowing finds its code already in RAM.

import { BIOS_LOW_BASE, BIOS_LOW_SIZE } from '../layout.js';
import type { MachineServices } from '../devices/device.js';

export class LowBiosLoader {
  private readonly image: Uint8Array;

  constructor(
    private readonly services: Pick<MachineServices, 'writeGuest'>,
    firmware: Uint8Array,
  ) {
    const size = Math.min(firmware.length, BIOS_LOW_SIZE);
    this.image = firmware.subarray(firmware.length - size);
    this.reset();
  }

  /** Machine reset (and power-on): the firmware is loaded again, as vmd reloads it. */
  reset(): void {
    this.services.writeGuest(BIOS_LOW_BASE + BIOS_LOW_SIZE - this.image.length, this.image);
  }
}
