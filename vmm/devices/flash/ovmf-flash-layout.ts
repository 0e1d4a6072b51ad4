// Where OVMF's two flash images sit, as QEMU's pc_system_flash_map places `-drive if=pflash` units:
// unit 0 (CODE) ends at 4 GiB, unit 1 (VARS) directly below it. Sizes are those of Debian's ovmf
// 2022.11-6+deb12u2 (fixtures ovmf-code-4m, ovmf-vars-4m, ovmf-code-2m, ovmf-vars-2m); OVMF's own
// PcdOvmfFdBaseAddress is the VARS base, so another size would not boot. (To move to layout.ts.)

import { BootgateError } from '../../errors.js';
import { FOUR_GIB, MiB } from '../../layout.js';
import { CFI01_DEFAULT_BLOCK_SIZE } from './cfi01.js';

/** 4M build: VARS 0xffc0_0000-0xffc8_3fff (OVMF_VARS_4M.fd, 540,672 bytes). */
export const OVMF_4M_VARS_BASE = 0xffc0_0000;
export const OVMF_4M_VARS_SIZE = 0x8_4000;
/** 4M build: CODE from 0xffc8_4000 to 4 GiB (OVMF_CODE_4M.fd, 3,653,632 bytes). */
export const OVMF_4M_CODE_SIZE = 0x37_c000;
export const OVMF_4M_CODE_BASE = FOUR_GIB - OVMF_4M_CODE_SIZE;

/** 2M build: VARS 0xffe0_0000-0xffe1_ffff (OVMF_VARS.fd, 131,072 bytes). */
export const OVMF_2M_VARS_BASE = 0xffe0_0000;
export const OVMF_2M_VARS_SIZE = 0x2_0000;
/** 2M build: CODE from 0xffe2_0000 to 4 GiB (OVMF_CODE.fd, 1,966,080 bytes). */
export const OVMF_2M_CODE_SIZE = 0x1e_0000;
export const OVMF_2M_CODE_BASE = FOUR_GIB - OVMF_2M_CODE_SIZE;

/** QEMU's pc refuses more system flash than this (FLASH_SIZE_LIMIT in hw/i386/pc_sysfw.c). */
export const PC_FLASH_SIZE_LIMIT = 8 * MiB;

export interface OvmfFlashLayout {
  codeBase: number;
  codeSize: number;
  varsBase: number;
  varsSize: number;
}

/** CODE ending at 4 GiB and VARS right below it; throws if the images cannot be flash. */
export function ovmfFlashLayout(codeSize: number, varsSize: number): OvmfFlashLayout {
  for (const [what, size] of [
    ['CODE', codeSize],
    ['VARS', varsSize],
  ] as const) {
    if (!Number.isInteger(size) || size <= 0 || size % CFI01_DEFAULT_BLOCK_SIZE !== 0) {
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
