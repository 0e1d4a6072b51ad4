import { describe, expect, test } from 'vitest';
import { formatUpstream } from '../../fixtures/upstream.js';
import { MESON_DEB, QEMU_SOURCE } from './recipe.js';
import { checkBuildPins } from './upstream.js';

describe('checkBuildPins', () => {
  test('both pins in the pool at their size: ok', async () => {
    const sizes = new Map([
      [QEMU_SOURCE.path, QEMU_SOURCE.size],
      [MESON_DEB.path, MESON_DEB.size],
    ]);
    const rows = await checkBuildPins({}, async (path) => ({ status: 200, size: sizes.get(path) }));
    expect(rows.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(formatUpstream(rows).ok).toBe(true);
  });

  test('a vanished or changed pin fails and names the fix', async () => {
    const rows = await checkBuildPins({}, async (path) => (path === MESON_DEB.path ? { status: 404 } : { status: 200, size: 1 }));
    expect(rows.map((r) => r.status)).toEqual(['changed', 'gone']);
    const { lines, ok } = formatUpstream(rows);
    expect(ok).toBe(false);
    expect(lines[1]).toMatch(/^FAIL meson=1\.7\.0-1~bpo12\+1 \(bookworm-backports; 1 artifact\): gone: .*HTTP 404; move lab\/qemu-build\/recipe\.ts/);
  });
});
