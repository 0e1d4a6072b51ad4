// The ATA register contract shared by the drive, the channel and the DMA engine: the command-block
// register offsets, status / error / device-control bits and command opcodes of ATA/ATAPI-6
// (T13 1410D) §7 and §8, and the task file one device holds. The channel writes every task-file
// register to both devices on the cable (ATA/ATAPI-6 §5.2: both devices see every write), so each
// device keeps its own copy, and a command only changes the copy of the device that runs it.

/** Command-block register offsets from the channel's base (0x1F0 / 0x170). */
export const REG_DATA = 0;
export const REG_ERROR_FEATURE = 1;
export const REG_NSECTOR = 2;
export const REG_LBA_LOW = 3;
export const REG_LBA_MID = 4;
export const REG_LBA_HIGH = 5;
export const REG_DEVICE = 6;
export const REG_STATUS_COMMAND = 7;
/** Command block size: 0x1F0-0x1F7. */
export const COMMAND_BLOCK_SPAN = 8;

export const STATUS_ERR = 0x01;
export const STATUS_DRQ = 0x08;
/** Device seek complete (obsolete in ATA-6 but set by drives and expected by old software). */
export const STATUS_DSC = 0x10;
export const STATUS_DRDY = 0x40;
export const STATUS_BSY = 0x80;
/** A drive ready for the next command. */
export const STATUS_READY = STATUS_DRDY | STATUS_DSC;

/** Error register: command aborted. */
export const ERROR_ABRT = 0x04;
/** Error register after reset or diagnostics: device 0 passed, device 1 passed or absent. */
export const DIAGNOSTIC_PASSED = 0x01;

/** Device register: bit 4 selects device 1, bit 6 LBA addressing; bits 7 and 5 read as one (obsolete). */
export const DEVICE_DEV1 = 0x10;
export const DEVICE_LBA = 0x40;
export const DEVICE_ALWAYS_SET = 0xa0;

/** Device control register (0x3F6 / 0x376). */
export const CONTROL_NIEN = 0x02;
export const CONTROL_SRST = 0x04;
/** High-order byte: reads of 2-5 return the previously written (LBA48 "previous") values. */
export const CONTROL_HOB = 0x80;

export const CMD_READ_SECTORS = 0x20;
export const CMD_READ_SECTORS_EXT = 0x24;
export const CMD_READ_DMA_EXT = 0x25;
export const CMD_READ_MULTIPLE_EXT = 0x29;
export const CMD_WRITE_SECTORS = 0x30;
export const CMD_WRITE_SECTORS_EXT = 0x34;
export const CMD_WRITE_DMA_EXT = 0x35;
export const CMD_WRITE_MULTIPLE_EXT = 0x39;
export const CMD_INITIALIZE_DEVICE_PARAMETERS = 0x91;
export const CMD_IDENTIFY_PACKET_DEVICE = 0xa1;
export const CMD_READ_MULTIPLE = 0xc4;
export const CMD_WRITE_MULTIPLE = 0xc5;
export const CMD_SET_MULTIPLE_MODE = 0xc6;
export const CMD_READ_DMA = 0xc8;
export const CMD_WRITE_DMA = 0xca;
export const CMD_STANDBY_IMMEDIATE = 0xe0;
export const CMD_IDLE_IMMEDIATE = 0xe1;
export const CMD_STANDBY = 0xe2;
export const CMD_IDLE = 0xe3;
export const CMD_CHECK_POWER_MODE = 0xe5;
export const CMD_FLUSH_CACHE = 0xe7;
export const CMD_FLUSH_CACHE_EXT = 0xea;
export const CMD_IDENTIFY_DEVICE = 0xec;
export const CMD_SET_FEATURES = 0xef;

/** SET FEATURES subcommands (Features register). */
export const FEATURE_ENABLE_WRITE_CACHE = 0x02;
export const FEATURE_SET_TRANSFER_MODE = 0x03;
export const FEATURE_DISABLE_WRITE_CACHE = 0x82;
/** Subcommands with no effect on an emulated disk that drives accept: read look-ahead on/off, revert to defaults on/off. */
export const FEATURES_ACCEPTED_AS_NOP: readonly number[] = [0x55, 0x66, 0xaa, 0xcc];

