// Direct Linux kernel boot the way QEMU does it for SeaBIOS and OVMF (docs/platform.md): the bzImage's
// real-mode setup, the protected-mode kernel, the initrd and the command line go into fw_cfg; QEMU's
// linuxboot_dma.bin option ROM (a genrom, first in bootorder) reads them by DMA, copies them to
// where the patched setup header says, and jumps to the kernel. OVMF reads only the SIZE/DATA keys.
// Follows the x86 boot protocol (Documentation/arch/x86/boot.rst) for header fields and QEMU 7.2
// x86_load_linux for the layout (layout.ts: setup at 0x10000, command line at 0x20000, kernel at
// 0x100000, initrd at the top of what the header allows, below the low RAM's end minus ACPI room).
// Left out: boot protocol < 2.06 (kernels before 2.6.20), setup_data chains, vga= handling,
// the 32-bit boot entry (kernel without a real-mode part) and multiboot.

import { FwCfg } from '../devices/fwcfg/fwcfg.js';
import { FwCfgKey } from '../devices/fwcfg/fwcfg-keys.js';
import { BootgateError } from '../errors.js';
import { LINUX_CMDLINE_ADDR, LINUX_KERNEL_ADDR, LINUX_SETUP_ADDR, linuxInitrdAddr, linuxInitrdMax } from '../layout.js';

const MIN_PROTOCOL = 0x206;

// Setup-header offsets (boot.rst).
const HDR_SETUP_SECTS = 0x1f1;
const HDR_MAGIC = 0x202; // "HdrS"
const HDR_VERSION = 0x206;
const HDR_TYPE_OF_LOADER = 0x210;
const HDR_LOADFLAGS = 0x211;
const HDR_RAMDISK_IMAGE = 0x218;
const HDR_RAMDISK_SIZE = 0x21c;
const HDR_HEAP_END_PTR = 0x224;
const HDR_CMD_LINE_PTR = 0x228;
const HDR_INITRD_ADDR_MAX = 0x22c;
const HDR_CMDLINE_SIZE = 0x238;
const LOADER_TYPE_QEMU = 0xb0;
const CAN_USE_HEAP = 0x80;
const LOADED_HIGH = 0x01;

export interface LinuxImages {
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline: string;
}

export interface LinuxLayout {
  protocol: number;
  setupSize: number;
  kernelSize: number;
  initrdAddr: number;
  initrdSize: number;
  cmdlineSize: number;
}

/**
 * Split and patch a bzImage as QEMU does; returns the patched setup, the kernel body and where
 * the initrd goes. Throws a clear error for something that is not a bzImage this loader supports.
 */
