// Unit tests for what fw_cfg serves: the file directory, lazy files and the checks on the host's items.

import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../errors.js';
import { FwCfgKey } from './fwcfg-keys.js';
import { ascii, hexBytes, setupFwCfg as setup } from './test-guest.js';

describe('file directory', () => {
  it('lists files in insertion order from key 0x20 with be32 size, be16 select, NUL-padded names', () => {
    const { fw, g } = setup();
    expect(fw.addFile('etc/e820', new Uint8Array(40))).toBe(0x20);
    expect(fw.addFile('bootorder', ascii('/rom@genroms/linuxboot_dma.bin\0'))).toBe(0x21);
    expect(fw.addFile('etc/acpi/tables', () => new Uint8Array(10), 131072)).toBe(0x22);
    expect(fw.files()).toEqual(['etc/e820', 'bootorder', 'etc/acpi/tables']);

    g.select(FwCfgKey.FILE_DIR);
    const dir = Uint8Array.from(g.insb(4 + 3 * 64));
    const view = new DataView(dir.buffer);
    expect(view.getUint32(0)).toBe(3);
    const entries = [0, 1, 2].map((i) => {
      const base = 4 + i * 64;
      const nameBytes = dir.subarray(base + 8, base + 64);
      const nul = nameBytes.indexOf(0);
      return {
        size: view.getUint32(base),
        select: view.getUint16(base + 4),
        reserved: view.getUint16(base + 6),
        name: String.fromCharCode(...nameBytes.subarray(0, nul)),
        padding: Array.from(nameBytes.subarray(nul)).every((b) => b === 0),
      };
    });
    expect(entries).toEqual([
      { size: 40, select: 0x20, reserved: 0, name: 'etc/e820', padding: true },
      { size: 31, select: 0x21, reserved: 0, name: 'bootorder', padding: true },
      { size: 131072, select: 0x22, reserved: 0, name: 'etc/acpi/tables', padding: true },
    ]);
    // Exact bytes of the first entry header.
    expect(hexBytes(dir.subarray(4, 16))).toBe('00 00 00 28 00 20 00 00 65 74 63 2f');
    expect(g.insb(1)).toEqual([0]);
  });

  it('is an empty directory (count 0) with no files', () => {
    const { g } = setup();
    g.select(FwCfgKey.FILE_DIR);
    expect(g.insb(5)).toEqual([0, 0, 0, 0, 0]);
  });

  it('looks files up by name', () => {
    const { fw } = setup();
    fw.addFile('a', new Uint8Array(1));
    fw.addFile('b', new Uint8Array(1));
    expect(fw.fileKey('b')).toBe(0x21);
    expect(fw.fileKey('c')).toBeUndefined();
  });
});

describe('lazy files', () => {
  it('builds on the first select, not on a directory read, once until reset', () => {
    const { m, fw, g } = setup();
    let builds = 0;
    fw.addFile('etc/acpi/tables', () => {
      builds++;
      return Uint8Array.of(builds, 0xee);
    }, 4);
    g.select(FwCfgKey.FILE_DIR);
    g.insb(4 + 64);
    expect(builds).toBe(0);
    g.select(0x20);
    expect(g.insb(5)).toEqual([1, 0xee, 0, 0, 0]);
    expect(hexBytes(g.readEntry(0x20, 4))).toBe('01 ee 00 00');
    expect(builds).toBe(1);
    fw.reset();
    expect(fw.selectedKey).toBe(FwCfgKey.SIGNATURE);
    expect(g.insb(1)).toEqual([0x51]);
    expect(builds).toBe(1);
    expect(hexBytes(g.readEntry(0x20, 4))).toBe('02 ee 00 00');
    expect(builds).toBe(2);
    expect(fw.stats.lazyBuilds).toBe(2);
    expect(m.events).toEqual([
      { event: 'fwcfg-build', file: 'etc/acpi/tables', bytes: 2 },
      { event: 'fwcfg-build', file: 'etc/acpi/tables', bytes: 2 },
    ]);
  });

  it('throws E_INTERNAL when a build outgrows its declared size', () => {
    const { fw, g } = setup();
    fw.addFile('big', () => new Uint8Array(5), 4);
    let err: unknown;
    try {
      g.select(0x20);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BootgateError);
    expect((err as BootgateError).code).toBe('E_INTERNAL');
  });
});

describe('host misconfiguration', () => {
  it('rejects duplicate, reserved and out-of-range keys', () => {
    const { fw } = setup();
    fw.addU16(FwCfgKey.NB_CPUS, 1);
    expect(() => fw.addU16(FwCfgKey.NB_CPUS, 2)).toThrow(/added twice/);
    expect(() => fw.addU32(FwCfgKey.ID, 3)).toThrow(/added twice/);
    expect(() => fw.addItem(FwCfgKey.FILE_DIR, new Uint8Array(4))).toThrow(BootgateError);
    expect(() => fw.addItem(0x20, new Uint8Array(4))).toThrow(/addFile/);
    expect(() => fw.addItem(0x4005, new Uint8Array(4))).toThrow(/bit 14/);
    expect(() => fw.addItem(0x10000, new Uint8Array(4))).toThrow(BootgateError);
    expect(() => fw.addU16(FwCfgKey.MAX_CPUS, 0x10000)).toThrow(BootgateError);
  });

  it('rejects bad file names, duplicate files and lazy files without a size', () => {
    const { fw } = setup();
    fw.addFile('etc/e820', new Uint8Array(20));
    expect(() => fw.addFile('etc/e820', new Uint8Array(20))).toThrow(/added twice/);
    expect(() => fw.addFile('x'.repeat(56), new Uint8Array(1))).toThrow(BootgateError);
    expect(() => fw.addFile('', new Uint8Array(1))).toThrow(BootgateError);
    const addUnsized = fw.addFile as unknown as (name: string, build: () => Uint8Array) => number;
    expect(() => addUnsized.call(fw, 'lazy', () => new Uint8Array(1))).toThrow(/declare their size/);
    expect(() => fw.setFileWriteHandler('nope', () => {})).toThrow(BootgateError);
    expect(fw.addFile('x'.repeat(55), new Uint8Array(1))).toBe(0x21);
  });

  it('stores u16/u32/u64 items little-endian', () => {
    const { fw, g } = setup();
    fw.addU16(FwCfgKey.NB_CPUS, 0x1234);
    fw.addU64(FwCfgKey.RAM_SIZE, 0x1_8000_0000);
    fw.addU64(FwCfgKey.KERNEL_ENTRY, 0xffff_ffff_ffff_fffen);
    expect(hexBytes(g.readEntry(FwCfgKey.NB_CPUS, 2))).toBe('34 12');
    expect(hexBytes(g.readEntry(FwCfgKey.RAM_SIZE, 8))).toBe('00 00 00 80 01 00 00 00');
    expect(hexBytes(g.readEntry(FwCfgKey.KERNEL_ENTRY, 8))).toBe('fe ff ff ff ff ff ff ff');
  });
});
