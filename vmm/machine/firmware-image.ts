// Reading and checking a firmware image: a multiple of 4 KiB (it becomes a memory slot) and at
// most 16 MiB. Checked once in the CLI (one clear line) and again where the VM is built.

import { readFileSync, statSync } from 'node:fs';
import { BootgateError } from '../errors.js';
import { MAX_FIRMWARE_SIZE, PAGE_SIZE } from '../layout.js';

function checkSize(path: string, size: number): void {
  if (size === 0 || size % PAGE_SIZE !== 0 || size > MAX_FIRMWARE_SIZE) {
    throw new BootgateError('E_CONFIG', `firmware image ${path} is ${size} bytes; expected a multiple of 4 KiB up to 16 MiB`, {
      hint: 'pass a flat firmware image (e.g. bios-256k.bin)',
    });
  }
}

/** Throws a clear error if `path` cannot be a firmware image; reads nothing. */
export function checkFirmwareImage(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new BootgateError('E_CONFIG', `firmware image ${path} cannot be read: ${(e as Error).message}`, { cause: e, hint: 'check the path' });
  }
  checkSize(path, size);
}

export function readFirmwareImage(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new BootgateError('E_FIXTURE', `cannot read firmware image ${path}`, { cause: e, hint: 'check the path or run: npm run fixtures' });
  }
  checkSize(path, bytes.length);
  return bytes;
}
