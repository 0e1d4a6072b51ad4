// Interrupt test device: a PCI function that raises exactly N interrupts when the guest asks, one
// at a time, each only after the guest acknowledged the previous one, over INTx (level) or MSI.
// The interrupt suite routes it to every vCPU in turn and compares the guest's per-CPU count with
// `stats()`; the guest side is guests/irqtest/bootgate_irqtest.c. Its IDs and BAR 0 registers are
// irq-test-regs.ts, its MSI capability msi-capability.ts, its report irq-test-stats.ts.
// Follows PCI 3.0 (MSI capability, §6.8.1, 64-bit address, no per-vector masking; one message)
// and PCI 2.3's INTx disable (command bit 10) and interrupt status (status bit 3), as QEMU's
// pci_update_irq_status / pci_irq_disabled do. While MSI is enabled the function never asserts
// INTx (PCI 3.0 §6.8.1.3).
// Delivery: INTx is level-triggered: the line is high while an interrupt is outstanding, not
// acked and INTx is not disabled; ACK lowers it and, when more are pending, raises it again for
// the next one. The GSI is looked up at every assertion (`gsiFor`, the PIIX3 PIRQ route), so a
// guest that re-routes a PIRQ link is followed; `refreshIntx()` moves an asserted line at once.
// MSI sends one message per interrupt, the next one when the previous is acked. Counting is
// per interrupt raised, nothing is emitted per interrupt (hot path); `stats()` feeds the VMM's
// final `irq-test` event. An interrupt acked or cancelled STALL_REPORT_MS or more after it was
// raised is an `irq-stall` event naming where it was sent and the PIT's periodic rate at that time
// (a lost interrupt the guest recovered, or one a fast timer held back).
// A machine reset clears config space, MODE, SCRATCH and the queue but
// keeps the counters (they cover the whole VM run).
// Left out: MSI-X, multiple MSI messages, MSI masking, power management, INTB-INTD.

import type { MmioBus } from '../../bus/bus.js';
import type { BusDevice, MachineServices } from '../device.js';
import { getLE, setLE } from '../device.js';
import { configError } from '../../errors.js';
import {
  FIRE_MAX,
  IRQ_TEST_BAR_SIZE,
  IRQ_TEST_CLASS,
  IRQ_TEST_DEVICE_ID,
  IRQ_TEST_ID,
  IRQ_TEST_REVISION,
  IRQ_TEST_VENDOR_ID,
  MODE_INTX,
  MODE_MSI,
  QUEUE_MAX,
  REG_ACK,
  REG_ACKED,
  REG_CANCEL,
  REG_FIRE,
  REG_ID,
  REG_MODE,
  REG_PENDING,
  REG_RAISED,
  REG_SCRATCH,
  REG_STATUS,
  STATUS_BLOCKED,
  STATUS_OUTSTANDING,
  STATUS_PENDING,
} from './irq-test-regs.js';
import { type IrqTestMode, type IrqTestStats, STALL_REPORT_MS } from './irq-test-stats.js';
import { MsiCapability, PCI_CAPABILITY_LIST, PCI_STATUS_CAP_LIST } from './msi-capability.js';
import { type BarChange, type Bdf, formatBdf, PCI_COMMAND, PCI_STATUS, PciFunction } from './pci-function.js';

// The register contract and the report are part of this device's interface.
export * from './irq-test-regs.js';
export * from './irq-test-stats.js';

// Config space: PCI 2.3 status and command bits, and the MSI capability at 0x40.
const PCI_STATUS_INTERRUPT = 0x0008;
const PCI_COMMAND_MASTER = 0x0004;
const PCI_COMMAND_INTX_DISABLE = 0x0400;
export const MSI_CAP = 0x40;

/** What the device needs from the machine: an interrupt line, an MSI sink, a misuse counter. */
export interface IrqTestServices {
  setIrqLine: MachineServices['setIrqLine'];
  guestMisuse: MachineServices['guestMisuse'];
  /** Deliver one MSI (the machine's path to Vm.signalMsi, with its interrupt accounting). */
  signalMsi(addressLo: number, addressHi: number, data: number): void;
  /** Report an interrupt that waited long for its ACK (`irq-stall` event); optional in unit tests. */
  emit?: MachineServices['emit'];
  /** The PIT's periodic rate now (Hz, 0 when it is not periodic): a stall names what it competed with. */
  pitHz?: () => number;
}

export interface IrqTestDeviceOptions {
  bdf: Bdf;
  mmio: MmioBus;
  services: IrqTestServices;
  /** The GSI INTA# of this slot reaches now (PIIX3 PIRQ route), or null when the route is disabled. */
  gsiFor: () => number | null;
}

/** The interrupt raised and not acked yet: when, and where it went (formatted only for a stall report). */
type Outstanding = { kind: 'none' } | { kind: 'intx'; at: number; gsi: number | null } | { kind: 'msi'; at: number; address: number; data: number };

export class IrqTestDevice extends PciFunction {
  private readonly mmio: MmioBus;
  private readonly services: IrqTestServices;
  private readonly gsiFor: () => number | null;
  private readonly region: BusDevice;
  private readonly msi: MsiCapability;

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
    this.msi = new MsiCapability(MSI_CAP, this.config, (offset, size, value, writable) => this.define(offset, size, value, writable));
    this.addBar(0, { kind: 'mem32', size: IRQ_TEST_BAR_SIZE });
    this.region = {
      name: `${this.name}-bar0`,
      read: (offset, data) => this.readRegister(offset, data),
      write: (offset, data) => this.writeRegister(offset, data),
    };
  }

  stats(): IrqTestStats {
    const message = this.msi.message();
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
        enabled: this.msi.enabled(),
        address: `0x${(message.addressHi * 0x1_0000_0000 + message.addressLo).toString(16)}`,
        data: message.data,
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
    // Command (INTx disable, bus master) and the MSI flags decide the delivery path.
    if ((offset < PCI_COMMAND + 2 && offset + size > PCI_COMMAND) || this.msi.touches(offset, size)) {
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
      const { addressLo, addressHi, data } = this.msi.message();
      this.outstanding = { kind: path, at: performance.now(), address: addressLo, data };
      this.updateInterruptStatus();
      this.raisedMsi++;
      this.services.signalMsi(addressLo, addressHi, data);
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
    const pitHz = Math.round(this.services.pitHz?.() ?? 0);
    this.services.emit?.({ event: 'irq-stall', device: this.name, how, ms: Math.round(ms), to, pitHz });
  }

  /** Where the next interrupt would go, or null while the mode's path is switched off. */
  private deliveryPath(): IrqTestMode | null {
    if (this.mode === MODE_MSI) return this.msi.enabled() && this.busMaster() ? 'msi' : null;
    return this.msi.enabled() ? null : 'intx';
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
    const want = this.outstanding.kind === 'intx' && !this.intxDisabled() && !this.msi.enabled();
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
