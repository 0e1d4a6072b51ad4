// A PCI function's MSI capability (PCI Local Bus Specification 3.0 §6.8.1): the 64-bit-address
// layout without per-vector masking, as QEMU 7.2 hw/pci/msi.c msi_init builds it. Registers, at
// the capability's offset: +0 ID 05h, +1 next pointer (0: the end of the list), +2 message
// control (bit 0 enable; Multiple Message Enable 6:4 writable but one message is used whatever
// it says; bit 7 64-bit capable, read-only), +4 address low (bits 1:0 read as 0), +8 address
// high, +12 data (16 bits).
// Left out: multiple messages, per-vector masking, the 32-bit-address layout, MSI-X.

export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_STATUS_CAP_LIST = 0x0010;
export const PCI_CAP_ID_MSI = 0x05;

const FLAGS = 2;
const ADDRESS_LO = 4;
const ADDRESS_HI = 8;
const DATA = 12;
/** ID, next, flags, address low/high, data. */
const LENGTH = DATA + 2;
const FLAGS_ENABLE = 0x0001;
const FLAGS_QSIZE = 0x0070;
const FLAGS_64BIT = 0x0080;

/** How the capability declares its registers in the function's config space (PciFunction.define). */
export type DefineRegister = (offset: number, size: number, value: number, writable?: number) => void;

export interface MsiMessage {
  addressLo: number;
  addressHi: number;
  data: number;
}

export class MsiCapability {
  /**
   * Declare the capability at `offset` of `config` (the function's config bytes, read live). The
   * function still points its capability list here and sets PCI_STATUS_CAP_LIST.
   */
  constructor(
    readonly offset: number,
    private readonly config: Uint8Array,
    define: DefineRegister,
  ) {
    define(offset, 1, PCI_CAP_ID_MSI);
    define(offset + 1, 1, 0);
    define(offset + FLAGS, 2, FLAGS_64BIT, FLAGS_ENABLE | FLAGS_QSIZE);
    define(offset + ADDRESS_LO, 4, 0, 0xffff_fffc);
    define(offset + ADDRESS_HI, 4, 0, 0xffff_ffff);
    define(offset + DATA, 2, 0, 0xffff);
  }

  /** Message control bit 0: the function sends MSIs and must not assert INTx (PCI 3.0 §6.8.1.3). */
  enabled(): boolean {
    return (this.config[this.offset + FLAGS]! & FLAGS_ENABLE) !== 0;
  }

  /** The message programmed now. */
  message(): MsiMessage {
    return { addressLo: this.u32(ADDRESS_LO), addressHi: this.u32(ADDRESS_HI), data: this.u16(DATA) };
  }

  /** Whether a config write of `size` bytes at `offset` touched the capability. */
  touches(offset: number, size: number): boolean {
    return offset < this.offset + LENGTH && offset + size > this.offset;
  }

  private u32(at: number): number {
    const c = this.config;
    const o = this.offset + at;
    return (c[o]! | (c[o + 1]! << 8) | (c[o + 2]! << 16) | (c[o + 3]! << 24)) >>> 0;
  }

  private u16(at: number): number {
    const o = this.offset + at;
    return this.config[o]! | (this.config[o + 1]! << 8);
  }
}
