// Interrupt test device: a PCI function that raises exactly N interrupts when the guest asks, one
// at a time, each only after the guest acknowledged the previous one, over INTx (level) or MSI.
// The interrupt suite routes it to every vCPU in turn and compares the guest's per-CPU count with
// `stats()`; the guest side is guests/irqtest/bootgate_irqtest.c.
// IDs 1b36:0110: Red Hat's vendor ID that QEMU uses for its own devices; QEMU's
// docs/specs/pci-ids.rst assigns 1b36:0001-0014 and 0100 (QXL), and no Linux 6.1 driver claims
// 0110 (the only 1b36 alias in Debian's cloud kernel is pvpanic-pci's 0011). Not an official
// assignment: it never leaves bootgate. Class 00ff00 (unclassified), like pci-testdev.
// Follows PCI 3.0 (MSI capability, §6.8.1, 64-bit address, no per-vector masking; one message)
// and PCI 2.3's INTx disable (command bit 10) and interrupt status (status bit 3), as QEMU's
// pci_update_irq_status / pci_irq_disabled do. While MSI is enabled the function never asserts
// INTx (PCI 3.0 §6.8.1.3).
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
// Delivery: INTx is level-triggered: the line is high while an interrupt is outstanding, not
// acked and INTx is not disabled; ACK lowers it and, when more are pending, raises it again for
// the next one. The GSI is looked up at every assertion (`gsiFor`, the PIIX3 PIRQ route), so a
// guest that re-routes a PIRQ link is followed; `refreshIntx()` moves an asserted line at once.
// MSI sends one message per interrupt, the next one when the previous is acked. Counting is
// per interrupt raised, nothing is emitted per interrupt (hot path); `stats()` feeds the VMM's
// final `irq-test` event. An interrupt acked or cancelled STALL_REPORT_MS or more after it was
// raised is an `irq-stall` event naming where it was sent (a lost interrupt the guest recovered).
// A machine reset clears config space, MODE, SCRATCH and the queue but
// keeps the counters (they cover the whole VM run).
// Left out: MSI-X, multiple MSI messages, MSI masking, power management, INTB-INTD.

import type { MmioBus } from '../../bus/bus.js';
import type { BusDevice, MachineServices } from '../device.js';
import { getLE, setLE } from '../device.js';
import { configError } from '../../errors.js';
import { type BarChange, type Bdf, formatBdf, PCI_COMMAND, PCI_STATUS, PciFunction } from './pci-function.js';

export const IRQ_TEST_VENDOR_ID = 0x1b36;
export const IRQ_TEST_DEVICE_ID = 0x0110;
const IRQ_TEST_CLASS = 0x00ff00;
const IRQ_TEST_REVISION = 1;
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
/** Most interrupts one FIRE write may queue; the queue total is capped at 2^31 - 1. */
export const FIRE_MAX = 0x10_0000;
const QUEUE_MAX = 0x7fff_ffff;

// Config space: PCI 3.0 status bits and the MSI capability at 0x40.
const PCI_CAPABILITY_LIST = 0x34;
const PCI_STATUS_INTERRUPT = 0x0008;
const PCI_STATUS_CAP_LIST = 0x0010;
const PCI_COMMAND_MASTER = 0x0004;
const PCI_COMMAND_INTX_DISABLE = 0x0400;
const PCI_CAP_ID_MSI = 0x05;
export const MSI_CAP = 0x40;
const MSI_FLAGS = MSI_CAP + 2;
const MSI_ADDRESS_LO = MSI_CAP + 4;
const MSI_ADDRESS_HI = MSI_CAP + 8;
const MSI_DATA = MSI_CAP + 12;
const MSI_FLAGS_ENABLE = 0x0001;
/** Multiple Message Enable (bits 6:4): writable as in QEMU's msi_init; one message is used whatever it says. */
const MSI_FLAGS_QSIZE = 0x0070;
const MSI_FLAGS_64BIT = 0x0080;
/** The capability's length: ID, next, flags, address low/high, data. */
const MSI_CAP_END = MSI_DATA + 2;

/** What the device needs from the machine: an interrupt line, an MSI sink, a misuse counter. */
export interface IrqTestServices {
  setIrqLine: MachineServices['setIrqLine'];
  guestMisuse: MachineServices['guestMisuse'];
  /** Deliver one MSI (the machine's path to Vm.signalMsi, with its interrupt accounting). */
  signalMsi(addressLo: number, addressHi: number, data: number): void;
  /** Report an interrupt that waited long for its ACK (`irq-stall` event); optional in unit tests. */
  emit?: MachineServices['emit'];
}

