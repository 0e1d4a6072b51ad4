// `npm run disk-image [-- --force] [-- --update-lock]`: builds (or finds cached) the debian-disk
// image and prints where it is. --update-lock accepts the package set debootstrap installs as the
// new packages.lock (after a deliberate change of IMAGE_INCLUDES).

import { parseArgs } from 'node:util';
import { BootgateError } from '../../vmm/errors.js';
import { buildDebianDiskImage } from './build.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { force: { type: 'boolean' }, 'update-lock': { type: 'boolean' } }, strict: true });
  const image = await buildDebianDiskImage({ force: values.force, updateLock: values['update-lock'], log: (l) => console.log(l) });
  console.log(`debian-disk  sha256:${image.meta.sha256}  ${image.path}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof BootgateError ? e.toLine() : e);
    process.exit(e instanceof BootgateError && e.code === 'E_CONFIG' ? 2 : 1);
  },
);
