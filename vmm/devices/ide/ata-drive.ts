// One ATA disk on an IDE channel: its task file, status and error registers and the command set
// SeaBIOS and Linux's libata use, after ATA/ATAPI-6 (T13 1410D) §8 and the PIO data-in, PIO
// data-out and DMA protocols of §9. The channel (ide-channel.ts) decodes the ports and owns the
// interrupt line; the bus-master engine (bmdma.ts) moves DMA data. Commands complete at once: the
// drive is never BSY where a guest could see it, and a DMA command waits with DRQ set until the
// bus master is started. Settings that survive a soft reset, as on a drive: the transfer mode, the
// write-cache switch and the CHS translation; the READ/WRITE MULTIPLE block returns to 16 sectors
// (QEMU 7.2 does the same).
// Commands: IDENTIFY DEVICE; READ/WRITE SECTORS (EXT), READ/WRITE MULTIPLE (EXT), READ/WRITE DMA
// (EXT) in LBA or CHS addressing; SET FEATURES (transfer mode, write cache, a few no-ops); SET
// MULTIPLE MODE; INITIALIZE DEVICE PARAMETERS; FLUSH CACHE (EXT); CHECK POWER MODE; STANDBY/IDLE
// (IMMEDIATE) as no-ops, so a guest's shutdown does not log a failed spin-down. Anything else, and
// IDENTIFY PACKET DEVICE (a disk is not an ATAPI device), is aborted: ERR in status, ABRT in error.
// An access past the end of the disk aborts the command (QEMU 7.2 answers ABRT too, not IDNF) and
// is counted as guest misuse; a backend failure aborts it and counts an I/O error.
// Left out: ATAPI, SMART, NOP, security, HPA (READ NATIVE MAX), VERIFY, SEEK, DEVICE DIAGNOSTIC,
// DOWNLOAD MICROCODE, TRIM, NCQ, power states (the drive is always active).

import { configError } from '../../errors.js';
import {
  decodeTransferMode,
  defaultGeometry,
  type Geometry,
  identifyBlock,
  MAX_MULTIPLE_SECTORS,
  MAX_UDMA_MODE,
  type TransferMode,
} from './ata-identify.js';
import * as ata from './ata-regs.js';
import { type BlockBackend, SECTOR_SIZE } from './block-backend.js';

export interface AtaDriveOptions {
  /** IDENTIFY strings; QEMU 7.2's defaults unless given (the serial is QEMU's per-position QM0000n). */
  serial?: string;
  firmware?: string;
  model?: string;
}

/** What the drive needs from its channel. */
export interface DriveHost {
  misuse(what: string): void;
}

/** A DMA command waiting for the bus master: its direction and size. */
export interface DmaRequest {
  /** Disk to memory (READ DMA); false for WRITE DMA. */
  toMemory: boolean;
  bytes: number;
}

type Phase =
  | { kind: 'idle' }
  /** Data-in: `buffer` is the block the host reads; `remaining` sectors follow it from `next`. */
  | { kind: 'pio-in'; buffer: Uint8Array; pos: number; next: number; remaining: number; block: number; ext: boolean }
  /** Data-out: the host fills `buffer`, which goes to `lba`; `remaining` counts it and what follows. */
  | { kind: 'pio-out'; buffer: Uint8Array; pos: number; lba: number; remaining: number; block: number; ext: boolean }
  | { kind: 'dma'; toMemory: boolean; lba: number; count: number; ext: boolean };

const MAX_STRING = { serial: 20, firmware: 8, model: 40 } as const;

export class AtaDrive {
  readonly tf = new ata.TaskFile();
  status = ata.STATUS_READY;
  error = ata.DIAGNOSTIC_PASSED;
  /** Data bytes moved through the data port, and backend failures; read by the channel's stats. */
  pioBytes = 0;
  ioErrors = 0;

  private readonly serial: string;
  private readonly firmware: string;
  private readonly model: string;
  private host: DriveHost = { misuse: () => {} };
  private unit: 0 | 1 = 0;
  private phase: Phase = { kind: 'idle' };
  private multipleSectors = MAX_MULTIPLE_SECTORS;
  private writeCache = true;
  private mode: TransferMode = { kind: 'udma', mode: MAX_UDMA_MODE };
  private geometry: Geometry;

