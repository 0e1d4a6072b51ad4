import { describe, expect, it } from 'vitest';
import { loadLock } from '../fixtures/fixtures.js';
import { CFI01_DEFAULT_BLOCK_SIZE } from './devices/flash/cfi01.js';
import {
  BIOS_LOW_BASE,
  BIOS_LOW_SIZE,
  BIOS_SEGMENT_BASE,
  BIOS_SEGMENT_SIZE,
  FOUR_GIB,
  highFirmwareBase,
  IOAPIC_BASE,
  IRQ_TEST_SLOT,
  KVM_IDENTITY_MAP_ADDR,
  KVM_RESERVED_SIZE,
  KVM_TSS_ADDR,
  LAPIC_BASE,
  LINUX_ACPI_DATA_ROOM,
  LINUX_CMDLINE_ADDR,
  LINUX_KERNEL_ADDR,
  LINUX_SETUP_ADDR,
  MAX_FIRMWARE_SIZE,
  linuxInitrdAddr,
  linuxInitrdMax,
  MSI_ADDRESS_BASE,
  OVMF_2M_CODE_BASE,
  OVMF_2M_CODE_SIZE,
  OVMF_2M_VARS_BASE,
  OVMF_2M_VARS_SIZE,
  OVMF_4M_CODE_BASE,
  OVMF_4M_CODE_SIZE,
  OVMF_4M_VARS_BASE,
  OVMF_4M_VARS_SIZE,
  ovmfFlashLayout,
  PAGE_SIZE,
  PAM_AREA_BASE,
  PAM_AREA_END,
  PAM_GRANULE_COUNT,
  PAM_GRANULE_SIZE,
  PC_LOW_RAM_MAX,
  PCI_32BIT_WINDOW_END,
  pcPci32Window,
  pcPci64Window,
  RESET_CS_BASE,
  RESET_IP,
  RESET_VECTOR,
  SLOT_FLASH_CODE,
  SLOT_FLASH_VARS,
  SLOT_PAM_FIRST,
  splitRam,
  VGA_WINDOW_BASE,
  VGA_WINDOW_SIZE,
} from './layout.js';

const MiB = 1024 * 1024;

describe('layout', () => {
  it('the reset vector is CS base + IP, 16 bytes below 4 GiB', () => {
    expect(RESET_CS_BASE + RESET_IP).toBe(RESET_VECTOR);
    expect(FOUR_GIB - RESET_VECTOR).toBe(16);
  });
  it('places a firmware image so that it ends at 4 GiB', () => {
    expect(highFirmwareBase(256 * 1024)).toBe(0xfffc_0000);
  });
  it('splits RAM like QEMU pc: all low below 3.5 GiB, else 3 GiB low and the rest above 4 GiB', () => {
    expect(splitRam(512 * MiB)).toEqual({ low: 512 * MiB, high: 0 });
    expect(splitRam(PC_LOW_RAM_MAX - MiB)).toEqual({ low: PC_LOW_RAM_MAX - MiB, high: 0 });
    const big = 8 * 1024 * MiB;
    expect(splitRam(big)).toEqual({ low: 3 * 1024 * MiB, high: big - 3 * 1024 * MiB });
  });
  it('honours a lower maximum below 4 GiB (moves the 32-bit PCI window)', () => {
    expect(splitRam(3 * 1024 * MiB, 2 * 1024 * MiB)).toEqual({ low: 2 * 1024 * MiB, high: 1024 * MiB });
  });
});

describe('below 1 MiB', () => {
  it('VGA window, then 12 granules of 16 KiB and the 64 KiB BIOS segment up to 1 MiB', () => {
    expect(VGA_WINDOW_BASE + VGA_WINDOW_SIZE).toBe(PAM_AREA_BASE);
    expect(PAM_AREA_BASE + (PAM_GRANULE_COUNT - 1) * PAM_GRANULE_SIZE).toBe(BIOS_SEGMENT_BASE);
    expect(BIOS_SEGMENT_BASE + BIOS_SEGMENT_SIZE).toBe(PAM_AREA_END);
    expect(PAM_GRANULE_COUNT).toBe(13);
    expect(BIOS_LOW_BASE + BIOS_LOW_SIZE).toBe(PAM_AREA_END);
  });
  it('Linux setup, command line and kernel do not overlap the firmware areas', () => {
    expect(LINUX_SETUP_ADDR).toBeLessThan(LINUX_CMDLINE_ADDR);
    expect(LINUX_CMDLINE_ADDR).toBeLessThan(VGA_WINDOW_BASE);
    expect(LINUX_KERNEL_ADDR).toBe(PAM_AREA_END);
  });
});

