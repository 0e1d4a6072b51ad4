import { describe, expect, it } from 'vitest';
import { checkLinuxBars, formatLinuxVerdict, guestPhysBits, IORESOURCE_UNSET, LINUX_BAR, linuxBarFailures, linuxBarsOf } from './linux-bar-check.js';
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
  it('assigned, not kept: where firmware had put it is not recorded (no firstDecoded), so keeping and moving look alike', () => {
    const bar = { ...dev(0, GiB, 2 * GiB, null), firstDecoded: undefined };
    const [v] = checkLinuxBars([bar], linuxBarsOf([pci([[0, h(2 * GiB), h(3 * GiB - 1), '0x14220c']])]), [], machine);
    expect(v!.verdict).toBe('assigned');
    expect(linuxBarFailures([v!], ['kept'], { physBits: 36 }).map((f) => f.message)).toEqual([`expected kept: ${formatLinuxVerdict(v!)}`]);
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

describe('linuxBarFailures', () => {
  const kept = checkLinuxBars([dev(0, 32 * GiB, 32 * GiB, 32 * GiB)], linuxBarsOf([pci([[0, h(32 * GiB), h(64 * GiB - 1), '0x14220c']])]), [], { ...machine, physBits: 40 });
  it('passes the expected verdicts and the configured width', () => {
    expect(linuxBarFailures(kept, ['kept'], { physBits: 40, configured: 40 })).toEqual([]);
  });
  it('names every BAR whose verdict is not the expected one, with its verdict line', () => {
    const linux = linuxBarsOf([pci([[0, h(0), h(64 * GiB - 1), `0x${(IORESOURCE_UNSET | 0x14220c).toString(16)}`]])]);
    const trouble = ["[    0.5] pci 0000:00:02.0: BAR 0: can't claim; no compatible bridge window"];
    const refused = checkLinuxBars([dev(0, 64 * GiB, 64 * GiB, 64 * GiB)], linux, trouble, { ...machine, physBits: 40 }, 36);
    expect(linuxBarFailures(refused, ['kept'], { physBits: 36, configured: 40 })).toEqual([
      {
        assertion: LINUX_BAR.verdicts,
        message: "expected kept: 00:02.0 bar0 mem64pref 64G linux=0x0 unassigned: Linux could not place it; dmesg: [    0.5] pci 0000:00:02.0: BAR 0: can't claim; no compatible bridge window",
      },
      { assertion: LINUX_BAR.width, message: "the guest's kernel reports 36-bit physical addresses (CPUID 0x80000008), --phys-bits was 40" },
    ]);
  });
  it('judges the width by what the guest reported, not by what the VMM says', () => {
    const v = checkLinuxBars([dev(0, 32 * GiB, 64 * GiB, 64 * GiB)], linuxBarsOf([pci([[0, h(64 * GiB), h(96 * GiB - 1), '0x14220c']])]), [], { ...machine, physBits: 40 }, 36);
    expect(v[0]!.verdict).toBe('beyond-phys-bits');
    expect(v[0]!.detail).toMatch(/beyond the guest's 36-bit physical address width/);
    expect(guestPhysBits([{ event: 'init', boot: 1, physBits: 36 }])).toBe(36);
    expect(guestPhysBits([{ event: 'init', boot: 1, physBits: null }])).toBeUndefined();
  });
  it('names a missing BAR', () => {
    expect(linuxBarFailures([], ['kept', 'kept'], { physBits: undefined })[0]?.message).toBe('0 test-device BARs judged, expected 2');
  });
});
