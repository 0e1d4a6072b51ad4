// Unit tests for the fw_cfg device's ports, counters and milestone, driven from the guest side the
// way SeaBIOS and OVMF do it (DMA in fwcfg-dma.test.ts, items and files in fwcfg-items.test.ts).

import { describe, expect, it } from 'vitest';
import { FWCFG_IO_SPAN, FWCFG_PORT_DATA, FWCFG_PORT_DMA, FWCFG_PORT_SELECTOR, FwCfgArchKey, FwCfgKey } from './fwcfg-keys.js';
import { seq, setupFwCfg as setup } from './test-guest.js';

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
