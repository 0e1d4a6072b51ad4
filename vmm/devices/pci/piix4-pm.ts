// PIIX4 power management function, PCI 00:01.3 (8086:7113 rev 03, class 0680), and the ACPI
// register blocks it decodes. Follows the 82371AB datasheet (PMBA, PMREGMISC, DEVACTB), ACPI 6.x
// §4.8 (PM1 event/control, PM timer) and QEMU 7.2 hw/acpi/piix4.c + hw/acpi/core.c, checked against
// SeaBIOS 1.16.2 pciinit.c piix4_pm_config_setup (0x3C <- 9, 0x40 <- base | 1, 0x80 <- 1,
// 0x90 <- (base + 0x100) | 1, 0xD2 <- 9) and smm.c (skips SMM setup when DEVACTB.APMC_EN is set).
// - Piix4Pm (config): PMBASE 0x40 (bits 15:6 writable, bit 0 reads 1), PMREGMISC 0x80 bit 0 PMIOSE,
//   DEVACTB 0x58 with APMC_EN (bit 25) set at reset: this machine has no SMM, and with the bit clear
//   bios-256k.bin tries to set SMM up and spins on port 0xB3. Interrupt pin A, line 9 (the SCI).
//   `onPmIoChange` reports where the PM block decodes (null while PMIOSE is clear or PMBASE is 0).
// - PmIo (the 64-byte block at PMBASE): +0 PM1a_STS (write 1 to clear), +2 PM1a_EN, +4 PM1a_CNT
//   (SCI_EN set at reset since there is no SMM to hand over from; SLP_EN with SLP_TYP 0 powers off:
//   QEMU's piix4 DSDT declares \_S5 = Package {0, 0, 0, 0}), +8 PM_TMR (24 bits, 3.579545 MHz).
// - PM_TMR is declared a sync register: any vCPU thread answers it with its own PmTimer
//   (pm-timer.ts, same epoch), without a trip to the device owner.
// - PiixGpe: GPE0 at 0xAFE0 (2 bytes status, write 1 to clear; 2 bytes enable).
// The SCI (GSI 9) is driven from PWRBTN/GBL/RTC status & enable and from GPE0 status & enable.
// Left out: SMBus (0x90/0xD2 are stored so they read back; no SMBus controller), the APM ports
// 0xB2/0xB3 and SMI generation, S1-S4 (SLP_TYP other than 0 is logged as guest misuse; QEMU also
// treats its S4 value 2 as power-off), TMR_EN raising an SCI on timer overflow (TMR_STS is reported),
// PCI/CPU/memory hotplug registers, device resource/decode registers 0x5C-0x6F.

import { configError } from '../../errors.js';
import { type BusDevice, type MachineServices, SyncKind, type SyncRegister } from '../device.js';
import { PmTimer } from './pm-timer.js';
import { PciFunction, QEMU_SUBSYSTEM_ID, QEMU_SUBSYSTEM_VENDOR } from './pci-function.js';

export const PIIX4_PM_VENDOR_ID = 0x8086;
export const PIIX4_PM_DEVICE_ID = 0x7113;
const PIIX4_PM_REVISION = 0x03;
const CLASS_BRIDGE_OTHER = 0x06_80_00;
/** Fast back-to-back capable, DEVSEL medium (QEMU piix4_pm_realize). */
const PIIX4_PM_STATUS_RESET = 0x0280;
/** The SCI is hardwired to IRQ 9. */
export const PIIX4_SCI_IRQ = 9;

export const PIIX4_PMBASE = 0x40;
const PMBASE_WRITABLE = 0x0000_ffc0;
const PMBASE_IO_SPACE = 0x1;
export const PIIX4_DEVACTB = 0x58;
export const DEVACTB_APMC_EN = 1 << 25;
export const PIIX4_PMREGMISC = 0x80;
const PMREGMISC_PMIOSE = 0x01;
const PIIX4_SMBBA = 0x90;
const SMBBA_WRITABLE = 0x0000_fff0;
const PIIX4_SMBHSTCFG = 0xd2;
const SMBHSTCFG_WRITABLE = 0x0f;

/** Size of the PM register block at PMBASE. */
export const PM_IO_SPAN = 0x40;
export const PM1_STS = 0x00;
export const PM1_EN = 0x02;
export const PM1_CNT = 0x04;
export const PM_TMR = 0x08;

export const PM1_STS_TMR = 1 << 0;
export const PM1_STS_GBL = 1 << 5;
export const PM1_STS_PWRBTN = 1 << 8;
export const PM1_STS_RTC = 1 << 10;
/** Status bits whose enable bit raises the SCI here (TMR is left out: see header). */
const SCI_EVENTS = PM1_STS_GBL | PM1_STS_PWRBTN | PM1_STS_RTC;

export const PM1_CNT_SCI_EN = 1 << 0;
export const PM1_CNT_SLP_EN = 1 << 13;
const SLP_TYP_SHIFT = 10;
/** SLP_TYP that means S5 (soft off): the first element of QEMU's piix4 \_S5 package. */
export const SLP_TYP_S5 = 0;

