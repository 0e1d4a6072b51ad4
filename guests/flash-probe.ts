// The flash-romd probe (probes/flash-romd.asm) as a bootable pair: its 64 KiB pflash CODE image and
// an erased VARS image (all 0xFF, as a new flash part) for it to send commands to. Both are built
// into guests/build/ once; VMMs boot them with --firmware-file CODE --flash-vars VARS and never
// write the VARS file (the own VMM and QEMU both work on a copy).

import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble, GUEST_BUILD_DIR } from './nasm.js';

/** The VARS flash below the probe's CODE: one 64 KiB part (whole pages, as ovmfFlashLayout needs). */
export const FLASH_PROBE_VARS_SIZE = 0x10000;

export async function flashRomdProbe(): Promise<{ code: string; vars: string }> {
  const code = await assemble('probes/flash-romd.asm', { VARS_SIZE: FLASH_PROBE_VARS_SIZE });
  const vars = join(GUEST_BUILD_DIR, `flash-romd-vars-${FLASH_PROBE_VARS_SIZE.toString(16)}.fd`);
  if (!existsSync(vars)) {
    mkdirSync(GUEST_BUILD_DIR, { recursive: true });
    const tmp = `${vars}.${process.pid}.tmp`;
    writeFileSync(tmp, new Uint8Array(FLASH_PROBE_VARS_SIZE).fill(0xff));
    renameSync(tmp, vars);
  }
  return { code, vars };
}
