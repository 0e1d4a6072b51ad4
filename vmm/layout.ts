// Guest-physical layout of bootgate's `pc` (i440fx/PIIX) machine: every guest-physical address and
// size the VMM places, the KVM memory-slot numbers behind them and the bus-0 PCI slots, each with
// the firmware or OS expectation that fixes it (docs/style.md). Where a placement is computed from
// inputs (RAM split, firmware and flash bases, initrd, PCI windows) the function sits beside the
// constants it uses. Values follow docs/platform.md and QEMU 7.2's pc machine where firmware looks.
// docs/memory-layout.md is this file rendered as tables by layout-table.ts; a unit test keeps it
// current, so every export needs its own doc comment and each `// ---` line starts a section.
//
// Not here, on purpose: I/O ports (the ISA devices, fw_cfg's selector 0x510 and DMA address
// registers 0x514/0x518, PCI config 0xCF8/0xCFC, the PM block) are port space, not memory; each is
// a named constant where its device is registered. Boundaries that belong to a register format
// rather than to placement (CMOS counts RAM above 1 MiB and above 16 MiB; the RSDP search area of
// the ACPI spec) stay with the code that encodes the format, and test helpers that replay firmware
// (pci-firmware-sim.ts, test-loader.ts) keep the firmware's own choices.

import { BootgateError } from './errors.js';

// --- Units and granularity ---

/** 2^10 bytes. */
export const KiB = 1024;
/** 2^20 bytes. */
export const MiB = 1024 * KiB;
/** 2^30 bytes. */
export const GiB = 1024 * MiB;
/** Top of the 32-bit address space: the reset vector, the firmware and the flash end here. */
export const FOUR_GIB = 0x1_0000_0000;
/** KVM maps memory slots in whole pages: every slot base and size is a multiple of this. */
export const PAGE_SIZE = 4 * KiB;

// --- Reset ---

/** Architectural reset vector, CS base + IP (SDM vol. 3 table 9-1): the firmware's last 16 bytes. */
export const RESET_VECTOR = 0xffff_fff0;
/** CS selector a vCPU holds after reset (SDM vol. 3 table 9-1); its base is not selector << 4. */
export const RESET_CS_SELECTOR = 0xf000;
/** CS base after reset: real mode fetches from the top of 4 GiB until the first far jump. */
export const RESET_CS_BASE = 0xffff_0000;
/** IP after reset. */
export const RESET_IP = 0xfff0;
/** The CS base OpenBSD vmd starts its BSP with (F000:FFF0 fetches from the low copy): quirk vmd-low-bios-only. */
export const VMD_RESET_CS_BASE = 0x000f_0000;

// --- Below 1 MiB ---

/** Legacy VGA window: not RAM and left unmapped (no VGA device); the DSDT still declares it for PCI0. */
export const VGA_WINDOW_BASE = 0x000a_0000;
/** Size of the VGA window (0xA0000-0xBFFFF). */
export const VGA_WINDOW_SIZE = 128 * KiB;
/** Start of the PAM-controlled area (expansion ROMs, then the BIOS): i440fx PAM1-PAM6 cover it. */
export const PAM_AREA_BASE = 0x000c_0000;
/** End of the PAM area and of the real-mode address space (1 MiB); RAM continues above it. */
export const PAM_AREA_END = 0x0010_0000;
/** PAM1-PAM6 switch the expansion-ROM area in granules of this size (82441FX datasheet). */
export const PAM_GRANULE_SIZE = 16 * KiB;
/** The BIOS segment PAM0 switches as one 64 KiB unit; SeaBIOS's F-segment data lives here. */
export const BIOS_SEGMENT_BASE = 0x000f_0000;
/** Size of the BIOS segment (0xF0000-0xFFFFF). */
export const BIOS_SEGMENT_SIZE = 64 * KiB;
/** PAM granules: twelve of PAM_GRANULE_SIZE from PAM_AREA_BASE, then the BIOS segment. */
export const PAM_GRANULE_COUNT = (BIOS_SEGMENT_BASE - PAM_AREA_BASE) / PAM_GRANULE_SIZE + 1;
/** Where the firmware's last 128 KiB are aliased, as QEMU's isa-bios: SeaBIOS runs from here after reset. */
export const BIOS_LOW_BASE = 0x000e_0000;
/** Size of that alias (a smaller image is aliased whole, ending at 1 MiB). */
export const BIOS_LOW_SIZE = 128 * KiB;

