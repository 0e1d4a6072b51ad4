import { describe, expect, it } from 'vitest';
import { checkLinuxBars, formatLinuxVerdict, IORESOURCE_UNSET, linuxBarsOf } from './linux-bar-check.js';
import type { ProbeEvent } from './probe.js';

const GiB = 2 ** 30;
const machine = { physBits: 36, ram: [{ start: 0, end: GiB }] };
const dev = (index: number, size: number, address: number, firstDecoded: number | null, decoded = true) => ({
  bdf: '00:02.0',
  index,
  kind: 'mem64' as const,
  prefetchable: true,
  size,
  address,
  decoded,
  firstDecoded,
});
const pci = (bars: Array<[number, string, string, string]>): ProbeEvent => ({ event: 'pci', bdf: '0000:00:02.0', id: '0x1b36:0x0005', bars });
const h = (n: number) => `0x${n.toString(16).padStart(16, '0')}`;

describe('linuxBarsOf', () => {
  it("reads the probe's resource lines of the test devices only", () => {
    const events = [pci([[0, h(32 * GiB), h(64 * GiB - 1), '0x000000000014220c']]), { event: 'pci', bdf: '0000:00:00.0', id: '0x8086:0x1237', bars: [] }];
    expect(linuxBarsOf(events)).toEqual([{ bdf: '00:02.0', index: 0, start: 32 * GiB, end: 64 * GiB - 1, flags: 0x14220c }]);
  });
});

describe('checkLinuxBars', () => {
  it("kept: Linux uses the firmware's address and the device decodes there", () => {
    const [v] = checkLinuxBars([dev(0, 32 * GiB, 32 * GiB, 32 * GiB)], linuxBarsOf([pci([[0, h(32 * GiB), h(64 * GiB - 1), '0x14220c']])]), [], { ...machine, physBits: 40 });
    expect(v!.verdict).toBe('kept');
  });
  it('moved: Linux reassigned it and the device followed', () => {
    const [v] = checkLinuxBars([dev(0, GiB, 2 * GiB, 3 * GiB)], linuxBarsOf([pci([[0, h(2 * GiB), h(3 * GiB - 1), '0x14220c']])]), [], machine);
    expect(v!.verdict).toBe('moved');
    expect(v!.detail).toBe('firmware had 0xc0000000, Linux moved it to 0x80000000');
  });
  it("unassigned: IORESOURCE_UNSET, with Linux's own dmesg reason", () => {
    const linux = linuxBarsOf([pci([[2, h(0), h(32 * GiB - 1), `0x${(IORESOURCE_UNSET | 0x14220c).toString(16)}`]])]);
    const trouble = ['[    0.5] pci 0000:00:02.0: BAR 2: no space for [mem size 0x800000000 64bit pref]', '[    0.6] pci 0000:00:03.0: BAR 2: no space for [mem size 0x1000]'];
    const [v] = checkLinuxBars([dev(2, 32 * GiB, 64 * GiB, 64 * GiB)], linux, trouble, machine);
    expect(v!.verdict).toBe('unassigned');
    expect(v!.detail).toBe('Linux could not place it; dmesg: [    0.5] pci 0000:00:02.0: BAR 2: no space for [mem size 0x800000000 64bit pref]');
  });
  it('disagree: Linux believes in an address the device does not decode', () => {
    const [v] = checkLinuxBars([dev(0, GiB, 2 * GiB, 2 * GiB, false)], linuxBarsOf([pci([[0, h(2 * GiB), h(3 * GiB - 1), '0x14220c']])]), [], machine);
    expect(formatLinuxVerdict(v!)).toBe('00:02.0 bar0 mem64pref 1G linux=0x80000000 disagree: Linux uses 0x80000000, the device does not decode it');
  });
  it('beyond-phys-bits: Linux kept a BAR the guest cannot address', () => {
    const [v] = checkLinuxBars([dev(0, 32 * GiB, 64 * GiB, 64 * GiB)], linuxBarsOf([pci([[0, h(64 * GiB), h(96 * GiB - 1), '0x14220c']])]), [], machine);
    expect(v!.verdict).toBe('beyond-phys-bits');
  });
  it('unassigned when Linux lists no resource at all', () => {
    expect(checkLinuxBars([dev(0, GiB, 2 * GiB, 2 * GiB)], [], [], machine)[0]!.verdict).toBe('unassigned');
  });
});
