// `npm run fixtures -- --check-upstream` also asks after the patched lab QEMU's two pins (the
// source tarball and meson, recipe.ts): each must still be in the pool at its pinned size. Both
// live in bookworm-backports, which keeps only its newest upload; a gone pin names the fix (move
// recipe.ts with the lab-qemu fixture, docs/uefi.md).

import { probePoolFile } from '../../fixtures/archive.js';
import type { UpstreamRow } from '../../fixtures/upstream.js';
import { MESON_DEB, type PinnedFile, QEMU_SOURCE } from './recipe.js';

type Probe = (path: string, env: NodeJS.ProcessEnv) => Promise<{ status: number; size?: number }>;

const PINS: ReadonlyArray<{ artifact: string; package: string; version: string; file: PinnedFile }> = [
  { artifact: 'lab-qemu-uefi source', package: 'qemu (source)', version: QEMU_SOURCE.version, file: QEMU_SOURCE },
  { artifact: 'lab-qemu-uefi meson', package: 'meson', version: MESON_DEB.version, file: MESON_DEB },
];

export async function checkBuildPins(env: NodeJS.ProcessEnv = process.env, probe: Probe = probePoolFile): Promise<UpstreamRow[]> {
  return Promise.all(
    PINS.map(async (p): Promise<UpstreamRow> => {
      const row = { artifacts: [p.artifact], package: p.package, version: p.version, suite: 'bookworm-backports' };
      const got = await probe(p.file.path, env);
      if (got.status === 200 && (got.size === undefined || got.size === p.file.size)) return { ...row, status: 'ok', detail: p.file.path };
      const what = got.status === 200 ? `${p.file.path} is ${got.size} bytes, the recipe says ${p.file.size}` : `${p.file.path} answered HTTP ${got.status}`;
      return { ...row, status: got.status === 200 ? 'changed' : 'gone', detail: `${what}; move lab/qemu-build/recipe.ts with the lab-qemu fixture (docs/uefi.md)` };
    }),
  );
}