// --- Direct Linux boot (QEMU 7.2 x86_load_linux; linuxboot_dma.bin copies the pieces here) ---

/** Real-mode setup of the bzImage: the boot protocol's 0x10000 for a relocatable loader, below the command line. */
export const LINUX_SETUP_ADDR = 0x1_0000;
/** Kernel command line, right above the setup and its heap (the header's heap_end_ptr reaches up to here). */
export const LINUX_CMDLINE_ADDR = 0x2_0000;
/** Protected-mode kernel: 1 MiB, the boot protocol's code32_start for a bzImage. */
export const LINUX_KERNEL_ADDR = 0x10_0000;
/** Room QEMU's pc keeps free at the top of low RAM for the ACPI tables the firmware allocates there. */
export const LINUX_ACPI_DATA_ROOM = 0x2_0000 + 0x8000;

/**
 * Highest address an initrd may reach: the kernel's limit (setup header initrd_addr_max) or the end
 * of low RAM minus LINUX_ACPI_DATA_ROOM, whichever is lower (QEMU 7.2 x86_load_linux initrd_max).
 */
export function linuxInitrdMax(ramBelow4G: number, initrdAddrMax: number): number {
  return Math.min(initrdAddrMax, ramBelow4G - LINUX_ACPI_DATA_ROOM - 1);
}

/** Where the initrd goes: page-aligned, as high as it fits below `initrdMax` (QEMU 7.2 x86_load_linux). */
export function linuxInitrdAddr(initrdMax: number, initrdSize: number): number {
  return Math.floor((initrdMax - initrdSize) / PAGE_SIZE) * PAGE_SIZE;
}

// --- RAM ---

/** Smallest guest RAM the machine accepts: SeaBIOS relocates itself near the top of RAM. */
export const MIN_RAM_SIZE = 16 * MiB;
/** Largest guest RAM this build accepts; far below the AMD HyperTransport hole QEMU reserves at 1 TiB. */
export const MAX_RAM_SIZE = 256 * GiB;
/** End of low RAM on `pc`: RAM above this is placed above 4 GiB (QEMU uses 0xe000_0000 too). */
export const PC_LOW_RAM_MAX = 0xe000_0000;
/** When RAM reaches PC_LOW_RAM_MAX, QEMU's pc (gigabyte_align) keeps only 3 GiB below 4 GiB. */
export const PC_LOW_RAM_ALIGNED = 0xc000_0000;

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

// --- PCI MMIO windows ---

/** SeaBIOS places 32-bit PCI BARs up to here (pciinit.c), and QEMU's i440fx window ends here: the IOAPIC follows. */
export const PCI_32BIT_WINDOW_END = 0xfec0_0000;
/** The 64-bit window starts on this alignment above high RAM (SeaBIOS's placement, OVMF's classic aperture). */
export const PCI_64BIT_WINDOW_ALIGN = 1 * GiB;

/** The 32-bit MMIO window the DSDT declares for PCI0. */
export interface PciWindow32 {
  /** First address of the window (above low RAM). */
  base: number;
  /** Last address, inclusive (PCI_32BIT_WINDOW_END - 1 on `pc`). */
  end: number;
}

/** The 64-bit MMIO window the DSDT declares for PCI0. */
export interface PciWindow64 {
  base: number;
  /** Bytes; 0 leaves the window out. */
  size: number;
}

/** The 32-bit window as QEMU's i440fx declares it: from the end of low RAM to just below the IOAPIC. */
export function pcPci32Window(ramBelow4G: number): PciWindow32 {
  return { base: ramBelow4G, end: PCI_32BIT_WINDOW_END - 1 };
}

