import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from './project.js';
import { checkCwd, checkRwShares, defaultShares, runInLab, tailLines } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'bootgate-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runInLab input checks (no VM)', () => {
  it('refuses an empty command and bad numbers before anything starts', async () => {
    await expect(runInLab({ command: [] })).rejects.toThrow(/invalid command/);
    await expect(runInLab({ command: ['true'], smp: 0 })).rejects.toThrow(/invalid --smp: 0/);
    await expect(runInLab({ command: ['true'], memMiB: 1.5 })).rejects.toThrow(/invalid --mem/);
  });

  it('writable shares: absolute, existing, once each, never / itself', () => {
    expect(checkRwShares([dir, `${dir}/`, dir])).toEqual([dir]);
    expect(() => checkRwShares(['/'])).toThrow(/read-only/);
    expect(() => checkRwShares([join(dir, 'missing')])).toThrow(/an existing folder/);
  });
});

describe('defaultShares', () => {
  it('adds a cache folder (fixtures, disk images) only when a scratch tmpfs inside the lab would hide it', () => {
    expect(defaultShares([dir])).toEqual([projectRoot(), dir]);
    expect(defaultShares(['/root/.cache/bootgate/fixtures', dir])).toEqual([projectRoot(), dir]);
    expect(defaultShares(['/root/.cache/bootgate/fixtures', '/root/.cache/bootgate/images'])).toEqual([projectRoot()]);
    expect(defaultShares([join(dir, 'not-there')])).toEqual([projectRoot()]);
  });
});

describe('checkCwd', () => {
  it('refuses a working directory a scratch tmpfs hides, unless it is shared', () => {
    expect(() => checkCwd('/tmp/build', ['/work/main'])).toThrow(/below \/tmp, which is an empty tmpfs inside the lab/);
    expect(() => checkCwd('/tmp/build/sub', ['/tmp/build'])).not.toThrow();
    expect(() => checkCwd('/tmpfoo', [])).not.toThrow();
    expect(() => checkCwd('/work/main', [])).not.toThrow();
  });
});

describe('tailLines', () => {
  it('keeps the last lines without carriage returns or trailing blank lines', () => {
    expect(tailLines('a\r\nb\r\nc\r\n\r\n', 2)).toBe('b\nc');
  });
});
