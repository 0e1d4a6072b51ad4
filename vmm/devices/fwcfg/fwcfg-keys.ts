// fw_cfg selector keys, I/O ports and DMA bits of QEMU's firmware configuration device.
// Source: QEMU 7.2 docs/specs/fw_cfg.txt, include/standard-headers/linux/qemu_fw_cfg.h,
// hw/nvram/fw_cfg.c and hw/i386/fw_cfg.c (x86 `pc`/`q35` port layout); checked against what
// SeaBIOS rel-1.16.2 src/fw/paravirt.c and edk2 OvmfPkg QemuFwCfgLib read.
// Subset: the keys x86 firmware and linuxboot_dma.bin touch, plus the x86 arch keys. Left out:
// other architectures' meanings of the 0x8000+ keys (sparc, ppc).

/** Base of the fw_cfg I/O window: 16-bit selector at 0x510, 8-bit data at 0x511. */
export const FWCFG_PORT_SELECTOR = 0x510;
export const FWCFG_PORT_DATA = 0x511;
/** DMA address register: high 32 bits at 0x514, low 32 bits (starts a transfer) at 0x518. */
export const FWCFG_PORT_DMA = 0x514;
export const FWCFG_PORT_DMA_LOW = 0x518;
export const FWCFG_DMA_SPAN = 8;
/**
 * Span registered on the PIO bus from FWCFG_PORT_SELECTOR: QEMU's ACPI FWCF device declares
 * ROUND_UP(2, 4) + 8 = 0x0C bytes at 0x510 (hw/i386/fw_cfg.c fw_cfg_add_acpi_dsdt).
 */
export const FWCFG_IO_SPAN = FWCFG_PORT_DMA - FWCFG_PORT_SELECTOR + FWCFG_DMA_SPAN;

/** Device-relative offsets inside the FWCFG_IO_SPAN window. */
export const FWCFG_OFF_SELECTOR = FWCFG_PORT_SELECTOR - FWCFG_PORT_SELECTOR; // 0
export const FWCFG_OFF_DATA = FWCFG_PORT_DATA - FWCFG_PORT_SELECTOR; // 1
export const FWCFG_OFF_DMA_HIGH = FWCFG_PORT_DMA - FWCFG_PORT_SELECTOR; // 4
export const FWCFG_OFF_DMA_LOW = FWCFG_PORT_DMA_LOW - FWCFG_PORT_SELECTOR; // 8

/** Well-known keys (legacy items are little-endian). */
export const FwCfgKey = {
  SIGNATURE: 0x00, // "QEMU"
  ID: 0x01, // u32 feature bits (FWCFG_ID_*)
  UUID: 0x02, // 16 bytes
  RAM_SIZE: 0x03, // u64 total guest RAM
  NOGRAPHIC: 0x04, // u16; 1 turns on SeaBIOS's serial console (sercon at 0x3F8)
  NB_CPUS: 0x05, // u16 boot vCPUs (SeaBIOS 1.16 and OVMF wait for this many APs)
  MACHINE_ID: 0x06,
  KERNEL_ADDR: 0x07, // u32
  KERNEL_SIZE: 0x08, // u32
  KERNEL_CMDLINE: 0x09, // legacy, unused by x86 firmware
  INITRD_ADDR: 0x0a, // u32
  INITRD_SIZE: 0x0b, // u32
  BOOT_DEVICE: 0x0c,
  NUMA: 0x0d, // u64 node count, then per-APIC-ID and per-node u64s
  BOOT_MENU: 0x0e, // u16; SeaBIOS "etc/show-boot-menu"
  MAX_CPUS: 0x0f, // u16; SeaBIOS "etc/max-cpus" (QEMU puts the APIC-ID limit here)
  KERNEL_ENTRY: 0x10,
  KERNEL_DATA: 0x11,
  INITRD_DATA: 0x12,
  CMDLINE_ADDR: 0x13, // u32
  CMDLINE_SIZE: 0x14, // u32, includes the NUL
  CMDLINE_DATA: 0x15,
  SETUP_ADDR: 0x16, // u32
  SETUP_SIZE: 0x17, // u32
  SETUP_DATA: 0x18,
  FILE_DIR: 0x19, // be32 count, then FWCFG_FILE_ENTRY_SIZE-byte entries
  /** First key handed to named files, in directory order. */
  FILE_FIRST: 0x20,
} as const;

/**
 * Bit 15 selects the architecture-specific key space: 0x8000|n is a different item from n.
 * x86 uses the ones below; SeaBIOS reads ACPI_TABLES/SMBIOS_ENTRIES counts (zero when absent),
 * IRQ0_OVERRIDE as "etc/irq0-override" (MP table and its fallback MADT route IRQ0 to GSI 2
 * when non-zero) and E820_TABLE only when the `etc/e820` file is missing.
 */
export const FWCFG_ARCH_LOCAL = 0x8000;
export const FwCfgArchKey = {
  ACPI_TABLES: FWCFG_ARCH_LOCAL + 0,
  SMBIOS_ENTRIES: FWCFG_ARCH_LOCAL + 1,
  IRQ0_OVERRIDE: FWCFG_ARCH_LOCAL + 2,
  E820_TABLE: FWCFG_ARCH_LOCAL + 3,
  HPET: FWCFG_ARCH_LOCAL + 4,
} as const;

/** Bit 14 of a selector write: the old write channel, masked off like QEMU (writes go by DMA). */
export const FWCFG_WRITE_CHANNEL = 0x4000;
/** The index part of a key (QEMU FW_CFG_ENTRY_MASK). */
export const FWCFG_ENTRY_MASK = 0x3fff;
/** Highest key a named file may get: the index part must fit FWCFG_ENTRY_MASK. */
export const FWCFG_MAX_FILES = FWCFG_ENTRY_MASK - FwCfgKey.FILE_FIRST + 1;

/** FILE_DIR entry: be32 size, be16 select, u16 reserved, char name[56] (NUL-terminated). */
export const FWCFG_FILE_ENTRY_SIZE = 64;
export const FWCFG_FILE_NAME_SIZE = 56;

/** Feature bits in the ID item. */
export const FWCFG_ID_TRADITIONAL = 1;
export const FWCFG_ID_DMA = 2;

/** DMA descriptor `{be32 control, be32 length, be64 address}` and its control bits. */
export const FWCFG_DMA_DESCRIPTOR_SIZE = 16;
export const FWCFG_DMA_CTL_ERROR = 0x01;
export const FWCFG_DMA_CTL_READ = 0x02;
export const FWCFG_DMA_CTL_SKIP = 0x04;
export const FWCFG_DMA_CTL_SELECT = 0x08;
export const FWCFG_DMA_CTL_WRITE = 0x10;

/** What the signature item holds. */
export const FWCFG_SIGNATURE = 'QEMU';
/** What reads of the DMA register return, byte by byte from 0x514: "QEMU CFG" (0x51454d5520434647 big-endian). */
export const FWCFG_DMA_SIGNATURE = 'QEMU CFG';
