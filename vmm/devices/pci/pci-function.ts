// One conventional PCI function: a 256-byte type-0 configuration space with per-byte write masks.
// Follows the PCI Local Bus Specification 3.0 (ch. 6, configuration space) and, where firmware
// looks, QEMU 7.2 hw/pci/pci.c: which header bits the guest may change (command IO/MEM/MASTER/
// PARITY/SERR/INTX_DISABLE, cache line size, interrupt line), which status bits are write-1-to-clear,
// and BARs that size by "write all ones, read back the size mask" as SeaBIOS pciinit.c
// pci_bios_get_bar expects (an IO BAR keeps all 32 bits writable, as in QEMU, or the sizing
// arithmetic overflows).
// Subset: type-0 header, IO / 32-bit / 64-bit (optionally prefetchable) memory BARs with a callback
// when a decoded BAR appears, moves or disappears, and one when the command decode bits change.
// Left out: capability lists, the expansion ROM BAR (reads 0, so sizing finds none), type-1 bridge
// headers, PCIe extended space, BIST, INTx status and disable semantics, power management.

import { BootgateError, configError } from '../../errors.js';
import { FOUR_GIB } from '../../layout.js';

/** Bus / device / function of a PCI function. */
export interface Bdf {
  readonly bus: number;
  readonly device: number;
  readonly function: number;
}

// Type-0 header offsets (PCI 3.0 figure 6-1).
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

export const PCI_COMMAND_IO = 0x0001;
export const PCI_COMMAND_MEMORY = 0x0002;
const PCI_COMMAND_MASTER = 0x0004;
const PCI_COMMAND_PARITY = 0x0040;
const PCI_COMMAND_SERR = 0x0100;
const PCI_COMMAND_INTX_DISABLE = 0x0400;
/** Command bits a guest may set (QEMU pci_init_wmask). */
const COMMAND_WRITABLE =
  PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;
/** Status error bits cleared by writing 1 (master data parity, target/master aborts, SERR, parity). */
const STATUS_WRITE_ONE_TO_CLEAR = 0xf900;

export const PCI_HEADER_TYPE_MULTIFUNCTION = 0x80;

/** QEMU gives every function it creates this subsystem (Red Hat / "QEMU virtual machine"). */
export const QEMU_SUBSYSTEM_VENDOR = 0x1af4;
export const QEMU_SUBSYSTEM_ID = 0x1100;

const BAR_COUNT = 6;
const BAR_IO_SPACE = 0x1;
const BAR_MEM_TYPE_64 = 0x4;
const BAR_MEM_PREFETCH = 0x8;
/** Largest IO BAR (PCI 3.0 §6.2.5.1) and the end of the x86 port space. */
const IO_BAR_MAX = 256;
const IO_SPACE_END = 0x1_0000;
/** A 64-bit BAR is treated as not decoded at or above 2^52 (no x86 CPU has more physical bits). */
const MEM64_LIMIT = 2 ** 52;

export type BarKind = 'io' | 'mem32' | 'mem64';

export interface BarSpec {
  kind: BarKind;
  /** Power of two: 4..256 for IO, at least 16 for memory (at most 2 GiB for mem32). */
  size: number;
  prefetchable?: boolean;
}

export interface BarInfo extends Required<BarSpec> {
  readonly index: number;
  /** Guest address the BAR decodes at, or null while not decoded (decode bit off, 0, or out of range). */
  readonly base: number | null;
}

/** A decoded BAR appeared, moved or disappeared. */
export interface BarChange {
  index: number;
  kind: BarKind;
  size: number;
  oldBase: number | null;
  newBase: number | null;
}

interface BarState {
  index: number;
  kind: BarKind;
  size: number;
  prefetchable: boolean;
  base: number | null;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** "00:01.3": how firmware and lspci print a BDF. */
export function formatBdf(bdf: Bdf): string {
  const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');
  return `${hex(bdf.bus, 2)}:${hex(bdf.device, 2)}.${bdf.function}`;
}

export class PciFunction {
  readonly name: string;
  readonly bdf: Bdf;
  /** Told when a decoded BAR appears, moves or disappears (including through the command register). */
  onBarChange: ((change: BarChange) => void) | undefined;
  /** Told when command bit 0 (IO decode) or bit 1 (memory decode) changes. */
  onDecodeChange: ((io: boolean, memory: boolean) => void) | undefined;

  /** Current configuration space; subclasses read it directly, the guest goes through writeConfig. */
  protected readonly config = new Uint8Array(256);
  private readonly writeMask = new Uint8Array(256);
  private readonly clearMask = new Uint8Array(256);
  private readonly powerOn = new Uint8Array(256);
  private readonly bars: (BarState | undefined)[] = new Array(BAR_COUNT).fill(undefined);