/** One device's copy of the task file: each register with the value written before it (LBA48 HOB). */
export class TaskFile {
  feature = 0;
  hobFeature = 0;
  nsector = 0;
  hobNsector = 0;
  lbaLow = 0;
  hobLbaLow = 0;
  lbaMid = 0;
  hobLbaMid = 0;
  lbaHigh = 0;
  hobLbaHigh = 0;
  device = DEVICE_ALWAYS_SET;

  /** Power-on / reset values, then the signature of a present ATA device (ATA/ATAPI-6 §9.12). */
  reset(present: boolean): void {
    this.feature = this.hobFeature = this.hobNsector = this.hobLbaLow = this.hobLbaMid = this.hobLbaHigh = 0;
    this.device = DEVICE_ALWAYS_SET;
    this.nsector = 1;
    this.lbaLow = 1;
    // LBA mid/high 00/00 says "ATA device"; an absent device's copy holds what an open bus floats to.
    this.lbaMid = this.lbaHigh = present ? 0 : 0xff;
  }

  /** Store a guest write to register `reg` (1-6); the old value moves to the HOB copy. */
  write(reg: number, value: number): void {
    switch (reg) {
      case REG_ERROR_FEATURE:
        [this.hobFeature, this.feature] = [this.feature, value];
        break;
      case REG_NSECTOR:
        [this.hobNsector, this.nsector] = [this.nsector, value];
        break;
      case REG_LBA_LOW:
        [this.hobLbaLow, this.lbaLow] = [this.lbaLow, value];
        break;
      case REG_LBA_MID:
        [this.hobLbaMid, this.lbaMid] = [this.lbaMid, value];
        break;
      case REG_LBA_HIGH:
        [this.hobLbaHigh, this.lbaHigh] = [this.lbaHigh, value];
        break;
      case REG_DEVICE:
        this.device = value | DEVICE_ALWAYS_SET;
        break;
    }
  }

  /** Guest read of register 2-6; `hob` selects the previous values (device control HOB bit). */
  read(reg: number, hob: boolean): number {
    switch (reg) {
      case REG_NSECTOR:
        return hob ? this.hobNsector : this.nsector;
      case REG_LBA_LOW:
        return hob ? this.hobLbaLow : this.lbaLow;
      case REG_LBA_MID:
        return hob ? this.hobLbaMid : this.lbaMid;
      case REG_LBA_HIGH:
        return hob ? this.hobLbaHigh : this.lbaHigh;
      case REG_DEVICE:
        return this.device;
      default:
        return 0;
    }
  }

  /** The 28-bit LBA of an LBA-mode command. */
  lba28(): number {
    return ((this.device & 0x0f) << 24) | (this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow;
  }

  /** The 48-bit LBA of an EXT command (high bytes in the HOB copies). */
  lba48(): number {
    const high = (this.hobLbaHigh << 16) | (this.hobLbaMid << 8) | this.hobLbaLow;
    const low = (this.lbaHigh << 16) | (this.lbaMid << 8) | this.lbaLow;
    return high * 0x100_0000 + low;
  }

  /** Write `lba` back to the address registers the way the command addressed it. */
  setLba(lba: number, ext: boolean): void {
    this.lbaLow = lba & 0xff;
    this.lbaMid = (lba >>> 8) & 0xff;
    this.lbaHigh = (lba >>> 16) & 0xff;
    if (ext) {
      const high = Math.floor(lba / 0x100_0000);
      this.hobLbaLow = high & 0xff;
      this.hobLbaMid = (high >>> 8) & 0xff;
      this.hobLbaHigh = (high >>> 16) & 0xff;
    } else {
      this.device = (this.device & 0xf0) | ((lba >>> 24) & 0x0f);
    }
  }

  /** Sector count: 8 bits (0 = 256), or 16 bits with the HOB byte for EXT commands (0 = 65536). */
  count(ext: boolean): number {
    const n = ext ? (this.hobNsector << 8) | this.nsector : this.nsector;
    return n === 0 ? (ext ? 0x1_0000 : 0x100) : n;
  }
}
