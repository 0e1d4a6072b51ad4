// Unit tests for the `pc` firmware-only fw_cfg items, read back the way SeaBIOS 1.16.2 reads them.

import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../errors.js';
import { GiB, MiB } from '../../layout.js';
import { parseE820 } from './e820.js';
import { FwCfg } from './fwcfg.js';
import { FwCfgArchKey, FwCfgKey } from './fwcfg-keys.js';
import { encodeBootorder, encodePciMmio64Mb, populatePcFwCfg } from './pc-items.js';
import { fakeMachine, Guest, hexBytes } from './test-guest.js';

function machine() {
  const m = fakeMachine();
  const fw = new FwCfg(m.services);
  return { m, fw, g: new Guest(fw, m) };
}

/** SeaBIOS qemu_cfg_init + qemu_early_e820: read the directory entry by entry with DMA. */
function readDirectory(g: Guest): Map<string, { select: number; size: number }> {
  const count = new DataView(g.readEntry(FwCfgKey.FILE_DIR, 4).buffer).getUint32(0);
  const files = new Map<string, { select: number; size: number }>();
  for (let i = 0; i < count; i++) {
    const e = g.read(64);
    const view = new DataView(e.buffer);
    const name = String.fromCharCode(...e.subarray(8, 8 + e.subarray(8).indexOf(0)));
    files.set(name, { select: view.getUint16(4), size: view.getUint32(0) });
  }
  return files;
}

describe('populatePcFwCfg', () => {
  it('exposes what QEMU 7.2 pc exposes for a 2-vCPU 1 GiB nographic boot', () => {
    const { fw, g } = machine();
    populatePcFwCfg(fw, {
      cpus: 2,
      maxCpus: 4,
      ramBelow4G: GiB,
      ramAbove4G: 0,
      nographic: true,
      bootorder: ['/rom@genroms/linuxboot_dma.bin'],
      bootFailWaitMs: -1,
    });
    expect(fw.files()).toEqual(['bootorder', 'etc/boot-fail-wait', 'etc/e820', 'etc/system-states']);

    g.select(FwCfgKey.SIGNATURE);
    expect(String.fromCharCode(...g.insb(4))).toBe('QEMU');
    expect(hexBytes(g.readEntry(FwCfgKey.ID, 4))).toBe('03 00 00 00');
    expect(hexBytes(g.readEntry(FwCfgKey.NB_CPUS, 2))).toBe('02 00');
    expect(hexBytes(g.readEntry(FwCfgKey.MAX_CPUS, 2))).toBe('04 00');
    expect(hexBytes(g.readEntry(FwCfgKey.RAM_SIZE, 8))).toBe('00 00 00 40 00 00 00 00');
    expect(hexBytes(g.readEntry(FwCfgKey.NOGRAPHIC, 2))).toBe('01 00');
    expect(hexBytes(g.readEntry(FwCfgArchKey.IRQ0_OVERRIDE, 4))).toBe('01 00 00 00');
    expect(hexBytes(g.readEntry(FwCfgKey.BOOT_MENU, 2))).toBe('00 00');

    const dir = readDirectory(g);
    expect([...dir.entries()]).toEqual([
      ['bootorder', { select: 0x20, size: 31 }],
      ['etc/boot-fail-wait', { select: 0x21, size: 4 }],
      ['etc/e820', { select: 0x22, size: 40 }],
      ['etc/system-states', { select: 0x23, size: 6 }],
    ]);
    const bootorder = g.readEntry(0x20, 31);
    expect(String.fromCharCode(...bootorder)).toBe('/rom@genroms/linuxboot_dma.bin\0');
    expect(hexBytes(g.readEntry(0x21, 4))).toBe('ff ff ff ff');
    expect(hexBytes(g.readEntry(0x23, 6))).toBe('80 00 00 81 82 80');

    // qemu_early_e820: select by port, then read 20-byte entries from the current offset.
    g.select(0x22);
    const e820 = new Uint8Array([...g.read(20), ...g.read(20)]);
    expect(parseE820(e820)).toEqual([
      { addr: 0xfeff_c000, len: 0x4000, type: 2 },
      { addr: 0, len: 0x4000_0000, type: 1 },
    ]);
  });

  it('adds only the required files when bootorder/boot-fail-wait are absent; RAM_SIZE is the total', () => {
    const { fw, g } = machine();
    populatePcFwCfg(fw, { cpus: 1, maxCpus: 1, ramBelow4G: 0xe000_0000, ramAbove4G: 2 * GiB, nographic: false, irq0Override: false });
    expect(fw.files()).toEqual(['etc/e820', 'etc/system-states']);
    expect(hexBytes(g.readEntry(FwCfgKey.RAM_SIZE, 8))).toBe('00 00 00 60 01 00 00 00');
    expect(hexBytes(g.readEntry(FwCfgKey.NOGRAPHIC, 2))).toBe('00 00');
    expect(hexBytes(g.readEntry(FwCfgArchKey.IRQ0_OVERRIDE, 4))).toBe('00 00 00 00');
    expect(readDirectory(g).get('etc/e820')).toEqual({ select: 0x20, size: 60 });
  });

  it('encodes boot-fail-wait milliseconds little-endian', () => {
    const { fw, g } = machine();
    populatePcFwCfg(fw, { cpus: 1, maxCpus: 1, ramBelow4G: 512 * MiB, ramAbove4G: 0, nographic: true, bootFailWaitMs: 5000 });
    expect(hexBytes(g.readEntry(fw.fileKey('etc/boot-fail-wait')!, 4))).toBe('88 13 00 00');
  });

  it('rejects bad options', () => {
    const base = { cpus: 2, maxCpus: 2, ramBelow4G: GiB, ramAbove4G: 0, nographic: true };
    expect(() => populatePcFwCfg(machine().fw, { ...base, cpus: 0 })).toThrow(BootgateError);
    expect(() => populatePcFwCfg(machine().fw, { ...base, maxCpus: 1 })).toThrow(/maxCpus/);
    expect(() => populatePcFwCfg(machine().fw, { ...base, bootorder: [] })).toThrow(/bootorder/);
    expect(() => populatePcFwCfg(machine().fw, { ...base, bootFailWaitMs: -2 })).toThrow(/bootFailWaitMs/);
    expect(() => populatePcFwCfg(machine().fw, { ...base, ramBelow4G: 0xf000_0000 })).toThrow(/ramBelow4G/);
  });
});

describe('encodeBootorder', () => {
  it('joins with newlines and ends with one NUL', () => {
    expect(hexBytes(encodeBootorder(['/a@1', 'HALT']))).toBe('2f 61 40 31 0a 48 41 4c 54 00');
  });

  it('rejects entries with spaces or newlines', () => {
    expect(() => encodeBootorder(['a b'])).toThrow(BootgateError);
    expect(() => encodeBootorder(['a\nb'])).toThrow(BootgateError);
  });
});

describe('encodePciMmio64Mb (opt/ovmf/X-PciMmio64Mb)', () => {
  it('is the decimal MiB count as ASCII, no NUL, as QEMU stores -fw_cfg string=', () => {
    expect([...encodePciMmio64Mb(65536)]).toEqual([...'65536'].map((c) => c.charCodeAt(0)));
    expect(encodePciMmio64Mb(1)).toHaveLength(1);
  });
  it('refuses a size that is not a positive integer, naming it', () => {
    expect(() => encodePciMmio64Mb(0)).toThrow(BootgateError);
    expect(() => encodePciMmio64Mb(1.5)).toThrow(/pciMmio64Mb/);
  });
});
