// CFI01 parallel flash (Intel/Sharp command set) the way QEMU 7.2's hw/block/pflash_cfi01.c shows it
// to OVMF on `pc` (bank width 1, little-endian): one instance for OVMF's CODE (read-only) and one
// for its VARS (writable). docs/platform.md "OVMF flash (CFI01 subset) and ROMD"; the guest side is
// edk2 OvmfPkg/QemuFlashFvbServicesRuntimeDxe/QemuFlash.c (QemuFlashDetected, QemuFlashWrite,
// QemuFlashEraseBlock).
//
// Implemented: read array (0xFF, and 0x00 as QEMU has it), single byte program (0x10 or 0x40, then
// the data), block erase (0x20, then 0xD0 confirms and 0xFF aborts), clear status (0x50, which
// also returns to read array) and read status (0x70). Status bits: 0x80 ready, 0x20 erase error,
// 0x10 program error; 0x80 at power-on. In any mode but read array, reads return the status.
// OVMF's probe: at the first byte of VARS that is not 0x00, 0x50 or 0x70 it writes 0x50 and reads
// back (0x50 would mean RAM: we read the array byte), writes 0x70 and reads (0x00, the cleared
// status, means flash), then writes 0xFF.
// ROMD (romd.ts): in read-array mode the image is a read-only memory slot, so code runs from flash
// and reads never exit; the first command write (an MMIO exit, as the slot is read-only) unmaps
// it so every access traps; back in read array it is mapped again.
// Left out: read identifier (0x90), CFI query (0x98), block lock (0x60), buffered program (0xE8),
// suspend/resume; OVMF uses none. They are guest misuse: counted, back to read array.
// Unlike QEMU: the erase happens on the 0xD0 confirm at the confirm's block (the datasheet's
// order; QEMU erases on 0x20, OVMF writes both to one address), and the read-only CODE ignores
// writes entirely (QEMU also leaves ROMD mode on them), so the code the vCPUs run stays mapped.
// Programming stores the data as written (as QEMU does), not old AND new as real flash.

import { BootgateError } from '../../errors.js';
import type { BusDevice, MachineServices } from '../device.js';
import { type FlashMemory, RomdSlot } from './romd.js';

/** Erase-block size of QEMU's pc flash and OVMF's PcdOvmfFirmwareBlockSize. */
export const CFI01_DEFAULT_BLOCK_SIZE = 0x1000;

const CMD_READ_ARRAY_QEMU = 0x00;
const CMD_PROGRAM = 0x10;
const CMD_PROGRAM_ALT = 0x40;
const CMD_BLOCK_ERASE = 0x20;
const CMD_CLEAR_STATUS = 0x50;
const CMD_READ_STATUS = 0x70;
const CMD_ERASE_CONFIRM = 0xd0;
const CMD_READ_ARRAY = 0xff;

const STATUS_READY = 0x80;
const STATUS_ERASE_ERROR = 0x20;
const STATUS_PROGRAM_ERROR = 0x10;

/** Exits allowed beyond 2 per command/program/erase (probe reads, a status poll now and then). */
export const FLASH_EXIT_SLACK = 64;

export type FlashState =
  | { kind: 'read-array' }
  /** 0x10/0x40 seen: the next write is the data. */
  | { kind: 'program' }
  /** 0x20 seen: 0xD0 confirms the erase, 0xFF aborts it. */
  | { kind: 'erase-setup' }
  /** After 0x70, a program or an erase: reads return the status until the next command. */
  | { kind: 'status' };

export interface FlashCounters {
  /** Writes taken as a command (first cycle), 0xFF/0x50 included. */
  commands: number;
  /** Data cycles that programmed the array. */
  programs: number;
  /** Confirmed block erases. */
  erases: number;
  /** Every access that reached the device: each one is an MMIO exit. */
  mmioReads: number;
  mmioWrites: number;
  /** Accesses while the slot was not mapped. */
  trappedWhileUnmapped: number;
  /** Array reads that exited: 0 while ROMD works (the array is mapped); the exit storm otherwise. */
  arrayReadsTrapped: number;
  /** Writes to a read-only flash and unsupported commands: dropped and counted. */
  misuse: number;
  /** Slot updates. */
  maps: number;
  unmaps: number;
}

