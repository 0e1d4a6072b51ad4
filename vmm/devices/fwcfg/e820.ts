// The `etc/e820` fw_cfg file: the guest-physical memory map QEMU hands to firmware.
// Follows QEMU 7.2 hw/i386/e820_memory_layout.c (every e820_add_entry call lands in the file, in
// call order), hw/i386/pc.c pc_memory_init and target/i386/kvm/kvm.c kvm_arch_init; consumed by
// SeaBIOS rel-1.16.2 src/fw/paravirt.c qemu_early_e820 (RAM and RESERVED only, any order) and
// OVMF PlatformInitLib (RAM entries size the memory, reserved ones are honoured).
// Format: packed 20-byte entries {u64 addr LE, u64 len LE, u32 type LE}, no count header.
//
// Entry order is QEMU's under KVM: kvm_arch_init() reserves the identity map and TSS while the
// accelerator is set up, before the board adds RAM, so the reserved entry comes first. The QEMU
// 7.2 trace in docs/qemu-7.2-reference.md was taken under TCG, hence it lacks that entry.
//
// Left out: QEMU 7.2's reserved entry at 0xFD_0000_0000 (12 GiB, up to 1 TiB; trace line
// "E820 000000fd00000000 0000000300000000 2"). pc_memory_init adds it only for a vCPU with the AMD
// vendor and phys-bits >= 40 (the trace's TCG qemu64 model says AuthenticAMD): it advertises the
// HyperTransport hole below 1 TiB that AMD IOMMUs reserve, so RAM is never placed there. Our RAM
// stops far below it (layout.ts MAX_RAM_SIZE), we present the host's CPUID so the entry would
// depend on the host vendor, and no firmware needs it to boot. Also left out: SGX EPC, CXL and
// the legacy FW_CFG_E820_TABLE key (SeaBIOS reads it only when `etc/e820` is missing).

import { configError } from '../../errors.js';
import { FOUR_GIB, KVM_IDENTITY_MAP_ADDR, KVM_RESERVED_SIZE, PC_LOW_RAM_MAX } from '../../layout.js';

export const E820_RAM = 1;
export const E820_RESERVED = 2;
/** Bytes per entry in `etc/e820`. */
export const E820_ENTRY_SIZE = 20;

export interface E820Entry {
  /** Guest-physical start. */
  addr: number;
  /** Length in bytes. */
  len: number;
  /** E820_RAM, E820_RESERVED or another ACPI address-range type. */
  type: number;
}

/** Serialise entries into the `etc/e820` layout, in the order given. */
export function buildE820(entries: readonly E820Entry[]): Uint8Array {
  const bytes = new Uint8Array(entries.length * E820_ENTRY_SIZE);
  const view = new DataView(bytes.buffer);
  entries.forEach((e, i) => {
    if (!Number.isSafeInteger(e.addr) || e.addr < 0) throw configError(`e820[${i}].addr`, e.addr, 'a non-negative integer');
    if (!Number.isSafeInteger(e.len) || e.len <= 0) throw configError(`e820[${i}].len`, e.len, 'a positive integer');
    if (!Number.isInteger(e.type) || e.type < 1 || e.type > 0xffff_ffff) {
      throw configError(`e820[${i}].type`, e.type, 'an integer 1-0xffffffff');
    }
    const base = i * E820_ENTRY_SIZE;
    view.setBigUint64(base, BigInt(e.addr), true);
    view.setBigUint64(base + 8, BigInt(e.len), true);
    view.setUint32(base + 16, e.type, true);
  });
  return bytes;
}

/** Read `etc/e820` bytes back (for tests and suites that check what the guest was given). */
export function parseE820(bytes: Uint8Array): E820Entry[] {
  if (bytes.length % E820_ENTRY_SIZE !== 0) {
    throw configError('etc/e820 length', bytes.length, `a multiple of ${E820_ENTRY_SIZE}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const entries: E820Entry[] = [];
  for (let base = 0; base < bytes.length; base += E820_ENTRY_SIZE) {
    entries.push({
      addr: Number(view.getBigUint64(base, true)),
      len: Number(view.getBigUint64(base + 8, true)),
      type: view.getUint32(base + 16, true),
    });
  }
  return entries;
}

export interface PcRamSplit {
  /** RAM mapped from 0 (at most layout.ts PC_LOW_RAM_MAX). */
  ramBelow4G: number;
  /** RAM mapped from 4 GiB (0 for none). */
  ramAbove4G: number;
}

/**
 * The map QEMU's `pc` machine exposes under KVM: the KVM identity-map/TSS reservation, low RAM
 * from 0 as one entry (the VGA hole and BIOS areas are firmware's business: SeaBIOS carves them
 * out itself), then high RAM from 4 GiB if any.
 */
export function pcE820({ ramBelow4G, ramAbove4G }: PcRamSplit): E820Entry[] {
  if (!Number.isSafeInteger(ramBelow4G) || ramBelow4G <= 0 || ramBelow4G > PC_LOW_RAM_MAX) {
    throw configError('ramBelow4G', ramBelow4G, `an integer 1-0x${PC_LOW_RAM_MAX.toString(16)}`);
  }
  if (!Number.isSafeInteger(ramAbove4G) || ramAbove4G < 0) {
    throw configError('ramAbove4G', ramAbove4G, 'a non-negative integer');
  }
  const entries: E820Entry[] = [
    { addr: KVM_IDENTITY_MAP_ADDR, len: KVM_RESERVED_SIZE, type: E820_RESERVED },
    { addr: 0, len: ramBelow4G, type: E820_RAM },
  ];
  if (ramAbove4G > 0) entries.push({ addr: FOUR_GIB, len: ramAbove4G, type: E820_RAM });
  return entries;
}
