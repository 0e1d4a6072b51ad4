// One legacy IDE channel of the PIIX3: the command block (0x1F0-0x1F7 primary, 0x170-0x177
// secondary), the control block's device control / alternate status register (0x3F6 / 0x376), up
// to two ATA drives, and the ISA interrupt (14 / 15). Follows ATA/ATAPI-6 §7 (registers) and §9
// (protocols); where a disk's absence shows, it answers like QEMU 7.2's IDE bus, which SeaBIOS and
// Linux are tested against: with no drive on the channel every register reads 0; with device 1
// absent and selected, status, alternate status and error read 0 (no DRDY, so neither SeaBIOS nor
// libata takes it for a disk) while the other task-file registers read back what was written
// (both devices see every write), and commands to it are ignored.
// Interrupts: a drive's INTRQ is pending until the status register is read or a command is
// written; the line is driven high while one is pending and nIEN is clear (nIEN releases the line,
// ATA/ATAPI-6 §7.9.6), so reading alternate status never clears it. Each rise is counted: that is
// the number of interrupts the guest can have taken on this IRQ.
// Soft reset (SRST 0 -> 1) resets both drives to the ATA signature (nsector 1, LBA low 1, LBA
// mid/high 00/00), selects device 0, drops any transfer and the pending interrupt; SRST itself
// asserts no interrupt (QEMU 7.2 raises one after diagnostics; the ATA protocol has none).
// Writes to the task file are ignored while the selected drive shows BSY or DRQ, and a command
// written then is ignored and counted as guest misuse.
// Shadow reads (device.ts SyncKind.ShadowRead): alternate status always, and status while no
// interrupt is pending (then reading it changes nothing), may be answered by any vCPU thread from
// the value the owner publishes; libata and SeaBIOS poll them while a command runs (BSY).
// Byte reads of the data port read 0xFF and byte writes are dropped (the port is 16/32 bits); wider
// accesses at other offsets act byte by byte.
// Left out: ATAPI devices, the PIIX3's IDETIM decode-enable bits gating these ports (QEMU 7.2
// decodes them regardless), HOB on the error register beyond returning the previous feature byte.

import { type BusDevice, type MachineServices, SyncKind } from '../device.js';
import type { AtaDrive } from './ata-drive.js';
import * as ata from './ata-regs.js';
import { BmDmaEngine } from './bmdma.js';

export interface IdeChannelStats {
  irq: number;
  /** Commands the drives ran, by opcode ("0xec"). */
  commands: Record<string, number>;
  /** Commands ending in ERR/ABRT. */
  aborted: number;
  /** Commands written with no drive to take them (an absent device, BSY or DRQ). */
  ignored: number;
  pioBytes: number;
  dmaTransfers: number;
  dmaBytes: number;
  dmaErrors: number;
  /** Interrupts the drives asserted (completions and PIO blocks), including those nIEN held back. */
  interruptsRequested: number;
  /** Rising edges driven on the IRQ line over the whole run. */
  interruptsRaised: number;
  ioErrors: number;
  misuse: number;
}

export interface IdeChannelOptions {
  /** For logs and misuse reports, e.g. "piix3-ide.primary". */
  name: string;
  irq: number;
  /** Device 0 and device 1; a channel with only device 1 is refused by the caller. */
  drives: readonly [AtaDrive | undefined, AtaDrive | undefined];
  services: Pick<MachineServices, 'setIrqLine' | 'readGuest' | 'writeGuest' | 'guestMisuse'>;
  /** PCI command bit 2 of the IDE function. */
  busMaster: () => boolean;
}

export class IdeChannel {
  readonly name: string;
  readonly irq: number;
  readonly dma: BmDmaEngine;
  /** The eight command-block registers, from 0x1F0 / 0x170. */
  readonly commandBlock: BusDevice;
  /** Device control (write) / alternate status (read), at 0x3F6 / 0x376. */
  readonly control: BusDevice;

  private readonly drives: readonly [AtaDrive | undefined, AtaDrive | undefined];
  /** Each device's task file; an absent device keeps one too, since writes reach both. */
  private readonly taskFiles: readonly [ata.TaskFile, ata.TaskFile];
  private readonly services: IdeChannelOptions['services'];
  private unit: 0 | 1 = 0;
  private deviceControl = 0;
  private pending = false;
  private line = false;
  private readonly counts = { commands: {} as Record<string, number>, aborted: 0, ignored: 0, requested: 0, raised: 0, misuse: 0 };

