// Reset Control Register at 0xCF9 (Intel PIIX3/PIIX4 datasheets "RC", ICH9 "RST_CNT"). SeaBIOS
// writes 0x02 then 0x06 to reboot, OVMF 0x06, Linux (reboot=pci) 0x02 then 0x0E (0x06 for a warm reboot), and the FADT reset
// register names it (docs/platform.md).
//
// Implemented: a latch of bits 1-3 (1 SYS_RST hard/soft, 2 RST_CPU, 3 FULL_RST on ICH); a write
// with bit 2 set asks the machine for a reset (whatever bits 1 and 3 say: bootgate has one kind
// of reset); bit 2 self-clears, so it always reads back 0. Bits 0 and 4-7 read as 0.
// The reset's source names the value written ("cf9 0x0e"): Linux's reboot=pci writes 0x0E (cold),
// the FADT reset register and SeaBIOS 0x06, so the event stream tells the reboot paths apart.
// Left out: the soft/hard reset distinction, ICH9's full reset power cycling.
//
// Bus overlap: 0xCF9 lies inside 0xCF8-0xCFB, the PCI CONFIG_ADDRESS register. The PCI host bridge
// claims CONFIG_ADDRESS only for dword accesses at 0xCF8 (PCI Local Bus spec 3.2.2.3.2); byte
// and word accesses there are ordinary I/O cycles, which is how a byte write to 0xCF9 reaches this
// register. QEMU gives this register a higher-priority 1-byte region over the host's 4-byte one.
// This file only provides the device (1 byte at 0xCF9); how the PIO bus splits the range (e.g.
// the PCI host owns 0xCF8 for 4-byte accesses, this device owns byte accesses at 0xCF9) is the
// bus/machine owner's decision.

import type { BusDevice, MachineServices } from '../device.js';

export const RESET_CONTROL_PORT = 0xcf9;
export const RESET_CONTROL_SPAN = 1;

const RCR_SYS_RST = 0x02;
const RCR_RST_CPU = 0x04;
const RCR_FULL_RST = 0x08;
const RCR_LATCHED = RCR_SYS_RST | RCR_FULL_RST;

export class ResetControl implements BusDevice {
  readonly name = 'reset-control';
  private value = 0;

  constructor(private readonly services: MachineServices) {}

  reset(): void {
    this.value = 0;
  }

  read(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) data[i] = offset + i === 0 ? this.value : 0xff;
  }

  write(offset: number, data: Uint8Array): void {
    if (offset !== 0) return;
    const v = data[0]!;
    this.value = v & RCR_LATCHED;
    if (v & RCR_RST_CPU) this.services.requestReset(`cf9 0x${v.toString(16).padStart(2, '0')}`);
  }
}
