// Unit tests for the fw_cfg device, driven from the guest side the way SeaBIOS and OVMF do it.

import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../errors.js';
import { FwCfg } from './fwcfg.js';
import {
  FWCFG_DMA_CTL_READ,
  FWCFG_DMA_CTL_SELECT,
  FWCFG_DMA_CTL_SKIP,
  FWCFG_DMA_CTL_WRITE,
  FWCFG_IO_SPAN,
  FWCFG_PORT_DATA,
  FWCFG_PORT_DMA,
  FWCFG_PORT_SELECTOR,
  FwCfgArchKey,
  FwCfgKey,
} from './fwcfg-keys.js';
import { fakeMachine, Guest, hexBytes } from './test-guest.js';

const SELECT_READ = FWCFG_DMA_CTL_SELECT | FWCFG_DMA_CTL_READ;

function setup(options?: { dma?: boolean }) {
  const m = fakeMachine();
  const fw = new FwCfg(m.services, options);
  return { m, fw, g: new Guest(fw, m) };
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function seq(n: number, start = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
}

describe('port layout', () => {
  it('spans 0x510-0x51B', () => {
    expect(FWCFG_PORT_SELECTOR).toBe(0x510);
    expect(FWCFG_PORT_DATA).toBe(0x511);
    expect(FWCFG_PORT_DMA).toBe(0x514);
    expect(FWCFG_IO_SPAN).toBe(0x0c);
  });
});

describe('I/O interface', () => {
  it('reads the "QEMU" signature byte by byte, then zeros past the end', () => {
    const { g } = setup();
    g.select(FwCfgKey.SIGNATURE);
    expect(g.insb(6)).toEqual([0x51, 0x45, 0x4d, 0x55, 0, 0]);
  });

  it('answers 8-bit reads at 0x510 from the data register too (one comb region in QEMU)', () => {
    const { g } = setup();
    g.select(FwCfgKey.SIGNATURE);
    expect(g.in(FWCFG_PORT_SELECTOR, 1)).toBe(0x51);
    expect(g.in(FWCFG_PORT_DATA, 1)).toBe(0x45);
  });

  it('reports ID 3 (traditional + DMA) as u32 LE, and 1 without DMA', () => {
    const { g } = setup();
    g.select(FwCfgKey.ID);
    expect(g.insb(4)).toEqual([3, 0, 0, 0]);
    const noDma = setup({ dma: false });
    noDma.g.select(FwCfgKey.ID);
    expect(noDma.g.insb(4)).toEqual([1, 0, 0, 0]);
    expect(noDma.g.in(FWCFG_PORT_DMA, 1)).toBe(0xff);
  });

  it('restarts at offset 0 on every select', () => {
    const { g } = setup();
    g.select(FwCfgKey.SIGNATURE);
    g.insb(3);
    g.select(FwCfgKey.SIGNATURE);
    expect(g.insb(1)).toEqual([0x51]);
  });

  it('masks the write-channel bit 14 and keeps bit 15 as a separate key space', () => {
    const { fw, g } = setup();
    fw.addU32(FwCfgArchKey.IRQ0_OVERRIDE, 1);
    fw.addU16(FwCfgKey.NB_CPUS, 7);
    g.select(0x4000 | FwCfgKey.NB_CPUS);
    expect(fw.selectedKey).toBe(FwCfgKey.NB_CPUS);
    expect(g.insb(2)).toEqual([7, 0]);
    g.select(0x8002);
    expect(g.insb(4)).toEqual([1, 0, 0, 0]);
    g.select(0x0002);
    expect(g.insb(4)).toEqual([0, 0, 0, 0]);
  });

  it('reads zeros for an absent key', () => {
    const { g } = setup();
    g.select(FwCfgKey.NUMA);
    expect(g.insb(8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('rejects wider data reads like QEMU (0, no advance) and counts the misuse', () => {
    const { m, g } = setup();
    g.select(FwCfgKey.SIGNATURE);
    expect(g.in(FWCFG_PORT_DATA, 2)).toBe(0);
    expect(g.in(FWCFG_PORT_SELECTOR, 4)).toBe(0);
    expect(g.insb(1)).toEqual([0x51]);
    expect(m.misuse).toHaveLength(2);
  });

  it('reads all ones from the unassigned ports 0x512-0x513', () => {
    const { m, g } = setup();
    expect(g.in(0x512, 1)).toBe(0xff);
    expect(g.in(0x513, 1)).toBe(0xff);
    expect(m.misuse).toHaveLength(2);
  });
});

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

describe('DMA interface', () => {
  it('reads "QEMU CFG" from 0x514-0x51B (0x51454d5520434647 big-endian)', () => {
    const { g } = setup();
    const bytes = Array.from({ length: 8 }, (_, i) => g.in(FWCFG_PORT_DMA + i, 1));
    expect(String.fromCharCode(...bytes)).toBe('QEMU CFG');
    let be = 0n;
    for (const b of bytes) be = (be << 8n) | BigInt(b);
    expect(be).toBe(0x51454d5520434647n);
    // A 32-bit inl sees the same bytes little-endian: "QEMU" then " CFG".
    expect(g.in(FWCFG_PORT_DMA, 4)).toBe(0x554d4551);
    expect(g.in(FWCFG_PORT_DMA + 4, 4)).toBe(0x47464320);
  });

  it('selects and reads a whole file in one descriptor, writing control 0 back', () => {
    const { m, fw, g } = setup();
    const content = seq(40);
    const key = fw.addFile('etc/e820', content);
    m.mem.fill(0xaa, 0x2000, 0x2100);
    const control = g.dma(0x1000, (key << 16) | SELECT_READ, 40, 0x2000);
    expect(control).toBe(0);
    expect(hexBytes(m.mem.subarray(0x1000, 0x1010))).toBe('00 00 00 00 00 00 00 28 00 00 00 00 00 00 20 00');
    expect(Array.from(m.mem.subarray(0x2000, 0x2028))).toEqual(Array.from(content));
    expect(m.mem[0x2028]).toBe(0xaa);
    expect(fw.stats.dmaTransfers).toBe(1);
    expect(fw.stats.dmaBytes).toBe(40);
    expect(fw.stats.selectsByKey[0x20]).toBe(1);
  });

  it('continues from the offset an I/O select and port reads left (SeaBIOS mixes both)', () => {
    const { fw, g } = setup();
    fw.addFile('f', seq(16));
    g.select(0x20);
    expect(g.insb(2)).toEqual([1, 2]);
    expect(Array.from(g.read(3))).toEqual([3, 4, 5]);
    expect(g.insb(1)).toEqual([6]);
  });

  it('skips, then reads from the new offset', () => {
    const { fw, g } = setup();
    fw.addFile('f', seq(16));
    expect(g.dma(0x1000, (0x20 << 16) | FWCFG_DMA_CTL_SELECT | FWCFG_DMA_CTL_SKIP, 5, 0)).toBe(0);
    expect(Array.from(g.read(4))).toEqual([6, 7, 8, 9]);
    expect(fw.stats.dmaBytes).toBe(4);
  });

  it('zero-fills a read that runs past the end of the item, and leaves memory after it alone', () => {
    const { m, fw, g } = setup();
    fw.addFile('f', seq(6));
    m.mem.fill(0xaa, 0x2000, 0x2100);
    expect(g.dma(0x1000, (0x20 << 16) | SELECT_READ, 10, 0x2000)).toBe(0);
    expect(hexBytes(m.mem.subarray(0x2000, 0x200b))).toBe('01 02 03 04 05 06 00 00 00 00 aa');
    // Fully past the end now: all zeros.
    m.mem.fill(0xaa, 0x2000, 0x2100);
    expect(g.dma(0x1000, FWCFG_DMA_CTL_READ, 4, 0x2000)).toBe(0);
    expect(hexBytes(m.mem.subarray(0x2000, 0x2005))).toBe('00 00 00 00 aa');
  });

  it('zero-fills a read of an absent key without error (as QEMU does)', () => {
    const { m, g } = setup();
    m.mem.fill(0xaa, 0x2000, 0x2100);
    expect(g.dma(0x1000, (0x1234 << 16) | SELECT_READ, 8, 0x2000)).toBe(0);
    expect(hexBytes(m.mem.subarray(0x2000, 0x2009))).toBe('00 00 00 00 00 00 00 00 aa');
  });

  it('fails a write request to an absent or read-only key with control 1', () => {
    const { m, fw, g } = setup();
    fw.addFile('ro', seq(8));
    m.mem.set([9, 9, 9, 9], 0x2000);
    expect(g.dma(0x1000, (0x1234 << 16) | FWCFG_DMA_CTL_SELECT | FWCFG_DMA_CTL_WRITE, 4, 0x2000)).toBe(1);
    expect(hexBytes(m.mem.subarray(0x1000, 0x1004))).toBe('00 00 00 01');
    expect(g.dma(0x1000, (0x20 << 16) | FWCFG_DMA_CTL_SELECT | FWCFG_DMA_CTL_WRITE, 4, 0x2000)).toBe(1);
    expect(Array.from(g.readEntry(0x20, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(fw.stats.dmaErrors).toBe(2);
    expect(m.misuse).toEqual(['DMA write to read-only fw_cfg key 0x1234', 'DMA write to read-only fw_cfg key 0x20']);
  });

  it('writes into a file with a write handler, and fails writes past its end', () => {
    const { m, fw, g } = setup();
    fw.addFile('etc/smi/requested-features', new Uint8Array(8));
    const calls: Array<{ bytes: number[]; offset: number }> = [];
    fw.setFileWriteHandler('etc/smi/requested-features', (bytes, offset) => calls.push({ bytes: Array.from(bytes), offset }));
    m.mem.set([0xde, 0xad, 0xbe, 0xef], 0x2000);
    expect(g.dma(0x1000, (0x20 << 16) | FWCFG_DMA_CTL_SELECT | FWCFG_DMA_CTL_SKIP, 2, 0)).toBe(0);
    expect(g.dma(0x1000, FWCFG_DMA_CTL_WRITE, 4, 0x2000)).toBe(0);
    expect(calls).toEqual([{ bytes: [0xde, 0xad, 0xbe, 0xef], offset: 2 }]);
    expect(hexBytes(g.readEntry(0x20, 8))).toBe('00 00 de ad be ef 00 00');
    expect(g.dma(0x1000, (0x20 << 16) | FWCFG_DMA_CTL_SELECT | FWCFG_DMA_CTL_WRITE, 9, 0x2000)).toBe(1);
    expect(calls).toHaveLength(1);
  });

  it('prefers read over write over skip, and treats select-only as length 0', () => {
    const { m, fw, g } = setup();
    fw.addFile('f', seq(8));
    const all = FWCFG_DMA_CTL_SELECT | FWCFG_DMA_CTL_READ | FWCFG_DMA_CTL_WRITE | FWCFG_DMA_CTL_SKIP;
    expect(g.dma(0x1000, (0x20 << 16) | all, 2, 0x2000)).toBe(0);
    expect(hexBytes(m.mem.subarray(0x2000, 0x2002))).toBe('01 02');
    m.mem.fill(0xaa, 0x2000, 0x2010);
    expect(g.dma(0x1000, (0x20 << 16) | FWCFG_DMA_CTL_SELECT, 8, 0x2000)).toBe(0);
    expect(m.mem[0x2000]).toBe(0xaa);
    expect(g.insb(1)).toEqual([1]);
  });

  it('sets the error bit when the buffer is not guest memory', () => {
    const { m, fw, g } = setup();
    fw.addFile('f', seq(8));
    expect(g.dma(0x1000, (0x20 << 16) | SELECT_READ, 8, m.mem.length - 4)).toBe(1);
    expect(fw.stats.dmaErrors).toBe(1);
    expect(m.misuse[0]).toMatch(/unmapped guest memory/);
  });

  it('counts an unreadable descriptor and does not throw', () => {
    const { m, fw, g } = setup();
    g.out(FWCFG_PORT_DMA + 4, 4, 0x00_00_f0_ff); // bswap32(0xfff00000)
    expect(fw.stats.dmaErrors).toBe(1);
    expect(m.misuse).toEqual(['DMA descriptor at 0xfff00000 unreadable', 'DMA descriptor at 0xfff00000 not writable']);
  });

  it('uses the latched high half once, then reads it as 0 (SeaBIOS writes only the low half)', () => {
    const { m, fw, g } = setup();
    fw.addFile('f', seq(4));
    // High half 1: the descriptor would be at 4 GiB + 0x1000, outside guest RAM.
    g.dma(0x1000, (0x20 << 16) | SELECT_READ, 4, 0x2000, { high: 1 });
    expect(m.misuse[0]).toBe('DMA descriptor at 0x100001000 unreadable');
    expect(Array.from(g.readEntry(0x20, 4))).toEqual([1, 2, 3, 4]);
  });

  it('accepts one 8-byte big-endian address write at 0x514', () => {
    const { m, fw } = setup();
    fw.addFile('f', seq(4));
    const view = new DataView(m.mem.buffer);
    view.setUint32(0x1000, (0x20 << 16) | SELECT_READ);
    view.setUint32(0x1004, 4);
    view.setBigUint64(0x1008, 0x3000n);
    const addr = new Uint8Array(8);
    new DataView(addr.buffer).setBigUint64(0, 0x1000n);
    fw.write(FWCFG_PORT_DMA - FWCFG_PORT_SELECTOR, addr);
    expect(view.getUint32(0x1000)).toBe(0);
    expect(hexBytes(m.mem.subarray(0x3000, 0x3004))).toBe('01 02 03 04');
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

describe('stats', () => {
  it('counts selects per key, port bytes, DMA transfers and bytes', () => {
    const { fw, g } = setup();
    fw.addFile('f', seq(8));
    g.select(FwCfgKey.SIGNATURE);
    g.insb(4);
    g.select(FwCfgKey.SIGNATURE);
    g.readEntry(0x20, 8);
    g.read(8);
    expect(fw.stats).toEqual({
      selects: 3,
      ioBytesRead: 4,
      dmaTransfers: 2,
      dmaBytes: 16,
      dmaErrors: 0,
      lazyBuilds: 0,
      selectsByKey: { 0: 2, 32: 1 },
    });
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

describe('FwCfg kernel-entry milestone', () => {
  it('marks kernel-entry when the option ROM selects the kernel data, not before', () => {
    const { m, fw, g } = setup();
    fw.addItem(FwCfgKey.KERNEL_DATA, seq(16));
    g.select(FwCfgKey.KERNEL_SIZE);
    expect(m.events.filter((e) => e.event === 'milestone')).toEqual([]);
    g.select(FwCfgKey.KERNEL_DATA);
    expect(m.events.filter((e) => e.event === 'milestone')).toEqual([{ event: 'milestone', name: 'kernel-entry', detail: 'option ROM reads the kernel (fw_cfg KERNEL_DATA)' }]);
  });
  it('says nothing for a machine without a kernel', () => {
    const { m, g } = setup();
    g.select(FwCfgKey.KERNEL_DATA);
    expect(m.events).toEqual([]);
  });
});