  constructor(options: IdeChannelOptions) {
    this.name = options.name;
    this.irq = options.irq;
    this.drives = options.drives;
    this.services = options.services;
    this.taskFiles = [options.drives[0]?.tf ?? new ata.TaskFile(), options.drives[1]?.tf ?? new ata.TaskFile()];
    options.drives.forEach((d, unit) => d?.attach({ misuse: (what) => this.misuse(what) }, unit as 0 | 1));
    this.dma = new BmDmaEngine(
      {
        activeDrive: () => this.drives[this.unit],
        driveInterrupt: () => this.requestInterrupt(),
        misuse: (what) => this.misuse(what),
      },
      options.services,
      options.busMaster,
    );
    this.commandBlock = {
      name: `${this.name}-command`,
      syncRegisters: [{ offset: ata.REG_STATUS_COMMAND, span: 1, kind: SyncKind.ShadowRead }],
      shadowRead: (offset) => (offset === ata.REG_STATUS_COMMAND && !this.pending ? this.statusValue() : undefined),
      read: (offset, data) => this.readCommandBlock(offset, data),
      write: (offset, data) => this.writeCommandBlock(offset, data),
      readRepeated: (offset, size, data) => this.repeatCommandBlock(offset, size, data, 'in'),
      writeRepeated: (offset, size, data) => this.repeatCommandBlock(offset, size, data, 'out'),
    };
    this.control = {
      name: `${this.name}-control`,
      syncRegisters: [{ offset: 0, span: 1, kind: SyncKind.ShadowRead }],
      shadowRead: (offset) => (offset === 0 ? this.statusValue() : undefined),
      read: (offset, data) => {
        data.fill(0xff);
        if (offset === 0) data[0] = this.statusValue();
      },
      write: (offset, data) => {
        if (offset === 0) this.writeDeviceControl(data[0]!);
      },
    };
    this.reset();
  }

  /** Machine reset: drives and registers to power-on state, line low (counters are kept). */
  reset(): void {
    this.softReset();
    this.deviceControl = 0;
    this.dma.reset();
  }

  stats(): IdeChannelStats {
    const present = this.drives.filter((d) => d !== undefined);
    return {
      irq: this.irq,
      commands: { ...this.counts.commands },
      aborted: this.counts.aborted,
      ignored: this.counts.ignored,
      pioBytes: present.reduce((n, d) => n + d.pioBytes, 0),
      ...this.dma.stats,
      interruptsRequested: this.counts.requested,
      interruptsRaised: this.counts.raised,
      ioErrors: present.reduce((n, d) => n + d.ioErrors, 0),
      misuse: this.counts.misuse,
    };
  }

  private misuse(what: string): void {
    this.counts.misuse++;
    this.services.guestMisuse(this.name, what);
  }

  private get hob(): boolean {
    return (this.deviceControl & ata.CONTROL_HOB) !== 0;
  }

  private noDrives(): boolean {
    return this.drives[0] === undefined && this.drives[1] === undefined;
  }

  /** Status as the selected device drives it; 0 when there is none to drive the bus. */
  private statusValue(): number {
    return this.drives[this.unit]?.status ?? 0;
  }

  /** `size`: the access size; a data-port run of several elements inside one PIO block is one call (repeatCommandBlock). */
  private readCommandBlock(offset: number, data: Uint8Array, size = data.length): void {
    if (offset === ata.REG_DATA && (size === 2 || size === 4)) {
      const drive = this.drives[this.unit];
      if (drive === undefined) data.fill(0);
      else if (drive.readData(data)) this.requestInterrupt();
      return;
    }
    for (let i = 0; i < data.length; i++) data[i] = this.readRegister(offset + i);
  }

