// The VARS image behind `--vars FILE`: the first run starts from the fixture and creates FILE;
// later runs start from FILE, so variables persist across VMs (as a QEMU pflash drive does).
// The fixture is only ever read. Saving is atomic (temporary file, then rename), so a VM killed
// mid-save leaves the previous FILE whole.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { BootgateError } from '../../errors.js';

/** The starting VARS bytes: FILE if it exists (it must match the fixture's size), else the fixture. */
export function loadVarsImage(fixturePath: string, varsFile?: string): Uint8Array {
  const template = readImage(fixturePath, 'E_FIXTURE');
  if (varsFile === undefined || !existsSync(varsFile)) return template;
  const saved = readImage(varsFile, 'E_CONFIG');
  if (saved.length !== template.length) {
    throw new BootgateError('E_CONFIG', `--vars ${varsFile} is ${saved.length} bytes; this firmware's VARS is ${template.length}`, {
      hint: 'use a VARS file saved by the same --firmware, or delete it to start afresh',
    });
  }
  return saved;
}

export function saveVarsImage(varsFile: string, image: Uint8Array): void {
  const tmp = `${varsFile}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, image);
    renameSync(tmp, varsFile);
  } catch (e) {
    throw new BootgateError('E_CONFIG', `cannot save VARS to ${varsFile}: ${(e as Error).message}`, { cause: e, hint: 'check the --vars path' });
  }
}

function readImage(path: string, code: 'E_FIXTURE' | 'E_CONFIG'): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new BootgateError(code, `cannot read VARS image ${path}`, { cause: e, hint: code === 'E_FIXTURE' ? 'run: npm run fixtures' : 'check the --vars path' });
  }
}
