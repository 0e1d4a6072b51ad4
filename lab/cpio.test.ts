import { describe, expect, it } from 'vitest';
import { cpioArchive } from './cpio.js';

interface Parsed {
  name: string;
  mode: number;
  nlink: number;
  rdevMajor: number;
  rdevMinor: number;
  data: Buffer;
}

/** A reader for what the writer produces: newc headers, 4-byte alignment, the trailer. */
function parse(buf: Buffer): Parsed[] {
  const out: Parsed[] = [];
  let at = 0;
  for (;;) {
    expect(buf.toString('ascii', at, at + 6)).toBe('070701');
    const field = (i: number) => parseInt(buf.toString('ascii', at + 6 + i * 8, at + 14 + i * 8), 16);
    const nameSize = field(11);
    const fileSize = field(6);
    const name = buf.toString('utf8', at + 110, at + 110 + nameSize - 1);
    expect(buf[at + 110 + nameSize - 1]).toBe(0);
    let p = at + 110 + nameSize;
    p += (4 - (p % 4)) % 4;
    const data = buf.subarray(p, p + fileSize);
    p += fileSize;
    p += (4 - (p % 4)) % 4;
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode: field(1), nlink: field(4), rdevMajor: field(9), rdevMinor: field(10), data });
    at = p;
  }
}

describe('cpioArchive (newc)', () => {
  const archive = cpioArchive([
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'bin/busybox', data: Buffer.from('abcde'), mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'char', path: 'dev/console', major: 5, minor: 1 },
    { type: 'file', path: 'init', data: Buffer.from('#!/bin/sh\n') },
  ]);

  it('writes every entry with its type, permissions, data and device numbers, then the trailer', () => {
    const entries = parse(archive);
    expect(entries.map((e) => e.name)).toEqual(['bin', 'bin/busybox', 'bin/sh', 'dev/console', 'init']);
    expect(entries[0]!.mode).toBe(0o040755);
    expect(entries[0]!.nlink).toBe(2);
    expect(entries[1]!.mode).toBe(0o100755);
    expect(entries[1]!.data.toString()).toBe('abcde');
    expect(entries[2]!.mode).toBe(0o120777);
    expect(entries[2]!.data.toString()).toBe('busybox');
    expect(entries[3]).toMatchObject({ mode: 0o020600, rdevMajor: 5, rdevMinor: 1 });
    expect(entries[4]!.mode).toBe(0o100644);
  });

  it('pads to 512-byte blocks and gives the same bytes for the same entries (the cache key relies on it)', () => {
    expect(archive.length % 512).toBe(0);
    expect(cpioArchive([{ type: 'file', path: 'init', data: Buffer.from('#!/bin/sh\n') }])).toEqual(
      cpioArchive([{ type: 'file', path: 'init', data: Buffer.from('#!/bin/sh\n') }]),
    );
  });

  it('refuses absolute paths and ".." (the kernel would unpack them outside the root)', () => {
    expect(() => cpioArchive([{ type: 'dir', path: '/etc' }])).toThrow(TypeError);
    expect(() => cpioArchive([{ type: 'dir', path: 'a/../../etc' }])).toThrow(/without ".."/);
  });
});