export interface Cfi01Options {
  /** Bus and report name ("pflash-code", "pflash-vars"). */
  name: string;
  /**
   * The image: for VARS a per-VM writable copy (never the fixture itself), the same host memory
   * `memory` maps, so the guest sees programs and erases once the slot is back.
   */
  storage: Uint8Array;
  /** CODE: writes are dropped (QEMU's readonly=on). */
  readOnly: boolean;
  /** Erase-block size, a power of two dividing the image size. */
  blockSize?: number;
  memory: FlashMemory;
  services: Pick<MachineServices, 'guestMisuse'>;
  /** Quirk romd-unmapped: never map the slot (the reset-vector fetch fails). */
  romdUnmapped?: boolean;
  /** Quirk romd-never-remapped: never map the slot again after a command (the exit storm). */
  romdNeverRemapped?: boolean;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export class Cfi01Flash implements BusDevice {
  readonly name: string;
  readonly size: number;
  readonly blockSize: number;
  readonly readOnly: boolean;
  private readonly storage: Uint8Array;
  private readonly services: Pick<MachineServices, 'guestMisuse'>;
  private readonly romd: RomdSlot;
  private mode: FlashState = { kind: 'read-array' };
  private status = STATUS_READY;
  private changed = false;
  private readonly count = {
    commands: 0,
    programs: 0,
    erases: 0,
    mmioReads: 0,
    mmioWrites: 0,
    trappedWhileUnmapped: 0,
    arrayReadsTrapped: 0,
    misuse: 0,
  };

  /** Starts in read-array mode: the slot is mapped here (unless romdUnmapped). */
  constructor(o: Cfi01Options) {
    const blockSize = o.blockSize ?? CFI01_DEFAULT_BLOCK_SIZE;
    if (!Number.isInteger(blockSize) || blockSize <= 0 || (blockSize & (blockSize - 1)) !== 0) {
      throw new BootgateError('E_CONFIG', `${o.name}: invalid blockSize ${JSON.stringify(o.blockSize)}; expected a power of two`);
    }
    if (o.storage.length === 0 || o.storage.length % blockSize !== 0) {
      throw new BootgateError('E_CONFIG', `${o.name}: image is ${o.storage.length} bytes; expected a non-zero multiple of ${blockSize}`, {
        hint: 'pass a flat OVMF CODE or VARS image',
      });
    }
    this.name = o.name;
    this.size = o.storage.length;
    this.blockSize = blockSize;
    this.readOnly = o.readOnly;
    this.storage = o.storage;
    this.services = o.services;
    this.romd = new RomdSlot(o.memory, { romdUnmapped: o.romdUnmapped, romdNeverRemapped: o.romdNeverRemapped });
    this.romd.powerOn();
  }

  get state(): FlashState {
    return this.mode;
  }

  get mapped(): boolean {
    return this.romd.isMapped;
  }

  /** Machine reset (QEMU's pflash_cfi01_system_reset): read array, status ready, slot mapped. */
  reset(): void {
    this.mode = { kind: 'read-array' };
    this.status = STATUS_READY;
    this.romd.powerOn();
  }

  read(offset: number, data: Uint8Array): void {
    this.count.mmioReads++;
    if (!this.romd.isMapped) this.count.trappedWhileUnmapped++;
    if (this.mode.kind === 'read-array') {
      if (!this.romd.isMapped) this.count.arrayReadsTrapped++;
      for (let i = 0; i < data.length; i++) data[i] = offset + i < this.size ? this.storage[offset + i]! : 0xff;
      return;
    }
    // QEMU with bank width 1: the status in byte 0, repeated in byte 2 of wider reads.
    data.fill(0);
    data[0] = this.status;
    if (data.length >= 4) data[2] = this.status;
  }

  write(offset: number, data: Uint8Array): void {
    this.count.mmioWrites++;
    if (!this.romd.isMapped) this.count.trappedWhileUnmapped++;
    if (this.readOnly) {
      this.misuse(`write of ${hex(data[0]!)} at ${hex(offset)} to read-only flash dropped`);
      return;
    }
    const value = data[0]!;
    switch (this.mode.kind) {
      case 'program':
        this.program(offset, data);
        this.mode = { kind: 'status' };
        return;
      case 'erase-setup':
        if (value === CMD_ERASE_CONFIRM) {
          this.erase(offset);
          this.mode = { kind: 'status' };
        } else if (value === CMD_READ_ARRAY) {
          this.count.commands++;
          this.readArray();
        } else {
          this.misuse(`erase setup followed by ${hex(value)} at ${hex(offset)}`);
          this.readArray();
        }
        return;
      case 'read-array':
      case 'status':
        this.command(offset, value);
    }
  }

  private command(offset: number, value: number): void {
    this.count.commands++;
    this.romd.commandMode();
    switch (value) {
      case CMD_PROGRAM:
      case CMD_PROGRAM_ALT:
        this.mode = { kind: 'program' };
        return;
      case CMD_BLOCK_ERASE:
        this.mode = { kind: 'erase-setup' };
        return;
      case CMD_READ_STATUS:
        this.mode = { kind: 'status' };
        return;
      case CMD_CLEAR_STATUS:
        this.status = 0;
        this.readArray();
        return;
      case CMD_READ_ARRAY:
      case CMD_READ_ARRAY_QEMU:
        this.readArray();
        return;
      default:
        this.misuse(`unsupported command ${hex(value)} at ${hex(offset)}`);
        this.readArray();
    }
  }

  private readArray(): void {
    this.mode = { kind: 'read-array' };
    this.romd.arrayMode();
  }

  private program(offset: number, data: Uint8Array): void {
    const n = Math.min(data.length, this.size - offset);
    if (n <= 0) {
      this.status |= STATUS_PROGRAM_ERROR | STATUS_READY;
      return;
    }
    this.storage.set(data.subarray(0, n), offset);
    this.count.programs++;
    this.changed = true;
    this.status |= STATUS_READY;
  }

  private erase(offset: number): void {
    const start = offset - (offset % this.blockSize);
    if (start >= this.size) {
      this.status |= STATUS_ERASE_ERROR | STATUS_READY;
      return;
    }
    this.storage.fill(0xff, start, start + this.blockSize);
    this.count.erases++;
    this.changed = true;
    this.status |= STATUS_READY;
  }

  private misuse(what: string): void {
    this.count.misuse++;
    this.services.guestMisuse(this.name, what);
  }

  counters(): FlashCounters {
    return { ...this.count, maps: this.romd.maps, unmaps: this.romd.unmaps };
  }

  /**
   * MMIO exits a working ROMD flash may cost: each command, program and erase is one write exit
   * and may be followed by a status read; dropped writes are one exit each; plus a fixed slack.
   * With the slot never remapped, array reads exit too and blow through it.
   */
  exitBudget(): number {
    const c = this.count;
    return 2 * (c.commands + c.programs + c.erases) + c.misuse + FLASH_EXIT_SLACK;
  }

  /** MMIO exits taken so far (every access that reached the device). */
  exits(): number {
    return this.count.mmioReads + this.count.mmioWrites;
  }

  /** True when the image changed since the last flush(). */
  get dirty(): boolean {
    return this.changed;
  }

  /** A copy of the image (for a VARS file, or a report). */
  contents(): Uint8Array {
    return this.storage.slice();
  }

  /** Hand a copy of the image to `save` if it changed since the last flush; returns whether it did. */
  flush(save: (image: Uint8Array) => void): boolean {
    if (!this.changed) return false;
    save(this.contents());
    this.changed = false;
    return true;
  }
}