/**
 * A 64-bit window that covers wherever either firmware puts 64-bit BARs (QEMU instead sizes it
 * from the BARs assigned when the tables are first read; our machine does not collect those):
 * from above high RAM, PCI_64BIT_WINDOW_ALIGN aligned, to the top of the guest-physical address
 * space (where OVMF's dynamic aperture ends). Linux drops a window beyond the CPU's physical
 * address bits, so pass the guest's CPUID 0x80000008 value.
 */
export function pcPci64Window(ramAbove4G: number, physBits: number): PciWindow64 {
  if (!Number.isInteger(physBits) || physBits < 32 || physBits > 52) throw new TypeError(`physBits ${physBits}: expected 32-52`);
  if (!Number.isSafeInteger(ramAbove4G) || ramAbove4G < 0) throw new TypeError(`ramAbove4G ${ramAbove4G}: expected a byte count`);
  const base = Math.ceil((FOUR_GIB + ramAbove4G) / PCI_64BIT_WINDOW_ALIGN) * PCI_64BIT_WINDOW_ALIGN;
  return { base, size: Math.max(0, 2 ** physBits - base) };
}

// --- Interrupt controllers and KVM's private pages, below 4 GiB ---

/** IOAPIC MMIO (KVM's in-kernel model): the MADT and the MP table say it is here, as on every PC. */
export const IOAPIC_BASE = 0xfec0_0000;
/** Where QEMU's HPET would be. Left unmapped: the machine has no HPET and no ACPI HPET table, so Linux uses the PIT. */
export const HPET_BASE = 0xfed0_0000;
/** MSI address window (SDM vol. 3 §11.11.1): a device's MSI write to 0xFEEx_xxxx carries the destination APIC ID in bits 19:12. */
export const MSI_ADDRESS_BASE = 0xfee0_0000;
/** Local APIC MMIO (KVM's in-kernel model): the architectural default of IA32_APIC_BASE, which the MADT repeats. */
export const LAPIC_BASE = 0xfee0_0000;
/** KVM's identity-map page (KVM_SET_IDENTITY_MAP_ADDR), QEMU's choice; reserved in e820 (docs/platform.md). */
export const KVM_IDENTITY_MAP_ADDR = 0xfeff_c000;
/** KVM's TSS (KVM_SET_TSS_ADDR, 3 pages) right after the identity-map page, as QEMU puts it. */
export const KVM_TSS_ADDR = KVM_IDENTITY_MAP_ADDR + 0x1000;
/** The e820 reservation covering the identity-map page and the TSS (QEMU's kvm_arch_init). */
export const KVM_RESERVED_SIZE = 16 * KiB;

// --- Firmware and flash, ending at 4 GiB ---

/** Largest firmware image a `pc` machine accepts (SeaBIOS 128/256 KiB, OVMF 2/4 MiB fit with room). */
export const MAX_FIRMWARE_SIZE = 16 * MiB;
/** QEMU's pc refuses more system flash than this (FLASH_SIZE_LIMIT in hw/i386/pc_sysfw.c). */
export const PC_FLASH_SIZE_LIMIT = 8 * MiB;
/** OVMF 4M build, VARS 0xffc0_0000-0xffc8_3fff (OVMF_VARS_4M.fd, 540,672 bytes): OVMF's PcdOvmfFdBaseAddress. */
export const OVMF_4M_VARS_BASE = 0xffc0_0000;
/** OVMF 4M build, VARS size. */
export const OVMF_4M_VARS_SIZE = 0x8_4000;
/** OVMF 4M build, CODE size (OVMF_CODE_4M.fd, 3,653,632 bytes). */
export const OVMF_4M_CODE_SIZE = 0x37_c000;
/** OVMF 4M build, CODE from 0xffc8_4000 to 4 GiB: the reset vector is its last 16 bytes. */
export const OVMF_4M_CODE_BASE = FOUR_GIB - OVMF_4M_CODE_SIZE;
/** OVMF 2M build, VARS 0xffe0_0000-0xffe1_ffff (OVMF_VARS.fd, 131,072 bytes). */
export const OVMF_2M_VARS_BASE = 0xffe0_0000;
/** OVMF 2M build, VARS size. */
export const OVMF_2M_VARS_SIZE = 0x2_0000;
/** OVMF 2M build, CODE size (OVMF_CODE.fd, 1,966,080 bytes). */
export const OVMF_2M_CODE_SIZE = 0x1e_0000;
/** OVMF 2M build, CODE from 0xffe2_0000 to 4 GiB. */
export const OVMF_2M_CODE_BASE = FOUR_GIB - OVMF_2M_CODE_SIZE;