/** GPE0 block of the PIIX machine (QEMU's GPE_BASE), 4 bytes. */
export const PIIX_GPE0_BASE = 0xafe0;
export const PIIX_GPE0_SPAN = 4;

/** TMR_STS is set each time bit 23 of the timer changes. */
const PM_TIMER_HALF = 0x80_0000;

export interface Piix4PmOptions {
  /** Called when the PM block's decoded base changes (null = not decoded), and on every reset(). */
  onPmIoChange?: (base: number | null) => void;
}

export class Piix4Pm extends PciFunction {
  private readonly onPmIoChange: ((base: number | null) => void) | undefined;
  private decoded: number | null = null;

  constructor(options: Piix4PmOptions = {}) {
    super('piix4-pm', { bus: 0, device: 1, function: 3 });
    if (options.onPmIoChange !== undefined && typeof options.onPmIoChange !== 'function') {
      throw configError('onPmIoChange', typeof options.onPmIoChange, 'a function');
    }
    this.onPmIoChange = options.onPmIoChange;
    this.setIds(PIIX4_PM_VENDOR_ID, PIIX4_PM_DEVICE_ID);
    this.setRevision(PIIX4_PM_REVISION);
    this.setClass(CLASS_BRIDGE_OTHER);
    this.setSubsystem(QEMU_SUBSYSTEM_VENDOR, QEMU_SUBSYSTEM_ID);
    this.setStatus(PIIX4_PM_STATUS_RESET);
    this.setInterruptPin(1, PIIX4_SCI_IRQ);
    this.define(PIIX4_PMBASE, 4, PMBASE_IO_SPACE, PMBASE_WRITABLE);
    this.define(PIIX4_DEVACTB, 4, DEVACTB_APMC_EN, 0xffff_ffff);
    this.define(PIIX4_PMREGMISC, 1, 0, PMREGMISC_PMIOSE);
    this.define(PIIX4_SMBBA, 4, PMBASE_IO_SPACE, SMBBA_WRITABLE);
    this.define(PIIX4_SMBHSTCFG, 1, 0, SMBHSTCFG_WRITABLE);
  }

  /** Where the PM block decodes now, or null. */
  pmIoBase(): number | null {
    if ((this.config[PIIX4_PMREGMISC]! & PMREGMISC_PMIOSE) === 0) return null;
    const base = this.dword(PIIX4_PMBASE) & PMBASE_WRITABLE;
    return base === 0 ? null : base;
  }

  protected override onConfigWrite(offset: number, size: number): void {
    const end = offset + size;
    const touchesBase = offset < PIIX4_PMBASE + 4 && end > PIIX4_PMBASE;
    const touchesMisc = offset <= PIIX4_PMREGMISC && end > PIIX4_PMREGMISC;
    if (!touchesBase && !touchesMisc) return;
    const base = this.pmIoBase();
    if (base === this.decoded) return;
    this.decoded = base;
    this.onPmIoChange?.(base);
  }

  override reset(): void {
    super.reset();
    this.decoded = this.pmIoBase();
    this.onPmIoChange?.(this.decoded);
  }
}

/** GPE0 block: status (write 1 to clear) at +0-1, enable at +2-3. */
export class PiixGpe implements BusDevice {
  readonly name = 'piix4-gpe0';
  private sts = 0;
  private en = 0;

  /** `onChange` runs after any change that can move the SCI. */
  constructor(private readonly onChange: () => void = () => {}) {}

  read(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const o = offset + i;
      data[i] = o < 2 ? (this.sts >>> (8 * o)) & 0xff : o < 4 ? (this.en >>> (8 * (o - 2))) & 0xff : 0xff;
    }
  }

  write(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const o = offset + i;
      if (o < 2) this.sts &= ~(data[i]! << (8 * o));
      else if (o < 4) {
        const shift = 8 * (o - 2);
        this.en = (this.en & ~(0xff << shift)) | (data[i]! << shift);
      }
    }
    this.onChange();
  }

  /** Set status bit `bit` (0-15), as a hotplug controller would. */
  raise(bit: number): void {
    this.sts |= 1 << (bit & 15);
    this.onChange();
  }

  /** An enabled GPE is pending. */
  pending(): boolean {
    return (this.sts & this.en) !== 0;
  }

  reset(): void {
    this.sts = 0;
    this.en = 0;
  }
}

export { PM_TIMER_HZ, PmTimer, type PmTimerOptions } from './pm-timer.js';

export interface PmIoOptions {
  /** Share a timer (e.g. with a vCPU worker). Default: a new one starting now. */
  timer?: PmTimer;
  /** GSI the SCI drives. Default 9. */
  sciGsi?: number;
}

/** The PIIX4 PM register block; the machine registers it at Piix4Pm's decoded base, span PM_IO_SPAN. */
export class PmIo implements BusDevice {
  readonly name = 'piix4-pm';
  /** The PM timer is a function of time only: any thread may answer it. */
  readonly syncRegisters: readonly SyncRegister[] = [{ offset: PM_TMR, span: 4, kind: SyncKind.PmTimer }];
  readonly timer: PmTimer;
  /** GPE0 block; register at PIIX_GPE0_BASE, span PIIX_GPE0_SPAN. */
  readonly gpe: PiixGpe;

