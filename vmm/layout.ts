// Guest-physical layout of bootgate's `pc` (i440fx/PIIX) machine.
// Every guest-physical address and size lives here (docs/style.md); ports are named where their
// device is registered. Values follow docs/platform.md and QEMU 7.2's pc machine where firmware looks.

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Top of the 32-bit address space: the reset vector and the high firmware copy end here. */
export const FOUR_GIB = 0x1_0000_0000;

/** Architectural reset vector: CS base 0xffff_0000 + IP 0xfff0. */
export const RESET_VECTOR = 0xffff_fff0;
/** CS selector / base / IP a vCPU holds after reset (SDM vol. 3 table 9-1). */
export const RESET_CS_SELECTOR = 0xf000;
export const RESET_CS_BASE = 0xffff_0000;
export const RESET_IP = 0xfff0;
/** The CS base OpenBSD vmd starts its BSP with (F000:FFF0 fetches from the low copy): quirk vmd-low-bios-only. */
export const VMD_RESET_CS_BASE = 0x000f_0000;

/** Legacy BIOS area that aliases the last 128 KiB of the firmware image. */
export const BIOS_LOW_BASE = 0x000e_0000;
export const BIOS_LOW_SIZE = 128 * KiB;
/** Expansion-ROM area: PAM-controlled like the BIOS area. */
export const PAM_AREA_BASE = 0x000c_0000;
export const PAM_AREA_END = 0x0010_0000;

/** Legacy VGA window: not RAM, left unmapped (no VGA device). */
export const VGA_WINDOW_BASE = 0x000a_0000;
export const VGA_WINDOW_SIZE = 128 * KiB;

/** End of low RAM on `pc`: RAM above this is placed above 4 GiB (QEMU uses 0xe000_0000 too). */
export const PC_LOW_RAM_MAX = 0xe000_0000;
/** When RAM reaches PC_LOW_RAM_MAX, QEMU's pc (gigabyte_align) keeps only 3 GiB below 4 GiB. */
export const PC_LOW_RAM_ALIGNED = 0xc000_0000;

/** KVM's identity-map page and TSS (3 pages): reserved in e820 (docs/platform.md). */
export const KVM_IDENTITY_MAP_ADDR = 0xfeff_c000;
export const KVM_TSS_ADDR = KVM_IDENTITY_MAP_ADDR + 0x1000;
export const KVM_RESERVED_SIZE = 16 * KiB;

/** IOAPIC and local APIC MMIO (served by KVM's in-kernel irqchip). */
export const IOAPIC_BASE = 0xfec0_0000;
export const LAPIC_BASE = 0xfee0_0000;

/** SeaBIOS places 32-bit PCI BARs up to here (pciinit.c). */
export const PCI_32BIT_WINDOW_END = 0xfec0_0000;

/** Smallest guest RAM the machine accepts: SeaBIOS relocates itself near the top of RAM. */
export const MIN_RAM_SIZE = 16 * MiB;
/** Largest guest RAM this build accepts. */
export const MAX_RAM_SIZE = 256 * GiB;

/** Firmware image sizes a `pc` machine accepts (SeaBIOS 128 KiB and 256 KiB builds, OVMF 2/4 MiB). */
export const MAX_FIRMWARE_SIZE = 16 * MiB;

/** Page size used for memory-slot alignment. */
export const PAGE_SIZE = 4 * KiB;

/** Where the high firmware copy starts for an image of `size` bytes. */
export function highFirmwareBase(size: number): number {
  return FOUR_GIB - size;
}

/**
 * Split guest RAM the way QEMU's pc machine does (pc_init1): all of it below 4 GiB while it is
 * smaller than 3.5 GiB, else 3 GiB below and the rest from 4 GiB. `maxBelow4G` lowers the low
 * part (QEMU's max-ram-below-4g), which moves the start of the 32-bit PCI window.
 */
export function splitRam(ramSize: number, maxBelow4G = PC_LOW_RAM_MAX): { low: number; high: number } {
  let low = ramSize >= PC_LOW_RAM_MAX ? PC_LOW_RAM_ALIGNED : ramSize;
  low = Math.min(low, maxBelow4G);
  return { low, high: ramSize - low };
}
