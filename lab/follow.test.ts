import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileFollower } from './follow.js';

const dir = mkdtempSync(join(tmpdir(), 'bootgate-follow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FileFollower', () => {
  it('reads a missing file as empty, then each appended piece once', async () => {
    const path = join(dir, 'out');
    const seen: string[] = [];
    const f = new FileFollower(path, (c) => seen.push(c.toString()));
    expect(await f.poll()).toBe(0);
    writeFileSync(path, 'one\n');
    expect(await f.poll()).toBe(4);
    appendFileSync(path, 'two');
    appendFileSync(path, '\n');
    await f.poll();
    expect(await f.poll()).toBe(0);
    expect(seen.join('')).toBe('one\ntwo\n');
    await f.close();
  });
});