  private readonly sciGsi: number;
  private sts = 0;
  private en = 0;
  private cnt = PM1_CNT_SCI_EN;
  /** Timer tick at which TMR_STS next becomes set. */
  private tmrOverflowAt = PM_TIMER_HALF;
  private sciLevel = false;

  constructor(
    private readonly services: MachineServices,
    options: PmIoOptions = {},
  ) {
    const sciGsi = options.sciGsi ?? PIIX4_SCI_IRQ;
    if (!Number.isInteger(sciGsi) || sciGsi < 0 || sciGsi > 23) throw configError('sciGsi', sciGsi, 'a GSI 0-23');
    this.sciGsi = sciGsi;
    this.timer = options.timer ?? new PmTimer();
    this.gpe = new PiixGpe(() => this.updateSci());
    this.tmrOverflowAt = this.nextOverflow();
  }

  read(offset: number, data: Uint8Array): void {
    if (offset === PM_TMR && data.length === 4) {
      // Hot path (OVMF polls it in delay loops): no allocation, no dispatch.
      const v = this.timer.read();
      data[0] = v & 0xff;
      data[1] = (v >>> 8) & 0xff;
      data[2] = v >>> 16;
      data[3] = 0;
      return;
    }
    for (let i = 0; i < data.length; i++) data[i] = this.readByte(offset + i);
  }

  write(offset: number, data: Uint8Array): void {
    // Gather the bytes that fall in each 16-bit register, then apply them together.
    let i = 0;
    while (i < data.length) {
      const reg = (offset + i) & ~1;
      let value = 0;
      let mask = 0;
      for (; i < data.length && ((offset + i) & ~1) === reg; i++) {
        const shift = 8 * ((offset + i) & 1);
        value |= data[i]! << shift;
        mask |= 0xff << shift;
      }
      this.writeRegister(reg, value, mask);
    }
  }

  /** Press the power button: sets PWRBTN_STS, raising the SCI if PWRBTN_EN is set. */
  powerButton(): void {
    this.sts |= PM1_STS_PWRBTN;
    this.updateSci();
  }

  /** Power-on state; the PM timer keeps counting, as QEMU's virtual clock does across a reset. */
  reset(): void {
    this.sts = 0;
    this.en = 0;
    this.cnt = PM1_CNT_SCI_EN;
    this.tmrOverflowAt = this.nextOverflow();
    this.gpe.reset();
    this.updateSci();
  }

  private status(): number {
    return this.timer.ticks() >= this.tmrOverflowAt ? this.sts | PM1_STS_TMR : this.sts;
  }

  private nextOverflow(): number {
    return (Math.floor(this.timer.ticks() / PM_TIMER_HALF) + 1) * PM_TIMER_HALF;
  }

  private readByte(o: number): number {
    const shift = 8 * (o & 1);
    switch (o & ~1) {
      case PM1_STS:
        return (this.status() >>> shift) & 0xff;
      case PM1_EN:
        return (this.en >>> shift) & 0xff;
      case PM1_CNT:
        return (this.cnt >>> shift) & 0xff;
      case PM_TMR:
      case PM_TMR + 2:
        return (this.timer.read() >>> (8 * (o - PM_TMR))) & 0xff;
      default:
        return 0xff;
    }
  }

  private writeRegister(reg: number, value: number, mask: number): void {
    switch (reg) {
      case PM1_STS: {
        const clear = value & mask;
        if (clear & PM1_STS_TMR) this.tmrOverflowAt = this.nextOverflow();
        this.sts &= ~clear;
        this.updateSci();
        return;
      }
      case PM1_EN:
        this.en = (this.en & ~mask) | (value & mask);
        this.updateSci();
        return;
      case PM1_CNT: {
        const v = (this.cnt & ~mask) | (value & mask);
        this.cnt = v & ~PM1_CNT_SLP_EN;
        if (v & PM1_CNT_SLP_EN) this.sleep((v >>> SLP_TYP_SHIFT) & 7);
        return;
      }
      default:
        this.services.guestMisuse(this.name, `write to ${reg === PM_TMR || reg === PM_TMR + 2 ? 'read-only PM_TMR' : `unimplemented PM register +0x${reg.toString(16)}`}`);
    }
  }

  private sleep(slpTyp: number): void {
    if (slpTyp === SLP_TYP_S5) {
      this.services.requestPowerOff('acpi-s5');
      return;
    }
    this.services.guestMisuse(this.name, `sleep type ${slpTyp} requested; only S5 (SLP_TYP ${SLP_TYP_S5}) is supported`);
  }

  private updateSci(): void {
    const level = (this.sts & this.en & SCI_EVENTS) !== 0 || this.gpe.pending();
    if (level === this.sciLevel) return;
    this.sciLevel = level;
    this.services.setIrqLine(this.sciGsi, level);
  }
}
