// i440FX host bridge, PCI 00:00.0 (8086:1237 rev 02, class 0600), the function SeaBIOS and OVMF
// identify the `pc` machine by. Follows the 82441FX datasheet (PAM, SMRAM) and QEMU 7.2
// hw/pci-host/i440fx.c + pam.c, checked against SeaBIOS 1.16.2 src/fw/shadow.c:
// - PAM0-PAM6 at 0x59-0x5F program 0xC0000-0xFFFFF. 0x59 bits 5:4 = the 64 KiB BIOS segment at
//   0xF0000; 0x5A-0x5F each hold two 16 KiB granules, low nibble = lower address. Per nibble
//   bit 0 = read enable, bit 1 = write enable, bit 2 = cache enable (stored, no effect).
//   Mode 0 sends accesses to ROM/PCI, 1 = read-only RAM, 2 = write-only RAM, 3 = RAM.
//   QEMU maps mode 2 as plain RAM (pam.c "XXX: should distinguish read/write cases"); the
//   machine may do the same. SeaBIOS read-modify-writes dwords at 0x58 and 0x5C, so PAM reads back.
// - SMRAM 0x72 resets to 0x02 (C-segment base, read-only) and stores D_OPEN/D_CLS/D_LCK/G_SMRAME.
// Left out: SMM and SMRAM (no SMM on this machine; 0x72 has no effect, D_LCK does not lock), DRAM
// row/timing registers, QEMU's coreboot RAM-size byte 0x57, error reporting.

import { BIOS_SEGMENT_BASE, BIOS_SEGMENT_SIZE, PAM_AREA_BASE, PAM_GRANULE_COUNT, PAM_GRANULE_SIZE, PCI_HOST_BRIDGE_SLOT } from '../../layout.js';
import { configError } from '../../errors.js';
import { PciFunction, QEMU_SUBSYSTEM_ID, QEMU_SUBSYSTEM_VENDOR } from './pci-function.js';

export const I440FX_VENDOR_ID = 0x8086;
export const I440FX_DEVICE_ID = 0x1237;
const I440FX_REVISION = 0x02;
const CLASS_BRIDGE_HOST = 0x06_00_00;

/** PAM0 (BIOS segment); PAM1-PAM6 follow. */
export const I440FX_PAM0 = 0x59;
export const I440FX_PAM_COUNT = 7;
export const I440FX_SMRAM = 0x72;
const SMRAM_RESET = 0x02;
/** D_OPEN | D_CLS | D_LCK | G_SMRAME; C_BASE_SEG (2:0) is read-only. */
const SMRAM_WRITABLE = 0x78;
/** PAM0 has only the high nibble; PAM1-6 have RE/WE/CE in both nibbles. */
const PAM0_WRITABLE = 0x70;
const PAM_WRITABLE = 0x77;

/** 0 = ROM/PCI, 1 = read-only RAM, 2 = write-only RAM, 3 = RAM. */
export type PamMode = 0 | 1 | 2 | 3;

export interface PamSegment {
  base: number;
  size: number;
  mode: PamMode;
}

/** 0xC0000-0xEFFFF in 16 KiB granules; the BIOS segment is the last of PAM_GRANULE_COUNT. */
const EXPANSION_GRANULES = PAM_GRANULE_COUNT - 1;

/**
 * Decode PAM0-PAM6 (`regs[0]` = config 0x59) into the 13 granules in address order:
 * 0xC0000, 0xC4000, ..., 0xEC000 (16 KiB each) and 0xF0000 (64 KiB).
 */