  /**
   * `rep insw`/`rep outsw` on the command block: the same as one access per element, but the data
   * port moves what is left of the current PIO block in one copy (SeaBIOS and GRUB read a sector per
   * instruction; per-element calls made that exit cost a 512-byte loop). Block ends, and so INTRQ
   * and the next block's load, fall where the element-wise accesses would have put them.
   */
  private repeatCommandBlock(offset: number, size: number, data: Uint8Array, dir: 'in' | 'out'): void {
    let at = 0;
    while (at < data.length) {
      const drive = this.drives[this.unit];
      const run = offset === ata.REG_DATA && (size === 2 || size === 4) && drive !== undefined ? drive.pioBytesLeft(dir) : 0;
      const n = Math.min(data.length - at, run - (run % size)) || size;
      const chunk = data.subarray(at, at + n);
      if (dir === 'in') this.readCommandBlock(offset, chunk, size);
      else this.writeCommandBlock(offset, chunk, size);
      at += n;
    }
  }

  private readRegister(reg: number): number {
    const drive = this.drives[this.unit];
    switch (reg) {
      case ata.REG_DATA:
        return 0xff;
      case ata.REG_ERROR_FEATURE:
        return drive === undefined ? 0 : this.hob ? drive.tf.hobFeature : drive.error;
      case ata.REG_STATUS_COMMAND: {
        const status = this.statusValue();
        this.pending = false;
        this.updateLine();
        return status;
      }
      default:
        return reg < ata.COMMAND_BLOCK_SPAN && !this.noDrives() ? this.taskFiles[this.unit].read(reg, this.hob) : 0;
    }
  }

  private writeCommandBlock(offset: number, data: Uint8Array, size = data.length): void {
    if (offset === ata.REG_DATA && (size === 2 || size === 4)) {
      if (this.drives[this.unit]?.writeData(data)) this.requestInterrupt();
      return;
    }
    for (let i = 0; i < data.length; i++) this.writeRegister(offset + i, data[i]!);
  }

  private writeRegister(reg: number, value: number): void {
    if (reg === ata.REG_DATA || reg >= ata.COMMAND_BLOCK_SPAN) return;
    // Any write to the command block ends a HOB read-back.
    this.deviceControl &= ~ata.CONTROL_HOB;
    if (reg === ata.REG_STATUS_COMMAND) {
      this.command(value);
      return;
    }
    const selected = this.drives[this.unit];
    if (selected !== undefined && (selected.status & (ata.STATUS_BSY | ata.STATUS_DRQ)) !== 0) return;
    for (const tf of this.taskFiles) tf.write(reg, value);
    if (reg === ata.REG_DEVICE) this.unit = value & ata.DEVICE_DEV1 ? 1 : 0;
  }

  private command(cmd: number): void {
    // Writing the command register clears a pending interrupt.
    this.pending = false;
    this.updateLine();
    const drive = this.drives[this.unit];
    const opcode = `0x${cmd.toString(16).padStart(2, '0')}`;
    if (drive === undefined) {
      this.counts.ignored++;
      return;
    }
    if ((drive.status & (ata.STATUS_BSY | ata.STATUS_DRQ)) !== 0) {
      this.counts.ignored++;
      this.misuse(`command ${opcode} written to device ${this.unit} while it shows ${drive.status & ata.STATUS_BSY ? 'BSY' : 'DRQ'}`);
      return;
    }
    this.counts.commands[opcode] = (this.counts.commands[opcode] ?? 0) + 1;
    if (drive.execute(cmd)) this.requestInterrupt();
    if (drive.dmaRequest() !== null) this.dma.kick();
  }

  private writeDeviceControl(value: number): void {
    const old = this.deviceControl;
    this.deviceControl = value;
    if ((old & ata.CONTROL_SRST) === 0 && (value & ata.CONTROL_SRST) !== 0) this.softReset();
    this.updateLine();
  }

  private softReset(): void {
    this.drives.forEach((d, unit) => (d === undefined ? this.taskFiles[unit]!.reset(false) : d.reset()));
    this.unit = 0;
    this.pending = false;
    this.updateLine();
  }

  /** The selected drive asserts INTRQ (a completion, a PIO block, or the end of a DMA transfer). */
  private requestInterrupt(): void {
    this.counts.requested++;
    if (((this.drives[this.unit]?.status ?? 0) & ata.STATUS_ERR) !== 0) this.counts.aborted++;
    this.pending = true;
    this.updateLine();
  }

  private updateLine(): void {
    const level = this.pending && (this.deviceControl & ata.CONTROL_NIEN) === 0;
    if (level === this.line) return;
    this.line = level;
    if (level) {
      this.counts.raised++;
      this.dma.noteInterrupt();
    }
    this.services.setIrqLine(this.irq, level);
  }
}
