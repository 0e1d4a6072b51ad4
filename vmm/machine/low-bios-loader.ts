// The vmd-low-bios-only quirk's firmware layout: OpenBSD vmd loads SeaBIOS into guest RAM below
// 1 MiB (the last 128 KiB of the image at 0xE0000) when it starts a VM and again when the VM is
// reset, and maps no copy ending at 4 GiB: a guest access there is an unhandled page-fault exit
// that ends the VM (docs/seeds.md, seed 001: SeaBIOS's reboot path reads its 'pristine copy'
// there). Nothing else of the machine changes; the PAM registers start as RAM (i440fx pamReset),
// so SeaBIOS's shadowing finds its code already in RAM.

import type { BusDevice, MachineServices } from '../devices/device.js';
import { BootgateError } from '../errors.js';
import { BIOS_LOW_BASE, BIOS_LOW_SIZE, FOUR_GIB } from '../layout.js';

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

/** Where vmd has no high copy: any access ends the run, naming the address (vmd: the VM fails). */
export class MissingHighCopy implements BusDevice {
  readonly name = 'vmd-missing-high-copy';

  constructor(private readonly base: number) {}

  private fail(kind: string, offset: number): never {
    const gpa = this.base + offset;
    throw new BootgateError(
      'E_GUEST',
      `guest ${kind} gpa 0x${gpa.toString(16)} in the firmware's high copy (0x${this.base.toString(16)}-0x${(FOUR_GIB - 1).toString(16)}), which vmd-low-bios-only does not map: on vmd an unhandled page-fault exit that ends the VM`,
      { hint: 'map the firmware so that it ends at 4 GiB (drop --quirk vmd-low-bios-only)' },
    );
  }

  read(offset: number): void {
    this.fail('read', offset);
  }

  write(offset: number): void {
    this.fail('write', offset);
  }
}

