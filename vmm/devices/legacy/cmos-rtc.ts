// MC146818 RTC + 128 bytes of CMOS RAM at ports 0x70 (index) / 0x71 (data), after the Motorola
// MC146818A datasheet, with the CMOS layout QEMU 7.2's pc machine writes (hw/i386/pc.c
// pc_cmos_init, set_boot_dev; hw/rtc/mc146818rtc.c) because SeaBIOS and OVMF read it there.
//
// Implemented: index register (bit 7 = NMI mask, masked off and only recorded; reads of 0x70
// return 0xFF as QEMU); clock registers 0x00-0x09 and century 0x32 computed from `now()` at read
// time (UTC) plus a guest-set offset, in BCD or binary and 24h or 12h per register B; register A
// (divider 0x26, UIP always 0: the clock is never mid-update, so SeaBIOS's wait-for-UIP loop ends at
// once), B (writable), C (read clears; always 0 here), D (0x80, valid RAM and time).
// Setting the clock: writes to clock registers land in a shadow copy. With B.SET=0 the shadow is
// committed at once; with B.SET=1 it is frozen (reads return it) and committed when SET clears,
// if a clock register was written meanwhile.
// A commit stores the difference to `now()`; invalid dates are counted as guest misuse and dropped.
// Presets (QEMU's values): 0x10 floppy types 0, 0x14 equipment 0x06 (FPU, PS/2 mouse), 0x15/0x16
// base memory 640 KiB, 0x17/0x18 = 0x30/0x31 KiB above 1 MiB (capped 0xFFFF), 0x34/0x35 64 KiB
// units above 16 MiB of the below-4G RAM (capped 0xFFFF), 0x5B-0x5D 64 KiB units above 4 GiB,
// 0x5F CPUs - 1, boot order 0x3D/0x38 (see encodeBootOrder). Beyond QEMU: 0x2E/0x2F hold the AT
// BIOS checksum (16-bit sum of 0x10-0x2D, high byte first), as a PC's battery-backed CMOS does;
// Linux's /dev/nvram refuses every access (EIO) while it is wrong, and the probe guest keeps its
// boot count there. Guests that change 0x10-0x2D keep it up to date themselves (Linux's nvram does).
// Posted writes: a byte write to the index port only selects a register (and the NMI mask bit,
// recorded only), so vCPU threads may queue it for the owner (device.ts SyncKind.PostedWrite); the
// data access that follows goes to the owner, which applies queued writes first.
// Reset: reset() is a machine reset. Like the chip (and QEMU's rtc_reset) it clears only the
// interrupt enables in B and the flags in C; the battery-backed RAM, including the 0x0F shutdown
// status that SeaBIOS and OVMF read after a reset, and the clock survive. Power-on state is built
// once, in the constructor.
// Left out: periodic, alarm and update-ended interrupts on IRQ 8 (PIE/AIE/UIE are stored but never
// fire; C stays 0), daylight-saving, divider-chain reset semantics, the second 128-byte bank.

import { BootgateError, configError } from '../../errors.js';
import { KiB, MiB } from '../../layout.js';
import { type BusDevice, type MachineServices, SyncKind, type SyncRegister } from '../device.js';

export const CMOS_BASE = 0x70;

/** The AT BIOS checksum of CMOS RAM: the 16-bit sum of bytes 0x10-0x2D. */
export function cmosChecksum(ram: Uint8Array): number {
  let sum = 0;
  for (let i = CMOS_CHECKSUM_FIRST; i <= CMOS_CHECKSUM_LAST; i++) sum += ram[i]!;
  return sum & 0xffff;
}
export const CMOS_SPAN = 2;

const PORT_INDEX = 0;
const PORT_DATA = 1;

const CMOS_SIZE = 128;
const INDEX_MASK = 0x7f;
const INDEX_NMI_DISABLE = 0x80;

// Clock registers.
const RTC_SECONDS = 0x00;
const RTC_MINUTES = 0x02;
const RTC_HOURS = 0x04;
const RTC_DAY_OF_WEEK = 0x06;
const RTC_DAY_OF_MONTH = 0x07;
const RTC_MONTH = 0x08;
const RTC_YEAR = 0x09;
const RTC_CENTURY = 0x32;
const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;

