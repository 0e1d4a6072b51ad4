// PIIX3 PCI-to-ISA bridge, PCI 00:01.0 (8086:7000, class 0601, header type 0x80: functions
// 01.1 IDE and 01.3 PM sit beside it, and scans skip functions 1-7 unless function 0 says so).
// Follows the 82371SB datasheet (PIRQRC[A:D]) and QEMU 7.2 hw/isa/piix3.c, checked against
// SeaBIOS 1.16.2 src/fw/pciinit.c piix_isa_bridge_setup, which writes 10, 10, 11, 11 to
// 0x60-0x63. Class 06/01 also matters to OVMF: its SioBusDxe binds to an ISA bridge and only then
// brings up the serial console.
// Subset: PIRQ route control 0x60-0x63 (bit 7 = routing disabled, bits 3:0 = ISA IRQ; reset 0x80),
// reported through `onPirqChange` so the machine can steer PCI INTx to GSIs; command 0x0007 and
// status 0x0200 at reset as in QEMU.
// Left out (QEMU stores them, firmware never touches them): ISA I/O recovery timer 0x4C, XBCS 0x4E,
// top of memory 0x69, motherboard IRQ routing 0x70, motherboard DMA 0x76-0x77, PCSC 0x78, APM/SMI
// registers 0xA0-0xAE. The ELCR (0x4D0/0x4D1) lives in KVM's PIC; the reset control register 0xCF9
// is a separate device; the ISA DMA controller and RTC are separate devices.

import { configError } from '../../errors.js';
import { PIIX_SLOT } from '../../layout.js';
import { PCI_HEADER_TYPE_MULTIFUNCTION, PciFunction, QEMU_SUBSYSTEM_ID, QEMU_SUBSYSTEM_VENDOR } from './pci-function.js';

export const PIIX3_VENDOR_ID = 0x8086;
export const PIIX3_DEVICE_ID = 0x7000;
const CLASS_BRIDGE_ISA = 0x06_01_00;
/** Master, memory and IO enabled at reset (QEMU piix3_reset). */
const PIIX3_COMMAND_RESET = 0x0007;
/** DEVSEL timing medium. */
const PIIX3_STATUS_RESET = 0x0200;

/** PIRQRC[A] .. PIRQRC[D]. */
export const PIIX_PIRQ_ROUTE = 0x60;
export const PIIX_PIRQ_COUNT = 4;
const PIRQ_ROUTE_DISABLED = 0x80;
/** IRQEN# and the IRQ number; bits 6:4 are reserved. */
const PIRQ_ROUTE_WRITABLE = 0x8f;
/** ISA IRQs a route can name; QEMU treats any value >= 16 as disabled. */
const ISA_IRQ_COUNT = 16;

/**
 * The PIRQ (0 = A .. 3 = D) a device in bus-0 `slot` drives with interrupt `pin` (1 = INTA#).
 * This is QEMU's i440FX swizzle (pci_slot_get_pirq), which SeaBIOS (piix_pci_slot_get_irq), OVMF
 * and QEMU's _PRT all assume: (pin - 1 + slot - 1) & 3.
 */
export function pirqForSlot(slot: number, pin: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot > 31) throw configError('PCI slot', slot, '0-31');
  if (!Number.isInteger(pin) || pin < 1 || pin > 4) throw configError('interrupt pin', pin, '1-4 (INTA#-INTD#)');
  return (pin - 1 + slot - 1) & 3;
}

/** Decode a PIRQ route control byte: the ISA IRQ it routes to, or null when routing is disabled. */
export function decodePirqRoute(value: number): number | null {
  return value < ISA_IRQ_COUNT ? value : null;
}

export interface Piix3Options {
  /** Called when a PIRQ's decoded route changes, and for every PIRQ on reset(). */
  onPirqChange?: (pirq: number, irq: number | null) => void;
}

export class Piix3 extends PciFunction {
  private readonly onPirqChange: ((pirq: number, irq: number | null) => void) | undefined;
  private readonly routes: (number | null)[] = new Array(PIIX_PIRQ_COUNT).fill(null);

  constructor(options: Piix3Options = {}) {
    super('piix3', { bus: 0, device: PIIX_SLOT, function: 0 });
    if (options.onPirqChange !== undefined && typeof options.onPirqChange !== 'function') {
      throw configError('onPirqChange', typeof options.onPirqChange, 'a function');
    }
    this.onPirqChange = options.onPirqChange;
    this.setIds(PIIX3_VENDOR_ID, PIIX3_DEVICE_ID);
    this.setClass(CLASS_BRIDGE_ISA);
    this.setHeaderType(PCI_HEADER_TYPE_MULTIFUNCTION);
    this.setSubsystem(QEMU_SUBSYSTEM_VENDOR, QEMU_SUBSYSTEM_ID);
    this.setCommand(PIIX3_COMMAND_RESET);
    this.setStatus(PIIX3_STATUS_RESET);
    for (let i = 0; i < PIIX_PIRQ_COUNT; i++) {
      this.define(PIIX_PIRQ_ROUTE + i, 1, PIRQ_ROUTE_DISABLED, PIRQ_ROUTE_WRITABLE);
    }
  }

  /** The ISA IRQ PIRQ `pirq` (0-3) is routed to, or null. */
  pirqRoute(pirq: number): number | null {
    return decodePirqRoute(this.config[PIIX_PIRQ_ROUTE + pirq]!);
  }

  protected override onConfigWrite(offset: number, size: number): void {
    if (offset + size <= PIIX_PIRQ_ROUTE || offset >= PIIX_PIRQ_ROUTE + PIIX_PIRQ_COUNT) return;
    for (let pirq = 0; pirq < PIIX_PIRQ_COUNT; pirq++) {
      const irq = this.pirqRoute(pirq);
      if (irq === this.routes[pirq]) continue;
      this.routes[pirq] = irq;
      this.onPirqChange?.(pirq, irq);
    }
  }

  override reset(): void {
    super.reset();
    for (let pirq = 0; pirq < PIIX_PIRQ_COUNT; pirq++) {
      const irq = this.pirqRoute(pirq);
      this.routes[pirq] = irq;
      this.onPirqChange?.(pirq, irq);
    }
  }
}
