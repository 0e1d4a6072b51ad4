// SFF-8038i bus-master IDE DMA (rev 1.0) as the PIIX3 implements it behind BAR 4 (82371SB
// datasheet §2.7): 16 I/O bytes, 8 per channel, +0 command (bit 0 start, bit 3 direction: 1 = the
// bus master writes memory), +2 status (bit 0 active, bit 1 error, bit 2 interrupt, both write-1-
// to-clear; bits 5-6 "drive can DMA", kept for software), +4 the PRD table pointer (dword aligned).
// Offsets 1 and 3 are reserved and read 0xFF; wider accesses act byte by byte.
// Transfers run synchronously: the whole transfer happens at the write that sets the start bit
// (or at the DMA command, when the bus master was started first), so the guest never sees one in
// flight. That is the simplest correct model: software may only look at the result after the
// interrupt, and the drive shows DRQ until then. Data moves only through
// MachineServices.readGuest/writeGuest, after prd.ts has checked the whole table and every region
// the transfer uses; a bad table, a bus master the guest did not enable (PCI command bit 2) or a
// direction that disagrees with the drive's command ends the transfer with the error bit, the
// drive's ABRT and its interrupt, and counts a guest misuse. Nothing is thrown. When the table
// describes more than the transfer needs, the active bit stays set after it (SFF-8038i §3.1.1).
// A failed transfer also raises the interrupt (QEMU 7.2 leaves a too-short table without one):
// Linux's ata_bmdma path then reads the error bit at once instead of waiting for its timeout.
// Posted writes (device.ts SyncKind.PostedWrite): byte writes to either channel's command register
// may be queued by a vCPU thread, which then goes on while the owner runs the transfer. The guest
// cannot tell: until the owner applies the write the drive still shows DRQ (alternate status, which
// threads read from the published value, says the command is under way, as it would mid-transfer),
// and everything that would show the end (bus-master status, the status register with INTRQ
// pending, the interrupt) goes through the owner, which applies queued writes first. The transfer
// changes no mapping and asks for no reset. At SMP 8 the disk boot's 7,000 starts each kept a vCPU
// waiting through its transfer (2 ms in the nested lab).
// Left out: the PIIX3's own PCI errors (master/target abort bits in config status), an engine that
// runs concurrently with the vCPU, cancelling a transfer by clearing start (it has finished).

import { type BusDevice, type MachineServices, SyncKind, type SyncRegister } from '../device.js';
import type { AtaDrive } from './ata-drive.js';
import { planTransfer } from './prd.js';

export const BM_COMMAND = 0;
export const BM_STATUS = 2;
export const BM_PRD_TABLE = 4;
/** Bytes of registers per channel; the secondary channel's start at 8. */
export const BM_CHANNEL_STRIDE = 8;
/** The BAR: both channels. */
export const BMDMA_SPAN = 16;

export const BM_CMD_START = 0x01;
/** Direction: the bus master writes memory (a READ DMA). */
export const BM_CMD_TO_MEMORY = 0x08;
export const BM_STATUS_ACTIVE = 0x01;
export const BM_STATUS_ERROR = 0x02;
export const BM_STATUS_INTERRUPT = 0x04;
/** "Drive 0/1 DMA capable": set by software, only stored. */
const BM_STATUS_DRIVE_CAPABLE = 0x60;
const BM_COMMAND_BITS = BM_CMD_START | BM_CMD_TO_MEMORY;

/** What an engine needs from its IDE channel. */
export interface BmDmaHost {
  /** The selected drive, if present. */
  activeDrive(): AtaDrive | undefined;
  /** The drive ended its DMA command: assert its interrupt. */
  driveInterrupt(): void;
  misuse(what: string): void;
}

export interface BmDmaStats {
  dmaTransfers: number;
  dmaBytes: number;
  dmaErrors: number;
}

/** One channel's bus-master registers and transfer engine. */
export class BmDmaEngine {
  private command = 0;
  private status = 0;
  private prdTable = 0;
  readonly stats: BmDmaStats = { dmaTransfers: 0, dmaBytes: 0, dmaErrors: 0 };

  constructor(
    private readonly host: BmDmaHost,
    private readonly guest: Pick<MachineServices, 'readGuest' | 'writeGuest'>,
    /** PCI command bit 2 of the IDE function: DMA is refused while it is clear. */
    private readonly busMaster: () => boolean,
  ) {}

  readByte(offset: number): number {
    if (offset === BM_COMMAND) return this.command;
    if (offset === BM_STATUS) return this.status;
    if (offset >= BM_PRD_TABLE && offset < BM_CHANNEL_STRIDE) return (this.prdTable >>> (8 * (offset - BM_PRD_TABLE))) & 0xff;
    return 0xff;
  }