/** Where the high firmware copy starts for an image of `size` bytes: it ends at 4 GiB, over the reset vector. */
export function highFirmwareBase(size: number): number {
  return FOUR_GIB - size;
}

/** Where OVMF's two flash images sit. */
export interface OvmfFlashLayout {
  codeBase: number;
  codeSize: number;
  varsBase: number;
  varsSize: number;
}

/**
 * OVMF's pflash as QEMU's pc_system_flash_map places `-drive if=pflash` units: unit 0 (CODE) ends
 * at 4 GiB, unit 1 (VARS) directly below it. OVMF's PcdOvmfFdBaseAddress is the VARS base, so an
 * image of another size than its build expects does not boot (the OVMF_4M_ and OVMF_2M_ constants
 * are the two builds of Debian's ovmf 2022.11-6+deb12u2). Throws if the images cannot be flash:
 * each must fill whole pages (memory slots; the CFI01 erase block is a page too) and both together
 * must stay under PC_FLASH_SIZE_LIMIT.
 */
export function ovmfFlashLayout(codeSize: number, varsSize: number): OvmfFlashLayout {
  for (const [what, size] of [
    ['CODE', codeSize],
    ['VARS', varsSize],
  ] as const) {
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
      throw new BootgateError('E_CONFIG', `OVMF ${what} image is ${size} bytes; expected a non-zero multiple of 4 KiB`, {
        hint: 'pass a flat OVMF_CODE/OVMF_VARS image',
      });
    }
  }
  if (codeSize + varsSize > PC_FLASH_SIZE_LIMIT) {
    throw new BootgateError('E_CONFIG', `OVMF CODE + VARS are ${codeSize + varsSize} bytes; at most ${PC_FLASH_SIZE_LIMIT} fit`, {
      hint: 'pass a 2M or 4M OVMF build',
    });
  }
  const codeBase = FOUR_GIB - codeSize;
  return { codeBase, codeSize, varsBase: codeBase - varsSize, varsSize };
}

// --- KVM memory slots (machine/memory-map.ts maps them; a rebuilt VM gets the same numbers back) ---

/** RAM from 0 up to the VGA window (conventional memory). */
export const SLOT_RAM_LOW = 0;
/** RAM from 1 MiB to the end of low RAM. */
export const SLOT_RAM_MID = 1;
/** RAM from 4 GiB. */
export const SLOT_RAM_HIGH = 2;
/** The firmware's read-only high copy ending at 4 GiB (SeaBIOS; OVMF uses the flash slots). */
export const SLOT_FIRMWARE_HIGH = 3;
/** First of PAM_GRANULE_COUNT slots, one per PAM granule, so each granule remaps on its own. */
export const SLOT_PAM_FIRST = 4;
/** OVMF's VARS flash, one ROMD slot after the PAM granules. */
export const SLOT_FLASH_VARS = SLOT_PAM_FIRST + PAM_GRANULE_COUNT;
/** OVMF's CODE flash, one ROMD slot. */
export const SLOT_FLASH_CODE = SLOT_FLASH_VARS + 1;

// --- PCI bus 0 slots ---

/** The i440FX host bridge at 00:00.0, where SeaBIOS and OVMF identify the `pc` machine. */
export const PCI_HOST_BRIDGE_SLOT = 0;
/** PIIX3 (00:01.0 ISA bridge) and PIIX4 PM (00:01.3, its SCI on INTA#), as QEMU's pc places them. */
export const PIIX_SLOT = 1;
/** Test devices go at 00:02.0 onwards, one slot each, after the chipset; QEMU's command line in the suites matches. */
export const FIRST_TEST_DEVICE_SLOT = 2;
/** The interrupt test device, past the test devices: INTA# of slot 31 is PIRQC (SeaBIOS routes it to IRQ 11). */
export const IRQ_TEST_SLOT = 0x1f;
