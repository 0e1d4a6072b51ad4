// Firmware images a suite boots, resolved through the fixtures (verified against the lock).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolveFixture } from '../../fixtures/fixtures.js';

export interface FirmwareImage {
  name: string;
  path: string;
  bytes: Uint8Array;
  sha256: string;
}

export async function loadFirmware(name: string): Promise<FirmwareImage> {
  const path = await resolveFixture(name);
  const bytes = readFileSync(path);
  return { name, path, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}
