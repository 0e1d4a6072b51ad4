import { describe, expect, it } from 'vitest';
import { defaultLabQemuKind, LAB_QEMU_BINARY_ENV, labQemuBinary } from './qemu.js';

describe('labQemuBinary with BOOTGATE_LAB_QEMU_BINARY', () => {
  it("takes the lab VM's QEMU from BOOTGATE_LAB_QEMU_BINARY, before $QEMU and the fixture", async () => {
    expect(await labQemuBinary(undefined, { [LAB_QEMU_BINARY_ENV]: '/bin/sh', QEMU: '/nonexistent' })).toBe('/bin/sh');
  });

  it('refuses a relative path or a file that is not there, naming the variable', async () => {
    await expect(labQemuBinary(undefined, { [LAB_QEMU_BINARY_ENV]: 'qemu-system-x86_64' })).rejects.toThrow(/BOOTGATE_LAB_QEMU_BINARY="qemu-system-x86_64" is not an executable file/);
    await expect(labQemuBinary(undefined, { [LAB_QEMU_BINARY_ENV]: '/nonexistent/qemu' })).rejects.toThrow(/is not an executable file/);
  });
});

describe('defaultLabQemuKind', () => {
  const empty = { BOOTGATE_CACHE_DIR: '/nonexistent-bootgate-cache' };
  it('runs the lab under the patched build where it is cached or can be built, else under the fixture', () => {
    expect(defaultLabQemuKind(empty, () => true)).toBe('patched');
    expect(defaultLabQemuKind(empty, () => false)).toBe('fixture');
    expect(defaultLabQemuKind({ ...empty, BOOTGATE_OFFLINE: '1' }, () => true)).toBe('fixture');
  });
});
