import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initramfsEntries, initramfsKey } from './initramfs.js';
import type { LabKernel } from './kernel.js';

const dir = mkdtempSync(join(tmpdir(), 'bootgate-initramfs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeKernel(kvmSha = 'aa'): LabKernel {
  const file = (name: string, body: string) => {
    writeFileSync(join(dir, name), body);
    return join(dir, name);
  };
  return {
    vmlinuz: file('vmlinuz', 'kernel'),
    vmlinuzSha256: '00',
    release: '6.1.0-50-amd64',
    busybox: { path: file('busybox', 'bb'), sha256: 'bb' },
    modules: [
      { name: 'virtio', file: 'virtio.ko', path: file('virtio.ko', 'v'), sha256: 'v1', group: 'io' },
      { name: 'kvm', file: 'kvm.ko', path: file('kvm.ko', 'k'), sha256: kvmSha, group: 'kvm' },
    ],
  };
}

describe('lab initramfs', () => {
  it('holds busybox (executable, sh linked to it), /init, /dev/console and every module', async () => {
    const entries = await initramfsEntries(fakeKernel(), '#!/bin/sh\n');
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(byPath.get('bin/busybox')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(byPath.get('bin/sh')).toEqual({ type: 'symlink', path: 'bin/sh', target: 'busybox' });
    expect(byPath.get('init')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(byPath.get('dev/console')).toMatchObject({ type: 'char', major: 5, minor: 1 });
    expect(byPath.has('lib/modules/virtio.ko') && byPath.has('lib/modules/kvm.ko')).toBe(true);
    // Directories come before what is in them: the kernel does not create parents.
    expect(entries.findIndex((e) => e.path === 'lib/modules')).toBeLessThan(entries.findIndex((e) => e.path === 'lib/modules/kvm.ko'));
  });

  it('is keyed by every input: a changed module or script gives a new file', () => {
    const base = initramfsKey(fakeKernel('aa'), 'init');
    expect(initramfsKey(fakeKernel('aa'), 'init')).toBe(base);
    expect(initramfsKey(fakeKernel('ab'), 'init')).not.toBe(base);
    expect(initramfsKey(fakeKernel('aa'), 'init2')).not.toBe(base);
  });
});