/** An interrupt acknowledged this long (ms) after it was raised is reported as a stall. */
export const STALL_REPORT_MS = 500;

export interface IrqTestDeviceOptions {
  bdf: Bdf;
  mmio: MmioBus;
  services: IrqTestServices;
  /** The GSI INTA# of this slot reaches now (PIIX3 PIRQ route), or null when the route is disabled. */
  gsiFor: () => number | null;
}

export type IrqTestMode = 'intx' | 'msi';

/** Counters for the VMM's final `irq-test` event; the suite compares `raised` with the guest's counts. */
export interface IrqTestStats {
  bdf: string;
  mode: IrqTestMode;
  /** Interrupts the guest asked for (sum of FIRE writes). */
  fired: number;
  /** Interrupts raised: INTx assertions and MSI messages sent, one per interrupt. */
  raised: { intx: number; msi: number };
  acked: number;
  /** ACK writes with nothing outstanding. */
  spuriousAcks: number;
  /** Interrupts dropped by CANCEL or a machine reset before they were acked. */
  cancelled: number;
  /** INTx assertions made while the PIRQ route was disabled: the line reached no GSI. */
  unroutedIntx: number;
  pending: number;
  outstanding: IrqTestMode | null;
  /** Interrupts acked or cancelled at least STALL_REPORT_MS after they were raised, and the longest wait. */
  stalls: number;
  longestWaitMs: number;
  /** The MSI message programmed now (address, data), for the report. */
  msi: { enabled: boolean; address: string; data: number };
  gsi: number | null;
}

/** The interrupt raised and not acked yet: when, and where it went (formatted only for a stall report). */
type Outstanding = { kind: 'none' } | { kind: 'intx'; at: number; gsi: number | null } | { kind: 'msi'; at: number; address: number; data: number };

export class IrqTestDevice extends PciFunction {
  private readonly mmio: MmioBus;
  private readonly services: IrqTestServices;
  private readonly gsiFor: () => number | null;
  private readonly region: BusDevice;

  private mode = MODE_INTX;
  private scratch = 0;
  private pending = 0;
  private outstanding: Outstanding = { kind: 'none' };
  /** The GSI the line is asserted on, or null while it is low. */
  private assertedGsi: number | null = null;

  private fired = 0;
  private raisedIntx = 0;
  private raisedMsi = 0;
  private acked = 0;
  private spuriousAcks = 0;
  private cancelled = 0;
  private unroutedIntx = 0;
  private stalls = 0;
  private longestWaitMs = 0;

  constructor(options: IrqTestDeviceOptions) {
    super(`irq-test@${formatBdf(options.bdf)}`, options.bdf);
    if (typeof options.gsiFor !== 'function') throw configError('irq-test gsiFor', typeof options.gsiFor, 'a function');
    if (typeof options.services?.signalMsi !== 'function') {
      throw configError('irq-test services.signalMsi', typeof options.services?.signalMsi, 'a function');
    }
    this.mmio = options.mmio;
    this.services = options.services;
    this.gsiFor = options.gsiFor;
    this.setIds(IRQ_TEST_VENDOR_ID, IRQ_TEST_DEVICE_ID);
    this.setClass(IRQ_TEST_CLASS);
    this.setRevision(IRQ_TEST_REVISION);
    this.setInterruptPin(1);
    this.setStatus(PCI_STATUS_CAP_LIST);
    this.define(PCI_CAPABILITY_LIST, 1, MSI_CAP);
    this.define(MSI_CAP, 1, PCI_CAP_ID_MSI);
    this.define(MSI_CAP + 1, 1, 0);
    this.define(MSI_FLAGS, 2, MSI_FLAGS_64BIT, MSI_FLAGS_ENABLE | MSI_FLAGS_QSIZE);
    this.define(MSI_ADDRESS_LO, 4, 0, 0xffff_fffc);
    this.define(MSI_ADDRESS_HI, 4, 0, 0xffff_ffff);
    this.define(MSI_DATA, 2, 0, 0xffff);
    this.addBar(0, { kind: 'mem32', size: IRQ_TEST_BAR_SIZE });
    this.region = {
      name: `${this.name}-bar0`,
      read: (offset, data) => this.readRegister(offset, data),
      write: (offset, data) => this.writeRegister(offset, data),
    };
  }