describe('Linux initrd placement', () => {
  it('the kernel limit or low RAM minus the ACPI room, whichever is lower', () => {
    expect(LINUX_ACPI_DATA_ROOM).toBe(0x28000);
    expect(linuxInitrdMax(512 * MiB, 0x7fff_ffff)).toBe(512 * MiB - 0x28000 - 1);
    expect(linuxInitrdMax(2 ** 31, 0x37ff_ffff)).toBe(0x37ff_ffff);
  });
  it('page-aligned, as high as it fits', () => {
    expect(linuxInitrdAddr(0x37ff_ffff, 4096)).toBe(0x37ff_e000);
    expect(linuxInitrdAddr(0x37ff_ffff, 1) % PAGE_SIZE).toBe(0);
  });
});

describe('top of the 32-bit space', () => {
  it("the 32-bit PCI window ends at the IOAPIC, MSIs target the LAPIC window, KVM's pages end where the largest firmware may start", () => {
    expect(PCI_32BIT_WINDOW_END).toBe(IOAPIC_BASE);
    expect(MSI_ADDRESS_BASE).toBe(LAPIC_BASE);
    expect(KVM_TSS_ADDR - KVM_IDENTITY_MAP_ADDR).toBe(PAGE_SIZE);
    expect(KVM_IDENTITY_MAP_ADDR + KVM_RESERVED_SIZE).toBe(highFirmwareBase(MAX_FIRMWARE_SIZE));
  });
});

describe('PCI windows', () => {
  it('32-bit: from the end of low RAM to 0xFEBFFFFF, as QEMU i440fx', () => {
    expect(pcPci32Window(0x2000_0000)).toEqual({ base: 0x2000_0000, end: 0xfebf_ffff });
  });
  it('64-bit: from high RAM rounded up to 1 GiB to the end of the physical address space', () => {
    expect(pcPci64Window(0, 40)).toEqual({ base: 0x1_0000_0000, size: 2 ** 40 - 0x1_0000_0000 });
    expect(pcPci64Window(0x1_2000_0000, 39)).toEqual({ base: 0x2_4000_0000, size: 2 ** 39 - 0x2_4000_0000 });
    expect(pcPci64Window(0, 32)).toEqual({ base: 0x1_0000_0000, size: 0 });
    expect(() => pcPci64Window(0, 53)).toThrow(TypeError);
  });
});

describe('OVMF flash layout', () => {
  it('matches docs/platform.md: 4M VARS 0xffc00000-0xffc83fff, CODE from 0xffc84000; 2M VARS 0xffe00000 (128 KiB)', () => {
    expect(ovmfFlashLayout(OVMF_4M_CODE_SIZE, OVMF_4M_VARS_SIZE)).toEqual({
      codeBase: 0xffc8_4000,
      codeSize: OVMF_4M_CODE_SIZE,
      varsBase: 0xffc0_0000,
      varsSize: 0x8_4000,
    });
    expect(OVMF_4M_VARS_BASE + OVMF_4M_VARS_SIZE).toBe(OVMF_4M_CODE_BASE);
    expect(ovmfFlashLayout(OVMF_2M_CODE_SIZE, OVMF_2M_VARS_SIZE)).toMatchObject({ varsBase: 0xffe0_0000, codeBase: 0xffe2_0000 });
    expect(OVMF_2M_VARS_BASE + OVMF_2M_VARS_SIZE).toBe(OVMF_2M_CODE_BASE);
    expect(OVMF_2M_CODE_BASE + OVMF_2M_CODE_SIZE).toBe(FOUR_GIB);
  });

  it('uses the sizes the fixture lock records', () => {
    const { artifacts } = loadLock();
    const size = (name: string) => artifacts[name]?.size;
    expect(size('ovmf-code-4m')).toBe(OVMF_4M_CODE_SIZE);
    expect(size('ovmf-vars-4m')).toBe(OVMF_4M_VARS_SIZE);
    expect(size('ovmf-code-2m')).toBe(OVMF_2M_CODE_SIZE);
    expect(size('ovmf-vars-2m')).toBe(OVMF_2M_VARS_SIZE);
  });

  it('rejects images that cannot be flash (whole pages, so whole CFI01 blocks too)', () => {
    expect(PAGE_SIZE % CFI01_DEFAULT_BLOCK_SIZE).toBe(0);
    expect(() => ovmfFlashLayout(0x1000_1, 0x2_0000)).toThrow(/CODE image is 65537 bytes/);
    expect(() => ovmfFlashLayout(0x1e_0000, 0)).toThrow(/VARS image is 0 bytes/);
    expect(() => ovmfFlashLayout(0x80_0000, 0x2_0000)).toThrow(/at most 8388608 fit/);
  });
});

describe('slots', () => {
  it('one KVM slot per PAM granule, then the two flash slots', () => {
    expect(SLOT_FLASH_VARS).toBe(SLOT_PAM_FIRST + 13);
    expect(SLOT_FLASH_CODE).toBe(18);
  });
  it('the interrupt test device is in slot 31, whose INTA# is PIRQC', () => {
    expect(IRQ_TEST_SLOT).toBe(31);
    expect((IRQ_TEST_SLOT - 1) & 3).toBe(2);
  });
});
