import { describe, expect, it } from 'vitest';
import { LINUX_CMDLINE_ADDR } from '../layout.js';
import { prepareLinux } from './linux-boot.js';

/** A minimal bzImage: 4 setup sectors + boot sector, "HdrS" protocol 2.15, loaded high, then a body. */
function fakeBzImage(opts: { protocol?: number; initrdMax?: number; cmdlineMax?: number } = {}): Uint8Array {
  const img = new Uint8Array(5 * 512 + 4096);
  const v = new DataView(img.buffer);
  img[0x1f1] = 4;
  v.setUint32(0x202, 0x5372_6448, true);
  v.setUint16(0x206, opts.protocol ?? 0x20f, true);
  img[0x211] = 0x01;
  v.setUint32(0x22c, opts.initrdMax ?? 0x7fff_ffff, true);
  v.setUint32(0x238, opts.cmdlineMax ?? 2047, true);
  img.fill(0xcc, 5 * 512);
  return img;
}

describe('prepareLinux', () => {
  it('splits setup and kernel and patches the header as QEMU does', () => {
    const { setup, kernel, layout } = prepareLinux({ kernel: fakeBzImage(), cmdline: 'console=ttyS0' }, 512 * 2 ** 20);
    const v = new DataView(setup.buffer);
    expect(setup.length).toBe(2560);
    expect(kernel.length).toBe(4096);
    expect(setup[0x210]).toBe(0xb0);
    expect(setup[0x211]).toBe(0x81);
    expect(v.getUint16(0x224, true)).toBe(0xfe00);
    expect(v.getUint32(0x228, true)).toBe(LINUX_CMDLINE_ADDR);
    expect(layout.cmdlineSize).toBe('console=ttyS0'.length + 1);
  });
  it('puts the initrd page-aligned at the top of what low RAM minus the ACPI room allows', () => {
    const initrd = new Uint8Array(10_000);
    const { setup, layout } = prepareLinux({ kernel: fakeBzImage(), initrd, cmdline: '' }, 512 * 2 ** 20);
    const max = 512 * 2 ** 20 - 0x28000 - 1;
    expect(layout.initrdAddr).toBe(Math.floor((max - 10_000) / 4096) * 4096);
    expect(new DataView(setup.buffer).getUint32(0x218, true)).toBe(layout.initrdAddr);
    expect(new DataView(setup.buffer).getUint32(0x21c, true)).toBe(10_000);
  });
  it('honours the header initrd_addr_max when lower', () => {
    const { layout } = prepareLinux({ kernel: fakeBzImage({ initrdMax: 0x37ff_ffff }), initrd: new Uint8Array(4096), cmdline: '' }, 2 ** 31);
    expect(layout.initrdAddr).toBe(0x37ff_e000);
  });
  it('rejects what it cannot boot, naming why', () => {
    expect(() => prepareLinux({ kernel: new Uint8Array(4096), cmdline: '' }, 2 ** 29)).toThrow(/not a bzImage \(no "HdrS"/);
    expect(() => prepareLinux({ kernel: fakeBzImage({ protocol: 0x205 }), cmdline: '' }, 2 ** 29)).toThrow(/protocol 2\.5; bootgate needs 2\.06/);
    expect(() => prepareLinux({ kernel: fakeBzImage({ cmdlineMax: 4 }), cmdline: 'console=ttyS0' }, 2 ** 29)).toThrow(/at most 4/);
  });
});