  stats(): IrqTestStats {
    const lo = this.dword(MSI_ADDRESS_LO);
    const hi = this.dword(MSI_ADDRESS_HI);
    return {
      bdf: formatBdf(this.bdf),
      mode: this.mode === MODE_MSI ? 'msi' : 'intx',
      fired: this.fired,
      raised: { intx: this.raisedIntx, msi: this.raisedMsi },
      acked: this.acked,
      spuriousAcks: this.spuriousAcks,
      cancelled: this.cancelled,
      unroutedIntx: this.unroutedIntx,
      pending: this.pending,
      outstanding: this.outstanding.kind === 'none' ? null : this.outstanding.kind,
      stalls: this.stalls,
      longestWaitMs: Math.round(this.longestWaitMs * 10) / 10,
      msi: {
        enabled: this.msiEnabled(),
        address: `0x${(hi * 0x1_0000_0000 + lo).toString(16)}`,
        data: this.readConfig(MSI_DATA, 2),
      },
      gsi: this.gsiFor(),
    };
  }

  /** The PIRQ route changed: move an asserted line to the GSI the slot reaches now. */
  refreshIntx(): void {
    this.updateLine();
  }

  override reset(): void {
    this.lowerLine();
    if (this.outstanding.kind !== 'none') this.cancelled++;
    this.cancelled += this.pending;
    this.pending = 0;
    this.outstanding = { kind: 'none' };
    this.mode = MODE_INTX;
    this.scratch = 0;
    super.reset();
    this.updateInterruptStatus();
  }

  protected override barChanged(change: BarChange): void {
    try {
      this.mmio.move(this.region, change.newBase, change.size);
    } catch (e) {
      // The guest placed the BAR over another region: leave it unmapped, as PciTestDevice does.
      this.mmio.remove(this.region);
      this.services.guestMisuse(this.name, `BAR 0 at 0x${change.newBase?.toString(16)}: ${(e as Error).message}`);
    }
    super.barChanged(change);
  }

  protected override onConfigWrite(offset: number, size: number): void {
    const end = offset + size;
    const touches = (lo: number, hi: number) => offset < hi && end > lo;
    // Command (INTx disable, bus master) and the MSI flags decide the delivery path.
    if (touches(PCI_COMMAND, PCI_COMMAND + 2) || touches(MSI_CAP, MSI_CAP_END)) {
      this.updateLine();
      this.deliverNext();
    }
  }

  private readRegister(offset: number, data: Uint8Array): void {
    if (data.length !== 4 || (offset & 3) !== 0) {
      this.misuse(`${data.length}-byte read at 0x${offset.toString(16)}`);
      data.fill(0xff);
      return;
    }
    let v = 0;
    switch (offset) {
      case REG_ID:
        v = IRQ_TEST_ID;
        break;
      case REG_SCRATCH:
        v = this.scratch;
        break;
      case REG_MODE:
        v = this.mode;
        break;
      case REG_FIRE:
      case REG_PENDING:
        v = this.pending;
        break;
      case REG_STATUS:
        v = this.status();
        break;
      case REG_RAISED:
        v = (this.raisedIntx + this.raisedMsi) % 0x1_0000_0000;
        break;
      case REG_ACKED:
        v = this.acked % 0x1_0000_0000;
        break;
      default:
        v = 0; // ACK, CANCEL and the unused rest of the BAR read as zero.
    }
    setLE(data, v);
  }

  private writeRegister(offset: number, data: Uint8Array): void {
    if (data.length !== 4 || (offset & 3) !== 0) {
      this.misuse(`${data.length}-byte write at 0x${offset.toString(16)}`);
      return;
    }
    const v = getLE(data);
    switch (offset) {
      case REG_SCRATCH:
        this.scratch = v;
        break;
      case REG_MODE:
        this.writeMode(v);
        break;
      case REG_FIRE:
        this.fire(v);
        break;
      case REG_ACK:
        this.ack();
        break;
      case REG_CANCEL:
        this.cancel();
        break;
      default:
        this.misuse(`write of 0x${v.toString(16)} to read-only or unused register 0x${offset.toString(16)}`);
    }
  }

  private writeMode(v: number): void {
    if (v !== MODE_INTX && v !== MODE_MSI) {
      this.misuse(`MODE ${v} (0 INTx, 1 MSI)`);
      return;
    }
    if (v === this.mode) return;
    if (this.pending > 0 || this.outstanding.kind !== 'none') {
      this.misuse('MODE changed while interrupts are pending or outstanding; ignored');
      return;
    }
    this.mode = v;
  }

  private fire(n: number): void {
    if (n < 1 || n > FIRE_MAX || this.pending + n > QUEUE_MAX) {
      this.misuse(`FIRE ${n} (1..${FIRE_MAX}, with ${this.pending} already pending)`);
      return;
    }
    this.fired += n;
    this.pending += n;
    this.deliverNext();
  }