export function decodePam(regs: ArrayLike<number>): PamSegment[] {
  if (regs.length < I440FX_PAM_COUNT) throw configError('PAM registers', regs.length, `${I440FX_PAM_COUNT} bytes`);
  const segments: PamSegment[] = [];
  for (let i = 0; i < EXPANSION_GRANULES; i++) {
    const reg = regs[1 + (i >> 1)]!;
    const nibble = i & 1 ? reg >> 4 : reg;
    segments.push({ base: PAM_AREA_BASE + i * PAM_GRANULE_SIZE, size: PAM_GRANULE_SIZE, mode: (nibble & 3) as PamMode });
  }
  segments.push({ base: BIOS_SEGMENT_BASE, size: BIOS_SEGMENT_SIZE, mode: ((regs[0]! >> 4) & 3) as PamMode });
  return segments;
}

/** Merge neighbouring segments with the same mode (fewer memory slots for the machine). */
export function coalescePam(segments: readonly PamSegment[]): PamSegment[] {
  const out: PamSegment[] = [];
  for (const s of segments) {
    const last = out[out.length - 1];
    if (last !== undefined && last.mode === s.mode && last.base + last.size === s.base) last.size += s.size;
    else out.push({ ...s });
  }
  return out;
}

export interface I440fxOptions {
  /** Called with all 13 granules after a write changed any of them, and on every reset(). */
  onPamChange?: (segments: PamSegment[]) => void;
  /**
   * PAM0-PAM6 after reset (default all 0: the ROM is read, writes go nowhere). Only the
   * vmd-low-bios-only quirk changes it: BIOS and E segments as RAM, already holding the firmware.
   */
  pamReset?: readonly number[];
}

/** PAM0 0x30 and PAM5/PAM6 0x33: 0xE0000-0xFFFFF read and written as RAM. */
export const PAM_RESET_BIOS_AS_RAM = [0x30, 0, 0, 0, 0, 0x33, 0x33] as const;

export class I440fx extends PciFunction {
  private readonly onPamChange: ((segments: PamSegment[]) => void) | undefined;
  /** Decoded mode per granule at the last notification, to report only real changes. */
  private readonly modes = new Uint8Array(EXPANSION_GRANULES + 1);

  constructor(options: I440fxOptions = {}) {
    super('i440fx', { bus: 0, device: PCI_HOST_BRIDGE_SLOT, function: 0 });
    if (options.onPamChange !== undefined && typeof options.onPamChange !== 'function') {
      throw configError('onPamChange', typeof options.onPamChange, 'a function');
    }
    this.onPamChange = options.onPamChange;
    this.setIds(I440FX_VENDOR_ID, I440FX_DEVICE_ID);
    this.setRevision(I440FX_REVISION);
    this.setClass(CLASS_BRIDGE_HOST);
    this.setSubsystem(QEMU_SUBSYSTEM_VENDOR, QEMU_SUBSYSTEM_ID);
    const pamReset = options.pamReset ?? [];
    this.define(I440FX_PAM0, 1, pamReset[0] ?? 0, PAM0_WRITABLE);
    for (let i = 1; i < I440FX_PAM_COUNT; i++) this.define(I440FX_PAM0 + i, 1, pamReset[i] ?? 0, PAM_WRITABLE);
    this.define(I440FX_SMRAM, 1, SMRAM_RESET, SMRAM_WRITABLE);
  }

  /** The current PAM state, 13 granules in address order. */
  pamSegments(): PamSegment[] {
    return decodePam(this.config.subarray(I440FX_PAM0, I440FX_PAM0 + I440FX_PAM_COUNT));
  }

  protected override onConfigWrite(offset: number, size: number): void {
    if (offset + size <= I440FX_PAM0 || offset >= I440FX_PAM0 + I440FX_PAM_COUNT) return;
    const segments = this.pamSegments();
    let changed = false;
    for (let i = 0; i < segments.length; i++) {
      if (this.modes[i] !== segments[i]!.mode) changed = true;
      this.modes[i] = segments[i]!.mode;
    }
    if (changed) this.onPamChange?.(segments);
  }

  override reset(): void {
    super.reset();
    const segments = this.pamSegments();
    segments.forEach((s, i) => {
      this.modes[i] = s.mode;
    });
    this.onPamChange?.(segments);
  }
}
