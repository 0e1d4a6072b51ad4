// Unit tests for fw_cfg's DMA interface, with descriptors built the way SeaBIOS and OVMF build them.

import { describe, expect, it } from 'vitest';
import { FWCFG_DMA_CTL_READ, FWCFG_DMA_CTL_SELECT, FWCFG_DMA_CTL_SKIP, FWCFG_DMA_CTL_WRITE, FWCFG_PORT_DMA, FWCFG_PORT_SELECTOR } from './fwcfg-keys.js';
import { hexBytes, seq, setupFwCfg as setup } from './test-guest.js';

const SELECT_READ = FWCFG_DMA_CTL_SELECT | FWCFG_DMA_CTL_READ;

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
