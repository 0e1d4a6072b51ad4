// GSI routing of the `pc` machine with KVM's in-kernel PIC pair and IOAPIC, as QEMU 7.2 sets it
// (kvm_pc_setup_irq_routing): ISA IRQs 0-15 reach the PICs (except the cascade, 2) and IOAPIC pins
// 1-15; IRQ 0 (the PIT) goes to IOAPIC pin 2, matching the MADT's interrupt source override 0→2
// and SeaBIOS's irq0-override MP table; GSIs 16-23 (PCI INTx through PIRQ links) reach the IOAPIC.

import type { IrqRoute } from '../accel/types.js';

export const IOAPIC_PINS = 24;
const ISA_IRQS = 16;
const CASCADE_IRQ = 2;
const TIMER_IOAPIC_PIN = 2;

export function pcIrqRouting(): IrqRoute[] {
  const routes: IrqRoute[] = [];
  for (let irq = 0; irq < ISA_IRQS; irq++) {
    if (irq === CASCADE_IRQ) continue;
    routes.push(irq < 8 ? { gsi: irq, chip: 'pic-master', pin: irq } : { gsi: irq, chip: 'pic-slave', pin: irq - 8 });
  }
  for (let gsi = 0; gsi < IOAPIC_PINS; gsi++) {
    if (gsi === CASCADE_IRQ) continue;
    routes.push({ gsi, chip: 'ioapic', pin: gsi === 0 ? TIMER_IOAPIC_PIN : gsi });
  }
  return routes;
}