  writeByte(offset: number, value: number): void {
    if (offset === BM_COMMAND) {
      this.writeCommand(value);
    } else if (offset === BM_STATUS) {
      this.status =
        (value & BM_STATUS_DRIVE_CAPABLE) | (this.status & BM_STATUS_ACTIVE) | (this.status & ~value & (BM_STATUS_ERROR | BM_STATUS_INTERRUPT));
    } else if (offset >= BM_PRD_TABLE && offset < BM_CHANNEL_STRIDE) {
      const shift = 8 * (offset - BM_PRD_TABLE);
      const byte = offset === BM_PRD_TABLE ? value & 0xfc : value;
      this.prdTable = ((this.prdTable & ~(0xff << shift)) | (byte << shift)) >>> 0;
    }
  }

  /** The IDE interrupt line of this channel rose: SFF-8038i latches it in the interrupt bit. */
  noteInterrupt(): void {
    this.status |= BM_STATUS_INTERRUPT;
  }

  /** The selected drive has a DMA command waiting: run it now if the bus master is started. */
  kick(): void {
    if ((this.command & BM_CMD_START) === 0 || (this.status & BM_STATUS_ACTIVE) === 0) return;
    const drive = this.host.activeDrive();
    if (drive?.dmaRequest()) this.run(drive);
  }

  /** Machine reset (the counters cover the whole run). */
  reset(): void {
    this.command = this.status = this.prdTable = 0;
  }

  private writeCommand(value: number): void {
    const starting = (value & BM_CMD_START) !== 0 && (this.command & BM_CMD_START) === 0;
    const stopping = (value & BM_CMD_START) === 0 && (this.command & BM_CMD_START) !== 0;
    this.command = value & BM_COMMAND_BITS;
    if (stopping) this.status &= ~BM_STATUS_ACTIVE;
    if (starting) {
      this.status |= BM_STATUS_ACTIVE;
      this.kick();
    }
  }

  private run(drive: AtaDrive): void {
    const request = drive.dmaRequest()!;
    this.stats.dmaTransfers++;
    const fail = (what: string) => {
      this.stats.dmaErrors++;
      this.host.misuse(what);
      this.status = (this.status & ~BM_STATUS_ACTIVE) | BM_STATUS_ERROR;
      drive.dmaEnd(false);
      this.host.driveInterrupt();
    };
    if (!this.busMaster()) return fail('bus-master DMA started while PCI command bit 2 (bus master enable) is clear');
    const toMemory = (this.command & BM_CMD_TO_MEMORY) !== 0;
    if (toMemory !== request.toMemory) {
      return fail(`bus-master direction bit says ${toMemory ? 'to memory' : 'from memory'} but the drive runs ${request.toMemory ? 'READ' : 'WRITE'} DMA`);
    }
    const plan = planTransfer(this.guest, this.prdTable, request.bytes, !request.toMemory);
    if (!plan.ok) return fail(plan.what);

    let ok: boolean;
    if (request.toMemory) {
      const data = drive.dmaRead();
      ok = data !== null;
      let offset = 0;
      for (const s of ok ? plan.segments : []) {
        try {
          this.guest.writeGuest(s.gpa, data!.subarray(offset, offset + s.length));
        } catch {
          // planTransfer read every region first; RAM that vanished since is a machine fault.
          return fail(`PRD region 0x${s.gpa.toString(16)}+${s.length} became unwritable`);
        }
        offset += s.length;
      }
    } else {
      ok = drive.dmaWrite(plan.data!);
    }
    if (ok) this.stats.dmaBytes += request.bytes;
    drive.dmaEnd(ok);
    if (!plan.longer) this.status &= ~BM_STATUS_ACTIVE;
    this.host.driveInterrupt();
  }
}

/** The BAR 4 register block: the primary channel's engine at 0-7, the secondary's at 8-15. */
export class BmDmaRegisters implements BusDevice {
  readonly syncRegisters: readonly SyncRegister[] = [
    { offset: BM_COMMAND, span: 1, kind: SyncKind.PostedWrite },
    { offset: BM_CHANNEL_STRIDE + BM_COMMAND, span: 1, kind: SyncKind.PostedWrite },
  ];

  constructor(
    readonly name: string,
    private readonly engines: readonly [BmDmaEngine, BmDmaEngine],
  ) {}

  read(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const o = offset + i;
      data[i] = o < BMDMA_SPAN ? this.engines[o >= BM_CHANNEL_STRIDE ? 1 : 0].readByte(o % BM_CHANNEL_STRIDE) : 0xff;
    }
  }

  write(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const o = offset + i;
      if (o < BMDMA_SPAN) this.engines[o >= BM_CHANNEL_STRIDE ? 1 : 0].writeByte(o % BM_CHANNEL_STRIDE, data[i]!);
    }
  }
}