export function prepareLinux(images: LinuxImages, ramBelow4G: number): { setup: Uint8Array; kernel: Uint8Array; layout: LinuxLayout } {
  const k = images.kernel;
  const view = new DataView(k.buffer, k.byteOffset, k.byteLength);
  if (k.length < 0x400 || view.getUint32(HDR_MAGIC, true) !== 0x5372_6448) {
    throw new BootgateError('E_CONFIG', 'the kernel image is not a bzImage (no "HdrS" setup header at 0x202)', {
      hint: 'pass a Linux bzImage, e.g. /boot/vmlinuz-*',
    });
  }
  const protocol = view.getUint16(HDR_VERSION, true);
  if (protocol < MIN_PROTOCOL) {
    throw new BootgateError('E_CONFIG', `the kernel speaks boot protocol ${(protocol >> 8).toString()}.${(protocol & 0xff).toString(16)}; bootgate needs 2.06 or later`);
  }
  if ((k[HDR_LOADFLAGS]! & LOADED_HIGH) === 0) throw new BootgateError('E_CONFIG', 'the kernel is not a bzImage (zImage loads low)');
  const setupSects = k[HDR_SETUP_SECTS]! || 4;
  const setupSize = (setupSects + 1) * 512;
  const cmdlineMax = view.getUint32(HDR_CMDLINE_SIZE, true);
  const cmdline = new TextEncoder().encode(`${images.cmdline}\0`);
  if (cmdline.length > cmdlineMax + 1) {
    throw new BootgateError('E_CONFIG', `kernel command line is ${cmdline.length - 1} bytes; this kernel takes at most ${cmdlineMax}`);
  }
  const setup = k.slice(0, setupSize);
  const kernel = k.slice(setupSize);
  const sv = new DataView(setup.buffer);
  setup[HDR_TYPE_OF_LOADER] = LOADER_TYPE_QEMU;
  setup[HDR_LOADFLAGS] = setup[HDR_LOADFLAGS]! | CAN_USE_HEAP;
  sv.setUint16(HDR_HEAP_END_PTR, LINUX_CMDLINE_ADDR - LINUX_SETUP_ADDR - 0x200, true);
  sv.setUint32(HDR_CMD_LINE_PTR, LINUX_CMDLINE_ADDR, true);
  let initrdAddr = 0;
  const initrdSize = images.initrd?.length ?? 0;
  if (images.initrd) {
    const initrdMax = linuxInitrdMax(ramBelow4G, view.getUint32(HDR_INITRD_ADDR_MAX, true));
    if (initrdSize > initrdMax - LINUX_KERNEL_ADDR - kernel.length) {
      throw new BootgateError('E_CONFIG', `initrd of ${initrdSize} bytes does not fit below 0x${initrdMax.toString(16)}`, { hint: 'give the guest more memory (--mem)' });
    }
    initrdAddr = linuxInitrdAddr(initrdMax, initrdSize);
    sv.setUint32(HDR_RAMDISK_IMAGE, initrdAddr, true);
    sv.setUint32(HDR_RAMDISK_SIZE, initrdSize, true);
  }
  return { setup, kernel, layout: { protocol, setupSize, kernelSize: kernel.length, initrdAddr, initrdSize, cmdlineSize: cmdline.length } };
}

/** Put a prepared kernel into fw_cfg, plus the option ROM and the bootorder that make SeaBIOS run it. */
export function installLinuxBoot(fw: FwCfg, images: LinuxImages, ramBelow4G: number, linuxbootRom?: Uint8Array): LinuxLayout {
  const { setup, kernel, layout } = prepareLinux(images, ramBelow4G);
  fw.addU32(FwCfgKey.SETUP_ADDR, LINUX_SETUP_ADDR);
  fw.addU32(FwCfgKey.SETUP_SIZE, setup.length);
  fw.addItem(FwCfgKey.SETUP_DATA, setup);
  fw.addU32(FwCfgKey.KERNEL_ADDR, LINUX_KERNEL_ADDR);
  fw.addU32(FwCfgKey.KERNEL_SIZE, kernel.length);
  fw.addItem(FwCfgKey.KERNEL_DATA, kernel);
  fw.addU32(FwCfgKey.CMDLINE_ADDR, LINUX_CMDLINE_ADDR);
  fw.addU32(FwCfgKey.CMDLINE_SIZE, layout.cmdlineSize);
  fw.addItem(FwCfgKey.CMDLINE_DATA, new TextEncoder().encode(`${images.cmdline}\0`));
  fw.addU32(FwCfgKey.INITRD_ADDR, layout.initrdAddr);
  fw.addU32(FwCfgKey.INITRD_SIZE, layout.initrdSize);
  fw.addItem(FwCfgKey.INITRD_DATA, images.initrd ?? new Uint8Array(0));
  if (linuxbootRom) fw.addFile(LINUXBOOT_ROM_FILE, linuxbootRom);
  return layout;
}

/** The genrom name SeaBIOS runs, and the bootorder entry that puts it first. */
export const LINUXBOOT_ROM_FILE = 'genroms/linuxboot_dma.bin';
export const LINUXBOOT_BOOTORDER = '/rom@genroms/linuxboot_dma.bin';