  constructor(
    readonly backend: BlockBackend,
    options: AtaDriveOptions = {},
  ) {
    if (!Number.isSafeInteger(backend.sectors) || backend.sectors <= 0) {
      throw configError('ATA drive backend sectors', backend.sectors, 'a positive integer');
    }
    for (const key of ['serial', 'firmware', 'model'] as const) {
      const v = options[key];
      if (v !== undefined && (v.length > MAX_STRING[key] || !/^[\x20-\x7e]*$/.test(v))) {
        throw configError(`ATA drive ${key}`, v, `at most ${MAX_STRING[key]} printable ASCII characters`);
      }
    }
    this.serial = options.serial ?? 'QM00001';
    this.firmware = options.firmware ?? '2.5+';
    this.model = options.model ?? 'QEMU HARDDISK';
    this.geometry = defaultGeometry(backend.sectors);
    this.reset();
  }

  /** Connect the drive to its channel as device `unit` (0 master, 1 slave). */
  attach(host: DriveHost, unit: 0 | 1): void {
    this.host = host;
    this.unit = unit;
  }

  /** Soft or hardware reset: registers to the ATA signature, any transfer dropped. */
  reset(): void {
    this.tf.reset(true);
    this.status = ata.STATUS_READY;
    this.error = ata.DIAGNOSTIC_PASSED;
    this.phase = { kind: 'idle' };
    this.multipleSectors = MAX_MULTIPLE_SECTORS;
  }

  /** Run command `cmd` (the drive is neither BSY nor DRQ). Returns whether to assert INTRQ now. */
  execute(cmd: number): boolean {
    this.error = 0;
    this.status = ata.STATUS_READY;
    this.phase = { kind: 'idle' };
    switch (cmd) {
      case ata.CMD_IDENTIFY_DEVICE:
        return this.startDataIn(this.identify(), 0, 0, 1, false);
      case ata.CMD_READ_SECTORS:
      case ata.CMD_READ_SECTORS_EXT:
        return this.readPio(cmd === ata.CMD_READ_SECTORS_EXT, 1);
      case ata.CMD_READ_MULTIPLE:
      case ata.CMD_READ_MULTIPLE_EXT:
        return this.multipleSectors === 0 ? this.abort() : this.readPio(cmd === ata.CMD_READ_MULTIPLE_EXT, this.multipleSectors);
      case ata.CMD_WRITE_SECTORS:
      case ata.CMD_WRITE_SECTORS_EXT:
        return this.writePio(cmd === ata.CMD_WRITE_SECTORS_EXT, 1);
      case ata.CMD_WRITE_MULTIPLE:
      case ata.CMD_WRITE_MULTIPLE_EXT:
        return this.multipleSectors === 0 ? this.abort() : this.writePio(cmd === ata.CMD_WRITE_MULTIPLE_EXT, this.multipleSectors);
      case ata.CMD_READ_DMA:
      case ata.CMD_READ_DMA_EXT:
      case ata.CMD_WRITE_DMA:
      case ata.CMD_WRITE_DMA_EXT:
        return this.startDma(cmd);
      case ata.CMD_SET_FEATURES:
        return this.setFeatures() ? true : this.abort();
      case ata.CMD_SET_MULTIPLE_MODE: {
        const n = this.tf.nsector;
        if (n !== 0 && (n > MAX_MULTIPLE_SECTORS || (n & (n - 1)) !== 0)) return this.abort();
        this.multipleSectors = n;
        return true;
      }
      case ata.CMD_INITIALIZE_DEVICE_PARAMETERS:
        return this.initializeParameters() ? true : this.abort();
      case ata.CMD_CHECK_POWER_MODE:
        this.tf.nsector = 0xff; // active or idle
        return true;
      case ata.CMD_FLUSH_CACHE:
      case ata.CMD_FLUSH_CACHE_EXT:
      case ata.CMD_STANDBY_IMMEDIATE:
      case ata.CMD_IDLE_IMMEDIATE:
      case ata.CMD_STANDBY:
      case ata.CMD_IDLE:
        // Writes reach the backend as they happen, so there is nothing to flush or spin down.
        return true;
      default:
        return this.abort();
    }
  }

  /** Host reads the data port (`out` is 2 or 4 bytes). Returns whether to assert INTRQ. */
  /** Bytes left in the current PIO block in direction `dir` (0 outside such a phase). */
  pioBytesLeft(dir: 'in' | 'out'): number {
    const p = this.phase;
    return p.kind === (dir === 'in' ? 'pio-in' : 'pio-out') ? p.buffer.length - p.pos : 0;
  }

  readData(out: Uint8Array): boolean {
    const p = this.phase;
    // Outside a data-in phase the port reads 0 and nothing moves (QEMU 7.2's answer).
    if (p.kind !== 'pio-in' || p.pos + out.length > p.buffer.length) {
      out.fill(0);
      return false;
    }
    out.set(p.buffer.subarray(p.pos, p.pos + out.length));
    p.pos += out.length;
    this.pioBytes += out.length;
    if (p.pos < p.buffer.length) return false;
    if (p.remaining === 0) {
      this.finish();
      return false;
    }
    return this.loadBlock(p.next, p.remaining, p.block, p.ext);
  }

