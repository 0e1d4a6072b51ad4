// ensurePatchedQemu's in-process sharing: lab lanes ask for the patched QEMU at once, and a
// second build beside the first would cost minutes and race it to the cache. Offline with an
// empty cache the "build" fails at once, which is enough to see both callers get the same one.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensurePatchedQemu } from './build.js';

describe('ensurePatchedQemu', () => {
  const cache = mkdtempSync(join(tmpdir(), 'bootgate-qemu-build-'));
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('gives a caller that asks while a build is under way that build, and starts afresh once it ended', async () => {
    const env = { BOOTGATE_CACHE_DIR: cache, BOOTGATE_OFFLINE: '1' };
    const first = ensurePatchedQemu({ env });
    const second = ensurePatchedQemu({ env });
    expect(second).toBe(first);
    await expect(first).rejects.toThrow(/patched QEMU is not built .* BOOTGATE_OFFLINE is set/);
    const later = ensurePatchedQemu({ env });
    expect(later).not.toBe(first);
    await expect(later).rejects.toThrow(/BOOTGATE_OFFLINE/);
  });
});
