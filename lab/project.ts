// The bootgate repository root: the nearest ancestor of this file holding fixtures/manifest.json
// (works from lab/ and from dist/lab/ alike). The lab shares it writable by default, so reports
// written inside the lab land on the host under reports/out/.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BootgateError } from '../vmm/errors.js';

export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'fixtures', 'manifest.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new BootgateError('E_INTERNAL', `no fixtures/manifest.json above ${fileURLToPath(import.meta.url)}`, {
        hint: 'run bootgate from its repository checkout',
      });
    }
    dir = parent;
  }
}