const REG_A_UIP = 0x80;
const REG_A_DEFAULT = 0x26; // 32.768 kHz time base, 1.024 kHz periodic rate
const REG_B_SET = 0x80;
const REG_B_PIE = 0x40;
const REG_B_AIE = 0x20;
const REG_B_UIE = 0x10;
const REG_B_SQWE = 0x08;
const REG_B_DM_BINARY = 0x04;
const REG_B_24H = 0x02;
const REG_B_DEFAULT = REG_B_24H; // 24-hour, BCD
const REG_D_VRT = 0x80;
const HOUR_PM = 0x80;

// CMOS RAM layout (QEMU pc_cmos_init).
const CMOS_SHUTDOWN_STATUS = 0x0f;
const CMOS_FLOPPY_TYPES = 0x10;
const CMOS_EQUIPMENT = 0x14;
/** The AT checksum covers 0x10-0x2D and sits at 0x2E (high) / 0x2F (low). */
const CMOS_CHECKSUM_FIRST = 0x10;
const CMOS_CHECKSUM_LAST = 0x2d;
const CMOS_CHECKSUM_HI = 0x2e;
const CMOS_BASE_MEM_LO = 0x15;
const CMOS_EXT_MEM_LO = 0x17;
const CMOS_EXT_MEM2_LO = 0x30;
const CMOS_MEM_ABOVE_16M_LO = 0x34;
const CMOS_BOOT_FLAG1 = 0x38; // third boot device << 4 | 1 to skip the floppy signature check
const CMOS_BOOT_FLAG2 = 0x3d; // second boot device << 4 | first
const CMOS_MEM_ABOVE_4G_LO = 0x5b;
const CMOS_CPU_COUNT_M1 = 0x5f;

const EQUIPMENT_FPU = 0x02;
const EQUIPMENT_PS2_MOUSE = 0x04;

/** Clock register indices a guest can set (the shadow). */
const CLOCK_REGS = [RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR, RTC_CENTURY];
/** CLOCK_REGS as a lookup by register index. */
const IS_CLOCK_REG: readonly boolean[] = Array.from({ length: 128 }, (_, i) => CLOCK_REGS.includes(i));

export interface CmosRtcOptions {
  /** Guest RAM below 4 GiB, in bytes. */
  ramBelow4G: number;
  /** Guest RAM above 4 GiB, in bytes. */
  ramAbove4G: number;
  /** vCPU count (0x5F holds cpus - 1). */
  cpus: number;
  /** Wall clock; defaults to the host's. */
  now?: () => Date;
  /** Boot order as QEMU's -boot order= letters (a/b floppy, c disk, d CD, n network); default 'cad'. */
  bootOrder?: string;
}

/**
 * QEMU's encoding (pc.c set_boot_dev): each letter becomes a nibble (floppy 1, disk 2, CD 3, net 4);
 * 0x3D = second << 4 | first, 0x38 = third << 4 | 0 (0 = do check the floppy boot signature).
 * SeaBIOS (boot.c) reads 0x3D | (0x38 & 0xF0) << 4 as three priorities. 'cad' gives 0x12 / 0x30.
 */
export function encodeBootOrder(order: string): { flag2: number; flag1: number } {
  const nibble: Record<string, number> = { a: 1, b: 1, c: 2, d: 3, n: 4 };
  if (order.length > 3) throw configError('bootOrder', order, 'at most 3 of the letters a, b, c, d, n');
  const n = [0, 0, 0];
  for (let i = 0; i < order.length; i++) {
    const v = nibble[order[i]!];
    if (v === undefined) throw configError('bootOrder', order, 'at most 3 of the letters a, b, c, d, n');
    n[i] = v;
  }
  return { flag2: (n[1]! << 4) | n[0]!, flag1: n[2]! << 4 };
}

function toBcd(v: number): number {
  return ((Math.floor(v / 10) % 10) << 4) | v % 10;
}

function fromBcd(v: number): number {
  const hi = v >> 4;
  const lo = v & 0x0f;
  return hi > 9 || lo > 9 ? Number.NaN : hi * 10 + lo;
}

class CmosState {
  index = 0;
  nmiDisabled = false;
  readonly ram = new Uint8Array(CMOS_SIZE);
  /** Guest time minus host time, in ms. */
  offsetMs = 0;
  /** A clock register was written while B.SET was 1. */
  clockWritten = false;
}

export class CmosRtc implements BusDevice {
  readonly name = 'cmos-rtc';
  readonly syncRegisters: readonly SyncRegister[] = [{ offset: PORT_INDEX, span: 1, kind: SyncKind.PostedWrite }];
  private readonly s = new CmosState();
  private readonly now: () => Date;

