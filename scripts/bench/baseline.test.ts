// --baseline's checks that need no build: where the worktree goes, and a ref that names nothing.

import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../fixtures/fixtures.js';
import { baselineDir, buildBaseline } from './baseline.js';

describe('buildBaseline', () => {
  it('puts the worktree under reports/out/bench/, where the lab can see it, one folder per commit', () => {
    expect(baselineDir('/repo', '0123456789abcdef0123')).toBe('/repo/reports/out/bench/baseline-0123456789ab');
  });

  it('refuses a ref that names no commit, before anything is built', async () => {
    await expect(buildBaseline(repoRoot(), 'no-such-ref-anywhere', () => {})).rejects.toThrow(/--baseline no-such-ref-anywhere names no commit here/);
  });
});