  constructor(name: string, bdf: Bdf) {
    const ok = (v: number, max: number) => Number.isInteger(v) && v >= 0 && v <= max;
    if (!ok(bdf.bus, 255) || !ok(bdf.device, 31) || !ok(bdf.function, 7)) {
      throw configError('PCI bdf', bdf, 'bus 0-255, device 0-31, function 0-7');
    }
    this.name = name;
    this.bdf = { bus: bdf.bus, device: bdf.device, function: bdf.function };
    this.define(PCI_COMMAND, 2, 0, COMMAND_WRITABLE);
    this.define(PCI_STATUS, 2, 0, 0, STATUS_WRITE_ONE_TO_CLEAR);
    this.define(PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
    this.define(PCI_INTERRUPT_LINE, 1, 0, 0xff);
  }

  /**
   * Define a register's power-on value and which bits the guest may set (`writable`) or clear by
   * writing 1 (`writeOneToClear`). Everything not defined reads 0 and ignores writes.
   */
  protected define(offset: number, size: number, value: number, writable = 0, writeOneToClear = 0): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + size > 256 || size < 1 || size > 4) {
      throw new BootgateError('E_INTERNAL', `${this.name}: register 0x${offset.toString(16)}/${size} outside config space`);
    }
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const shift = 8 * i;
      this.config[o] = this.powerOn[o] = (value >>> shift) & 0xff;
      this.writeMask[o] = (writable >>> shift) & 0xff;
      this.clearMask[o] = (writeOneToClear >>> shift) & 0xff;
    }
  }

  setIds(vendor: number, device: number): void {
    this.define(PCI_VENDOR_ID, 2, vendor);
    this.define(PCI_DEVICE_ID, 2, device);
  }

  /** `classCode` is base class << 16 | subclass << 8 | programming interface (e.g. 0x060100). */
  setClass(classCode: number): void {
    this.define(PCI_CLASS_PROG, 1, classCode & 0xff);
    this.define(PCI_CLASS_PROG + 1, 2, (classCode >>> 8) & 0xffff);
  }

  setRevision(revision: number): void {
    this.define(PCI_REVISION_ID, 1, revision);
  }

  setHeaderType(headerType: number): void {
    this.define(PCI_HEADER_TYPE, 1, headerType);
  }

  setSubsystem(vendor: number, id: number): void {
    this.define(PCI_SUBSYSTEM_VENDOR_ID, 2, vendor);
    this.define(PCI_SUBSYSTEM_ID, 2, id);
  }

  /** Pin 1-4 = INTA#-INTD#, 0 = none; `line` is the power-on interrupt line (the guest may rewrite it). */
  setInterruptPin(pin: number, line = 0): void {
    if (!Number.isInteger(pin) || pin < 0 || pin > 4) throw configError('interrupt pin', pin, '0-4');
    this.define(PCI_INTERRUPT_PIN, 1, pin);
    this.define(PCI_INTERRUPT_LINE, 1, line, 0xff);
  }

  /** Power-on command register value (writable bits stay as the header defines them). */
  setCommand(value: number): void {
    this.define(PCI_COMMAND, 2, value, COMMAND_WRITABLE);
  }

  setStatus(value: number): void {
    this.define(PCI_STATUS, 2, value, 0, STATUS_WRITE_ONE_TO_CLEAR);
  }

  /** Add BAR `index` (0-5; a mem64 BAR also takes index + 1). Not decoded until the guest programs it. */
  addBar(index: number, spec: BarSpec): void {
    const { kind, size } = spec;
    const prefetchable = spec.prefetchable ?? false;
    const slots = kind === 'mem64' ? 2 : 1;
    if (!Number.isInteger(index) || index < 0 || index + slots > BAR_COUNT) {
      throw configError(`${this.name} BAR index`, index, kind === 'mem64' ? '0-4 for a 64-bit BAR' : '0-5');
    }
    if (this.bars[index] !== undefined || (slots === 2 && this.bars[index + 1] !== undefined) || this.barOwning(index)) {
      throw configError(`${this.name} BAR index`, index, 'a BAR slot not already in use');
    }
    const sizeOk =
      isPowerOfTwo(size) &&
      (kind === 'io'
        ? size >= 4 && size <= IO_BAR_MAX
        : size >= 16 && (kind === 'mem32' ? size <= FOUR_GIB / 2 : size <= MEM64_LIMIT / 2));
    if (!sizeOk) throw configError(`${this.name} BAR ${index} size`, size, `a power of two valid for a ${kind} BAR`);
    if (kind === 'io' && prefetchable) throw configError(`${this.name} BAR ${index} prefetchable`, true, 'false for IO');

    const offset = PCI_BASE_ADDRESS_0 + 4 * index;
    if (kind === 'io') {
      this.define(offset, 4, BAR_IO_SPACE, (FOUR_GIB - size) >>> 0);
    } else {
      const type = (kind === 'mem64' ? BAR_MEM_TYPE_64 : 0) | (prefetchable ? BAR_MEM_PREFETCH : 0);
      const lowMask = size >= FOUR_GIB ? 0 : (FOUR_GIB - size) >>> 0;
      this.define(offset, 4, type, lowMask);
      if (kind === 'mem64') {
        const highMask = size > FOUR_GIB ? (FOUR_GIB - size / FOUR_GIB) >>> 0 : 0xffff_ffff;
        this.define(offset + 4, 4, 0, highMask);
      }
    }
    this.bars[index] = { index, kind, size, prefetchable, base: null };
  }

  /** The BAR at `index` and where it decodes now, or undefined if there is none. */
  bar(index: number): BarInfo | undefined {
    const b = this.bars[index];
    return b === undefined ? undefined : { ...b };
  }

  /** The live 256 bytes of configuration space, for a copy (the native threads' image); never written through. */
  configBytes(): Uint8Array {
    return this.config;
  }

  /** Read `size` (1, 2 or 4) bytes at `offset`, little-endian. Bytes past 0xFF read as 0xFF. */
  readConfig(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const o = offset + i;
      v = v * 256 + (o < 256 ? this.config[o]! : 0xff);
    }
    return v;
  }

  /** Guest write of `size` bytes at `offset`: only writable bits change; write-1-to-clear bits clear. */
  writeConfig(offset: number, size: number, value: number): void {
    const oldValue = this.readConfig(offset, size);
    const oldCommand = this.config[PCI_COMMAND]!;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      if (o > 255) break;
      const b = (value >>> (8 * i)) & 0xff;
      const wm = this.writeMask[o]!;
      this.config[o] = ((this.config[o]! & ~wm) | (b & wm)) & ~(b & this.clearMask[o]!);
    }
    const end = offset + size;
    if (offset <= PCI_COMMAND && end > PCI_COMMAND) {
      const changed = (oldCommand ^ this.config[PCI_COMMAND]!) & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
      if (changed !== 0) this.onDecodeChange?.(this.ioDecode(), this.memoryDecode());
    }
    if ((offset <= PCI_COMMAND && end > PCI_COMMAND) || (offset < PCI_BASE_ADDRESS_0 + 4 * BAR_COUNT && end > PCI_BASE_ADDRESS_0)) {
      this.updateBars();
    }
    this.onConfigWrite(offset, size, oldValue);
  }

  /** Side effects of a guest config write, after the masks were applied. `oldValue` is what the range held before. */
  protected onConfigWrite(_offset: number, _size: number, _oldValue: number): void {}

  /**
   * Restore the power-on configuration; decoded BARs disappear (reported through onBarChange).
   * Subclasses with state outside config space override, call super, then restore theirs.
   */
  reset(): void {
    const oldCommand = this.config[PCI_COMMAND]!;
    this.config.set(this.powerOn);
    if ((oldCommand ^ this.config[PCI_COMMAND]!) & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY)) {
      this.onDecodeChange?.(this.ioDecode(), this.memoryDecode());
    }
    this.updateBars();
  }

  ioDecode(): boolean {
    return (this.config[PCI_COMMAND]! & PCI_COMMAND_IO) !== 0;
  }

  memoryDecode(): boolean {
    return (this.config[PCI_COMMAND]! & PCI_COMMAND_MEMORY) !== 0;
  }

  /** Little-endian dword of the current config space (no side effects). */
  protected dword(offset: number): number {
    return this.readConfig(offset, 4);
  }

  /** Report a decoded-BAR change; subclasses that map BARs themselves override and call super. */
  protected barChanged(change: BarChange): void {
    this.onBarChange?.(change);
  }

  private barOwning(index: number): boolean {
    const prev = index > 0 ? this.bars[index - 1] : undefined;
    return prev?.kind === 'mem64';
  }

  private decodeBar(bar: BarState): number | null {
    const offset = PCI_BASE_ADDRESS_0 + 4 * bar.index;
    const low = this.dword(offset);
    if (bar.kind === 'io') {
      if (!this.ioDecode()) return null;
      const base = (low & ~0x3) >>> 0;
      return base === 0 || base + bar.size > IO_SPACE_END ? null : base;
    }
    if (!this.memoryDecode()) return null;
    const lowBase = (low & ~0xf) >>> 0;
    if (bar.kind === 'mem32') {
      // QEMU's pci_bar_address: a 32-bit BAR reaching the last byte below 4 GiB is the sizing
      // pattern, not a placement.
      return lowBase === 0 || lowBase + bar.size >= FOUR_GIB ? null : lowBase;
    }
    const base = this.dword(offset + 4) * FOUR_GIB + lowBase;
    return base === 0 || base + bar.size > MEM64_LIMIT ? null : base;
  }

  private updateBars(): void {
    for (const bar of this.bars) {
      if (bar === undefined) continue;
      const newBase = this.decodeBar(bar);
      if (newBase === bar.base) continue;
      const oldBase = bar.base;
      bar.base = newBase;
      this.barChanged({ index: bar.index, kind: bar.kind, size: bar.size, oldBase, newBase });
    }
  }
}