  constructor(
    private readonly services: MachineServices,
    options: CmosRtcOptions,
  ) {
    const { ramBelow4G, ramAbove4G, cpus } = options;
    if (!Number.isSafeInteger(ramBelow4G) || ramBelow4G < MiB || ramBelow4G > 4 * 1024 * MiB) {
      throw configError('ramBelow4G', ramBelow4G, 'an integer byte count from 1 MiB to 4 GiB');
    }
    if (!Number.isSafeInteger(ramAbove4G) || ramAbove4G < 0 || ramAbove4G / (64 * KiB) > 0xff_ffff) {
      throw configError('ramAbove4G', ramAbove4G, 'an integer byte count below 1 TiB');
    }
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 256) {
      throw configError('cpus', cpus, 'an integer from 1 to 256');
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new BootgateError('E_CONFIG', 'cmos-rtc: now must be a function returning a Date');
    }
    this.now = options.now ?? (() => new Date());
    const boot = encodeBootOrder(options.bootOrder ?? 'cad');

    const ram = this.s.ram;
    ram[REG_A] = REG_A_DEFAULT;
    ram[REG_B] = REG_B_DEFAULT;
    ram[REG_D] = REG_D_VRT;
    ram[CMOS_SHUTDOWN_STATUS] = 0;
    ram[CMOS_FLOPPY_TYPES] = 0;
    ram[CMOS_EQUIPMENT] = EQUIPMENT_FPU | EQUIPMENT_PS2_MOUSE;
    this.set16(CMOS_BASE_MEM_LO, Math.min(ramBelow4G / KiB, 640));
    const ext = Math.min(Math.floor(Math.max(ramBelow4G - MiB, 0) / KiB), 0xffff);
    this.set16(CMOS_EXT_MEM_LO, ext);
    this.set16(CMOS_EXT_MEM2_LO, ext);
    this.set16(CMOS_MEM_ABOVE_16M_LO, Math.min(Math.floor(Math.max(ramBelow4G - 16 * MiB, 0) / (64 * KiB)), 0xffff));
    const high = Math.floor(ramAbove4G / (64 * KiB));
    ram[CMOS_MEM_ABOVE_4G_LO] = high & 0xff;
    ram[CMOS_MEM_ABOVE_4G_LO + 1] = (high >> 8) & 0xff;
    ram[CMOS_MEM_ABOVE_4G_LO + 2] = (high >> 16) & 0xff;
    ram[CMOS_CPU_COUNT_M1] = cpus - 1;
    ram[CMOS_BOOT_FLAG2] = boot.flag2;
    ram[CMOS_BOOT_FLAG1] = boot.flag1;
    const sum = cmosChecksum(ram);
    ram[CMOS_CHECKSUM_HI] = sum >> 8;
    ram[CMOS_CHECKSUM_HI + 1] = sum & 0xff;
  }

  /** Machine reset: what the chip's RESET pin clears. RAM (incl. 0x0F) and the clock survive. */
  reset(): void {
    const ram = this.s.ram;
    ram[REG_B] = ram[REG_B]! & ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
    ram[REG_C] = 0;
  }

  /** A CMOS byte as the guest would read it (clock registers included), for tests and diagnostics. */
  peek(index: number): number {
    return this.readRegister(index & INDEX_MASK);
  }

  get nmiDisabled(): boolean {
    return this.s.nmiDisabled;
  }

  read(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const port = offset + i;
      data[i] = port === PORT_DATA ? this.readRegister(this.s.index) : 0xff;
    }
  }

  write(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const port = offset + i;
      const value = data[i]!;
      if (port === PORT_INDEX) {
        this.s.index = value & INDEX_MASK;
        this.s.nmiDisabled = (value & INDEX_NMI_DISABLE) !== 0;
      } else if (port === PORT_DATA) {
        this.writeRegister(this.s.index, value);
      }
    }
  }

  private readRegister(index: number): number {
    const ram = this.s.ram;
    if (IS_CLOCK_REG[index]) {
      if (!(ram[REG_B]! & REG_B_SET)) this.latchClock();
      return ram[index]!;
    }
    switch (index) {
      case REG_A:
        return ram[REG_A]! & ~REG_A_UIP;
      case REG_C: {
        const v = ram[REG_C]!;
        ram[REG_C] = 0;
        return v;
      }
      default:
        return ram[index]!;
    }
  }

  private writeRegister(index: number, value: number): void {
    const ram = this.s.ram;
    if (IS_CLOCK_REG[index]) {
      if (!(ram[REG_B]! & REG_B_SET)) {
        this.latchClock();
        ram[index] = value;
        this.commitClock();
      } else {
        ram[index] = value;
        this.s.clockWritten = true;
      }
      return;
    }
    switch (index) {
      case REG_A:
        ram[REG_A] = value & ~REG_A_UIP;
        return;
      case REG_B: {
        const wasSet = (ram[REG_B]! & REG_B_SET) !== 0;
        if (value & REG_B_SET && !wasSet) this.latchClock(); // freeze the current time in the shadow
        ram[REG_B] = value & REG_B_SET ? value & ~REG_B_UIE : value;
        // OVMF's PcRtc sets and clears SET only to read the time: no write, no commit, no drift.
        if (wasSet && !(value & REG_B_SET) && this.s.clockWritten) this.commitClock();
        if (!(value & REG_B_SET)) this.s.clockWritten = false;
        return;
      }
      case REG_C:
      case REG_D:
        this.services.guestMisuse(this.name, `write 0x${value.toString(16)} to read-only register 0x${index.toString(16)}`);
        return;
      default:
        ram[index] = value;
    }
  }

  /** Fill the clock registers from now() + offset in the format register B selects. */
  private latchClock(): void {
    const ram = this.s.ram;
    const t = new Date(this.now().getTime() + this.s.offsetMs);
    const b = ram[REG_B]!;
    const enc = b & REG_B_DM_BINARY ? (v: number) => v : toBcd;
    const year = t.getUTCFullYear();
    let hours = t.getUTCHours();
    let pm = 0;
    if (!(b & REG_B_24H)) {
      pm = hours >= 12 ? HOUR_PM : 0;
      hours = hours % 12 === 0 ? 12 : hours % 12;
    }
    ram[RTC_SECONDS] = enc(t.getUTCSeconds());
    ram[RTC_MINUTES] = enc(t.getUTCMinutes());
    ram[RTC_HOURS] = enc(hours) | pm;
    ram[RTC_DAY_OF_WEEK] = t.getUTCDay() + 1; // 1 = Sunday
    ram[RTC_DAY_OF_MONTH] = enc(t.getUTCDate());
    ram[RTC_MONTH] = enc(t.getUTCMonth() + 1);
    ram[RTC_YEAR] = enc(year % 100);
    ram[RTC_CENTURY] = enc(Math.floor(year / 100));
  }

  /** Turn the shadow clock registers into an offset from now(). */
  private commitClock(): void {
    const ram = this.s.ram;
    const b = ram[REG_B]!;
    const dec = b & REG_B_DM_BINARY ? (v: number) => v : fromBcd;
    let hours: number;
    if (b & REG_B_24H) {
      hours = dec(ram[RTC_HOURS]!);
    } else {
      const h12 = dec(ram[RTC_HOURS]! & ~HOUR_PM);
      hours = (h12 % 12) + (ram[RTC_HOURS]! & HOUR_PM ? 12 : 0);
    }
    const year = dec(ram[RTC_CENTURY]!) * 100 + dec(ram[RTC_YEAR]!);
    const month = dec(ram[RTC_MONTH]!);
    const day = dec(ram[RTC_DAY_OF_MONTH]!);
    const minutes = dec(ram[RTC_MINUTES]!);
    const seconds = dec(ram[RTC_SECONDS]!);
    const valid =
      [year, month, day, hours, minutes, seconds].every(Number.isInteger) &&
      month >= 1 && month <= 12 && day >= 1 && day <= 31 && hours <= 23 && minutes <= 59 && seconds <= 59;
    if (!valid) {
      this.services.guestMisuse(this.name, `invalid clock setting ${CLOCK_REGS.map((r) => ram[r]!.toString(16)).join(' ')}`);
      return;
    }
    const guest = new Date(0);
    guest.setUTCFullYear(year, month - 1, day); // not Date.UTC: it maps years 0-99 to 19xx
    guest.setUTCHours(hours, minutes, seconds, 0);
    const guestMs = guest.getTime();
    const hostMs = this.now().getTime();
    // Keep the host's sub-second phase so the guest's seconds tick when the host's do.
    this.s.offsetMs = guestMs - (hostMs - (hostMs % 1000));
  }

  private set16(index: number, value: number): void {
    this.s.ram[index] = value & 0xff;
    this.s.ram[index + 1] = (value >> 8) & 0xff;
  }
}