  /** Host writes the data port (2 or 4 bytes). Returns whether to assert INTRQ. */
  writeData(data: Uint8Array): boolean {
    const p = this.phase;
    if (p.kind !== 'pio-out' || p.pos + data.length > p.buffer.length) return false;
    p.buffer.set(data, p.pos);
    p.pos += data.length;
    this.pioBytes += data.length;
    if (p.pos < p.buffer.length) return false;
    const n = p.buffer.length / SECTOR_SIZE;
    if (!this.store(p.lba, p.buffer)) return this.abort();
    const next = p.lba + n;
    const remaining = p.remaining - n;
    this.setAddress(next, p.ext);
    if (remaining === 0) {
      this.finish();
      return true;
    }
    this.phase = { ...p, buffer: new Uint8Array(Math.min(p.block, remaining) * SECTOR_SIZE), pos: 0, lba: next, remaining };
    this.status = ata.STATUS_READY | ata.STATUS_DRQ;
    return true;
  }

  /** The DMA command waiting for the bus master, if any. */
  dmaRequest(): DmaRequest | null {
    const p = this.phase;
    return p.kind === 'dma' ? { toMemory: p.toMemory, bytes: p.count * SECTOR_SIZE } : null;
  }

  /** The sectors a READ DMA returns, or null when it cannot (then dmaEnd(false) reports it). */
  dmaRead(): Uint8Array | null {
    const p = this.phase;
    if (p.kind !== 'dma' || !p.toMemory || !this.inRange(p.lba, p.count, 'READ DMA')) return null;
    return this.load(p.lba, p.count);
  }

  /** Store what a WRITE DMA carried; false when it cannot. */
  dmaWrite(data: Uint8Array): boolean {
    const p = this.phase;
    if (p.kind !== 'dma' || p.toMemory || data.length !== p.count * SECTOR_SIZE) return false;
    return this.inRange(p.lba, p.count, 'WRITE DMA') && this.store(p.lba, data);
  }

  /** End the DMA command: success moves the address past the transfer, failure aborts it. */
  dmaEnd(ok: boolean): void {
    const p = this.phase;
    if (p.kind !== 'dma') return;
    if (!ok) {
      this.abort();
      return;
    }
    this.setAddress(p.lba + p.count, p.ext);
    this.finish();
  }

  private identify(): Uint8Array {
    return identifyBlock({
      sectors: this.backend.sectors,
      unit: this.unit,
      serial: this.serial,
      firmware: this.firmware,
      model: this.model,
      geometry: this.geometry,
      multipleSectors: this.multipleSectors,
      writeCache: this.writeCache,
      mode: this.mode,
    });
  }

  private abort(): boolean {
    this.phase = { kind: 'idle' };
    this.status = ata.STATUS_DRDY | ata.STATUS_ERR;
    this.error = ata.ERROR_ABRT;
    return true;
  }

  private finish(): void {
    this.phase = { kind: 'idle' };
    this.status = ata.STATUS_READY;
  }

  private startDataIn(buffer: Uint8Array, next: number, remaining: number, block: number, ext: boolean): boolean {
    this.phase = { kind: 'pio-in', buffer, pos: 0, next, remaining, block, ext };
    this.status = ata.STATUS_READY | ata.STATUS_DRQ;
    return true;
  }

  /** The command's starting LBA, or null (counted) when it is outside the disk or the CHS translation. */
  private start(ext: boolean, count: number, what: string): number | null {
    const lba = this.address(ext);
    return lba !== null && this.inRange(lba, count, what) ? lba : null;
  }

  private readPio(ext: boolean, block: number): boolean {
    const count = this.tf.count(ext);
    const lba = this.start(ext, count, 'PIO read');
    return lba === null ? this.abort() : this.loadBlock(lba, count, block, ext);
  }

  /** Read the next data-in block (up to `block` of `remaining` sectors from `lba`) and raise DRQ. */
  private loadBlock(lba: number, remaining: number, block: number, ext: boolean): boolean {
    const n = Math.min(block, remaining);
    const data = this.load(lba, n);
    if (data === null) return this.abort();
    this.setAddress(lba + n, ext);
    return this.startDataIn(data, lba + n, remaining - n, block, ext);
  }

