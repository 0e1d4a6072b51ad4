import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesAtRip, LOW_MEMORY_BYTES, snapshotPath, writeLowMemory } from './memory-snapshot.js';

describe('low-memory snapshot', () => {
  it('writes the first MiB (or all of a smaller RAM) beside the event stream', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootgate-snap-'));
    try {
      const ram = new Uint8Array(LOW_MEMORY_BYTES * 2).map((_, i) => i & 0xff);
      const file = snapshotPath(join(dir, 'boot.jsonl'), 2);
      expect(file).toBe(join(dir, 'boot.jsonl.reset-2.lowmem'));
      expect(writeLowMemory(ram, file)).toBe(LOW_MEMORY_BYTES);
      expect(readFileSync(file).subarray(0x1234, 0x1236)).toEqual(Buffer.from([0x34, 0x35]));
      expect(writeLowMemory(new Uint8Array(4096), file)).toBe(4096);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the bytes at a rip with CS base 0 and 0xF0000, and says when they lie outside', () => {
    const snap = new Uint8Array(LOW_MEMORY_BYTES);
    snap.set([0x67, 0x66, 0x8d, 0x42], 0xf6e19);
    snap.set([0xde, 0xad], 0x6e1a);
    const line = bytesAtRip(snap, 0x6e1a, 4);
    expect(line).toBe('guest bytes at the shutdown rip, CS base 0 0x6e1a: de ad 00 00; CS base 0xf0000 0xf6e1a: 66 8d 42 00');
    expect(bytesAtRip(snap, 0xfffff, 4)).toMatch(/CS base 0 0xfffff: outside the snapshot; CS base 0xf0000 0x1effff: outside the snapshot/);
  });
});
