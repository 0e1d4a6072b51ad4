import { describe, expect, it } from 'vitest';
import { BIOS_LOW_BASE, BIOS_LOW_SIZE } from '../layout.js';
import { LowBiosLoader, MissingHighCopy } from './low-bios-loader.js';

describe('LowBiosLoader (vmd-low-bios-only)', () => {
  const firmware = Uint8Array.from({ length: 256 * 1024 }, (_, i) => (i * 7) & 0xff);

  it("loads the image's last 128 KiB at 0xE0000 at power-on and again at every reset", () => {
    const writes: Array<[number, Uint8Array]> = [];
    const loader = new LowBiosLoader({ writeGuest: (gpa, bytes) => writes.push([gpa, bytes.slice()]) }, firmware);
    loader.reset();
    expect(writes.map(([gpa, b]) => [gpa, b.length])).toEqual([
      [BIOS_LOW_BASE, BIOS_LOW_SIZE],
      [BIOS_LOW_BASE, BIOS_LOW_SIZE],
    ]);
    expect(writes[0]![1]).toEqual(firmware.subarray(firmware.length - BIOS_LOW_SIZE));
  });

  it('puts a 64 KiB image at 0xF0000, ending at 1 MiB', () => {
    const writes: number[] = [];
    new LowBiosLoader({ writeGuest: (gpa) => writes.push(gpa) }, firmware.subarray(0, 64 * 1024));
    expect(writes).toEqual([0xf0000]);
  });
});

describe('MissingHighCopy (vmd-low-bios-only)', () => {
  it("ends the run on any access, naming the address and the quirk", () => {
    const region = new MissingHighCopy(0xfffe_0000);
    expect(() => region.read(0x1_fff0)).toThrow(/guest read gpa 0xfffffff0 in the firmware's high copy \(0xfffe0000-0xffffffff\), which vmd-low-bios-only does not map/);
    expect(() => region.write(0)).toThrow(/guest write gpa 0xfffe0000/);
  });
});