  private writePio(ext: boolean, block: number): boolean {
    const count = this.tf.count(ext);
    const lba = this.start(ext, count, 'PIO write');
    if (lba === null) return this.abort();
    this.phase = { kind: 'pio-out', buffer: new Uint8Array(Math.min(block, count) * SECTOR_SIZE), pos: 0, lba, remaining: count, block, ext };
    this.status = ata.STATUS_READY | ata.STATUS_DRQ;
    // PIO data-out: the first block is requested with DRQ alone, no interrupt.
    return false;
  }

  private startDma(cmd: number): boolean {
    const ext = cmd === ata.CMD_READ_DMA_EXT || cmd === ata.CMD_WRITE_DMA_EXT;
    const toMemory = cmd === ata.CMD_READ_DMA || cmd === ata.CMD_READ_DMA_EXT;
    const count = this.tf.count(ext);
    const lba = this.address(ext);
    if (lba === null) return this.abort();
    // The range is checked when the bus master runs, so a bad request ends like any failed
    // transfer (interrupt with the bus master's status updated), as on QEMU 7.2.
    this.phase = { kind: 'dma', toMemory, lba, count, ext };
    this.status = ata.STATUS_READY | ata.STATUS_DRQ;
    return false;
  }

  private inRange(lba: number, count: number, what: string): boolean {
    if (lba + count <= this.backend.sectors) return true;
    this.host.misuse(`${what} of sectors ${lba}+${count} past the end of a ${this.backend.sectors}-sector disk`);
    return false;
  }

  private load(lba: number, count: number): Uint8Array | null {
    try {
      return this.backend.read(lba, count);
    } catch {
      this.ioErrors++;
      return null;
    }
  }

  private store(lba: number, data: Uint8Array): boolean {
    try {
      this.backend.write(lba, data);
      return true;
    } catch {
      this.ioErrors++;
      return false;
    }
  }

  /** The address in the task file: LBA28/LBA48, or CHS through the current translation (null if invalid). */
  private address(ext: boolean): number | null {
    if (ext) return this.tf.lba48();
    if (this.tf.device & ata.DEVICE_LBA) return this.tf.lba28();
    const { heads, sectorsPerTrack } = this.geometry;
    const cylinder = (this.tf.lbaHigh << 8) | this.tf.lbaMid;
    const head = this.tf.device & 0x0f;
    const sector = this.tf.lbaLow;
    if (sector === 0 || sector > sectorsPerTrack || head >= heads) {
      this.host.misuse(`CHS address ${cylinder}/${head}/${sector} outside the translation ${heads} heads x ${sectorsPerTrack} sectors`);
      return null;
    }
    return (cylinder * heads + head) * sectorsPerTrack + sector - 1;
  }

  /** Leave the task file addressing `lba`, in the form the command used. */
  private setAddress(lba: number, ext: boolean): void {
    if (ext || this.tf.device & ata.DEVICE_LBA) {
      this.tf.setLba(lba, ext);
      return;
    }
    const { heads, sectorsPerTrack } = this.geometry;
    const cylinder = Math.floor(lba / (heads * sectorsPerTrack));
    const rest = lba % (heads * sectorsPerTrack);
    this.tf.lbaHigh = (cylinder >>> 8) & 0xff;
    this.tf.lbaMid = cylinder & 0xff;
    this.tf.device = (this.tf.device & 0xf0) | Math.floor(rest / sectorsPerTrack);
    this.tf.lbaLow = (rest % sectorsPerTrack) + 1;
  }

  private setFeatures(): boolean {
    const feature = this.tf.feature;
    if (feature === ata.FEATURE_ENABLE_WRITE_CACHE || feature === ata.FEATURE_DISABLE_WRITE_CACHE) {
      this.writeCache = feature === ata.FEATURE_ENABLE_WRITE_CACHE;
      return true;
    }
    if (ata.FEATURES_ACCEPTED_AS_NOP.includes(feature)) return true;
    if (feature !== ata.FEATURE_SET_TRANSFER_MODE) return false;
    const mode = decodeTransferMode(this.tf.nsector);
    if (mode === null) return false;
    this.mode = mode;
    return true;
  }

  /** INITIALIZE DEVICE PARAMETERS: heads from the device register, sectors per track from the count. */
  private initializeParameters(): boolean {
    const heads = (this.tf.device & 0x0f) + 1;
    const sectorsPerTrack = this.tf.nsector;
    if (sectorsPerTrack === 0) return false;
    // ATA/ATAPI-6 §6.2.1: current cylinders from at most 16,514,064 sectors, capped at 65535.
    const cylinders = Math.min(65535, Math.floor(Math.min(this.backend.sectors, 16_514_064) / (heads * sectorsPerTrack)));
    this.geometry = { cylinders, heads, sectorsPerTrack };
    return true;
  }
}