  private ack(): void {
    if (this.outstanding.kind === 'none') {
      this.spuriousAcks++;
      return;
    }
    this.acked++;
    this.retire('acked');
    this.updateInterruptStatus();
    this.updateLine();
    this.deliverNext();
  }

  private cancel(): void {
    if (this.outstanding.kind !== 'none') this.cancelled++;
    this.cancelled += this.pending;
    this.pending = 0;
    this.retire('cancelled');
    this.updateInterruptStatus();
    this.updateLine();
  }

  /** Raise the next pending interrupt if none is outstanding and the delivery path is on. */
  private deliverNext(): void {
    if (this.outstanding.kind !== 'none' || this.pending === 0) return;
    const path = this.deliveryPath();
    if (path === null) return;
    this.pending--;
    if (path === 'msi') {
      const lo = this.dword(MSI_ADDRESS_LO);
      const data = this.readConfig(MSI_DATA, 2);
      this.outstanding = { kind: path, at: performance.now(), address: lo, data };
      this.updateInterruptStatus();
      this.raisedMsi++;
      this.services.signalMsi(lo, this.dword(MSI_ADDRESS_HI), data);
    } else {
      const gsi = this.gsiFor();
      this.outstanding = { kind: path, at: performance.now(), gsi };
      this.updateInterruptStatus();
      this.raisedIntx++;
      if (gsi === null) this.unroutedIntx++;
      this.updateLine();
    }
  }

  /** The outstanding interrupt is over (acked or cancelled); a long wait is counted and reported. */
  private retire(how: 'acked' | 'cancelled'): void {
    const o = this.outstanding;
    this.outstanding = { kind: 'none' };
    if (o.kind === 'none') return;
    const ms = performance.now() - o.at;
    if (ms > this.longestWaitMs) this.longestWaitMs = ms;
    if (ms < STALL_REPORT_MS) return;
    this.stalls++;
    const to = o.kind === 'msi' ? `MSI address 0x${o.address.toString(16)} data 0x${o.data.toString(16)}` : `INTx GSI ${o.gsi ?? 'none'}`;
    this.services.emit?.({ event: 'irq-stall', device: this.name, how, ms: Math.round(ms), to });
  }

  /** Where the next interrupt would go, or null while the mode's path is switched off. */
  private deliveryPath(): IrqTestMode | null {
    if (this.mode === MODE_MSI) return this.msiEnabled() && this.busMaster() ? 'msi' : null;
    return this.msiEnabled() ? null : 'intx';
  }

  private status(): number {
    let s = 0;
    if (this.outstanding.kind !== 'none') s |= STATUS_OUTSTANDING;
    if (this.pending > 0) s |= STATUS_PENDING;
    if (this.pending > 0 && this.outstanding.kind === 'none' && this.deliveryPath() === null) s |= STATUS_BLOCKED;
    return s;
  }

  /** PCI 2.3 status bit 3: an INTx interrupt is outstanding, whether or not INTx is disabled. */
  private updateInterruptStatus(): void {
    const intx = this.outstanding.kind === 'intx';
    const lo = this.config[PCI_STATUS]!;
    this.config[PCI_STATUS] = intx ? lo | PCI_STATUS_INTERRUPT : lo & ~PCI_STATUS_INTERRUPT;
  }

  /** Drive the line to what the state says: high while an INTx interrupt is outstanding and INTx may be asserted. */
  private updateLine(): void {
    const want = this.outstanding.kind === 'intx' && !this.intxDisabled() && !this.msiEnabled();
    const gsi = want ? this.gsiFor() : null;
    if (gsi === this.assertedGsi) return;
    this.lowerLine();
    if (gsi !== null) {
      this.assertedGsi = gsi;
      this.services.setIrqLine(gsi, true);
    }
  }

  private lowerLine(): void {
    if (this.assertedGsi === null) return;
    const gsi = this.assertedGsi;
    this.assertedGsi = null;
    this.services.setIrqLine(gsi, false);
  }

  private msiEnabled(): boolean {
    return (this.config[MSI_FLAGS]! & MSI_FLAGS_ENABLE) !== 0;
  }

  private busMaster(): boolean {
    return (this.config[PCI_COMMAND]! & PCI_COMMAND_MASTER) !== 0;
  }

  private intxDisabled(): boolean {
    return (this.readConfig(PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE) !== 0;
  }

  private misuse(what: string): void {
    this.services.guestMisuse(this.name, what);
  }
}
