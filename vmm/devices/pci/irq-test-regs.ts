// The interrupt test device's guest-visible contract: PCI IDs and the BAR 0 register map, shared
// with its guest driver guests/irqtest/bootgate_irqtest.c (which repeats these numbers; its build
// test checks the IDs). The behaviour behind the registers is irq-test-device.ts.
// IDs 1b36:0110: Red Hat's vendor ID that QEMU uses for its own devices; QEMU's
// docs/specs/pci-ids.rst assigns 1b36:0001-0014 and 0100 (QXL), and no Linux 6.1 driver claims
// 0110 (the only 1b36 alias in Debian's cloud kernel is pvpanic-pci's 0011). Not an official
// assignment: it never leaves bootgate. Class 00ff00 (unclassified), like pci-testdev.
//
// BAR 0, 4 KiB memory, 32-bit registers (other sizes and offsets are guest misuse: reads return
// all ones, writes are dropped):
//   0x00 ID       RO  0x5451_5249 ("IRQT")
//   0x04 SCRATCH  RW  guest scratch, 0 at reset
//   0x08 MODE     RW  0 INTx, 1 MSI; only while idle (nothing pending or outstanding)
//   0x0C FIRE     WO  queue N more interrupts (1..FIRE_MAX); reads PENDING
//   0x10 ACK      WO  acknowledge the outstanding interrupt; the next one follows at once
//   0x14 STATUS   RO  bit 0 outstanding (raised, not acked), bit 1 pending, bit 2 blocked
//                     (pending but the delivery path is off: MSI mode without MSI enable or bus
//                     master, INTx mode while MSI is enabled)
//   0x18 PENDING  RO  interrupts queued and not raised yet
//   0x1C RAISED   RO  interrupts raised since power-on (INTx + MSI), mod 2^32
//   0x20 ACKED    RO  acknowledgements since power-on, mod 2^32
//   0x24 CANCEL   WO  drop everything pending and outstanding (the driver's recovery after it
//                     gave up on a lost interrupt)

export const IRQ_TEST_VENDOR_ID = 0x1b36;
export const IRQ_TEST_DEVICE_ID = 0x0110;
export const IRQ_TEST_CLASS = 0x00ff00;
export const IRQ_TEST_REVISION = 1;
export const IRQ_TEST_BAR_SIZE = 0x1000;

// BAR 0 registers.
export const REG_ID = 0x00;
export const REG_SCRATCH = 0x04;
export const REG_MODE = 0x08;
export const REG_FIRE = 0x0c;
export const REG_ACK = 0x10;
export const REG_STATUS = 0x14;
export const REG_PENDING = 0x18;
export const REG_RAISED = 0x1c;
export const REG_ACKED = 0x20;
export const REG_CANCEL = 0x24;
export const IRQ_TEST_ID = 0x5451_5249;
export const MODE_INTX = 0;
export const MODE_MSI = 1;
export const STATUS_OUTSTANDING = 0x1;
export const STATUS_PENDING = 0x2;
export const STATUS_BLOCKED = 0x4;
/** Most interrupts one FIRE write may queue; the queue total is capped at QUEUE_MAX. */
export const FIRE_MAX = 0x10_0000;
/** 2^31 - 1: pending interrupts never exceed what a signed 32-bit counter in the driver holds. */
export const QUEUE_MAX = 0x7fff_ffff;
