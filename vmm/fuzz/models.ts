// What the fuzzer throws at each device model: fast-check generators of well-formed guest actions.
// Every model mixes plain accesses of every size at every offset of the device's bus ranges (found
// on the assembled machine by name, so a range the device adds later is fuzzed too) with the
// structured sequences its protocol has: the CMOS index dance, i8042 command bytes and their data,
// fw_cfg selection and DMA descriptors at the edges of RAM, PCI configuration cycles that size and
// move BARs and flip decode bits, CFI01 command sequences in every mode, IDE taskfiles and
// bus-master DMA with guest-built PRD tables. A little PCI configuration and the odd machine reset
// are mixed into every model, so devices are also fuzzed while their BARs move and across resets.

import fc from 'fast-check';
import type { BusRange } from '../bus/bus.js';
import { FOUR_GIB } from '../layout.js';
import { FUZZ_RAM_ABOVE_4G, FUZZ_RAM_BELOW_4G, type FuzzLayout, FuzzPc } from './fuzz-pc.js';
import type { Op } from './ops.js';

export interface DeviceModel {
  /** The device model's name, as `npm run fuzz -- --device` takes it. */
  name: string;
  layout: FuzzLayout;
  /** Bus-range names (machine/pc-devices.ts) that belong to the model. */
  ranges: RegExp;
  /** Structured sequences beyond plain accesses to the ranges. */
  sequences?: (ranges: BusRange[]) => Array<fc.Arbitrary<Op[]>>;
}

type Size = 1 | 2 | 4;
type MmioSize = 1 | 2 | 4 | 8;

const byte = fc.oneof(fc.constantFrom(0x00, 0xff, 0x80, 0x01, 0x7f), fc.integer({ min: 0, max: 0xff }));
const u32 = fc.oneof(fc.constantFrom(0, 0xffff_ffff, 0x8000_0000, 1, 0xffff), fc.integer({ min: 0, max: 0xffff_ffff }));

function valueFor(size: MmioSize): fc.Arbitrary<number> {
  if (size === 1) return byte;
  if (size === 8) return fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER, 0xffff_ffff), fc.integer({ min: 0, max: 0xffff_ffff }));
  return u32.map((v) => (size === 2 ? v & 0xffff : v));
}

/** Offsets in a range: the first registers most often, the last bytes (accesses that run past the end), anywhere. */
function offsetIn(span: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: Math.min(span, 0x40) - 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: Math.max(0, span - 8), max: span - 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: span - 1 }) },
  );
}

/** A read or write of any size at any offset of one of `ranges`. */
function accessTo(ranges: BusRange[], pio: boolean): fc.Arbitrary<Op[]> {
  const sizes: MmioSize[] = pio ? [1, 2, 4] : [1, 2, 4, 8];
  return fc.constantFrom(...ranges).chain((r) =>
    fc.tuple(offsetIn(r.span), fc.constantFrom(...sizes), fc.boolean()).chain(([off, size, write]) => {
      const at = r.base + off;
      if (!write) return fc.constant([pio ? { k: 'in' as const, port: at, size: size as Size } : { k: 'mmio-read' as const, gpa: at, size }]);
      return valueFor(size).map((value): Op[] => [pio ? { k: 'out', port: at, size: size as Size, value } : { k: 'mmio-write', gpa: at, size, value }]);
    }),
  );
}

const PRESENT_FUNCTIONS: Array<[number, number]> = [
  [0, 0],
  [1, 0],
  [1, 1],
  [1, 3],
  [2, 0],
  [3, 0],
  [0x1f, 0],
];

/** PCI configuration cycles: header registers and BARs most often, any register, any function. */
function configCycles(functions: Array<[number, number]> = PRESENT_FUNCTIONS, hot: number[] = []): fc.Arbitrary<Op[]> {
  const fnArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...functions) }, { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 7 })) });
  const regArb = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(0x00, 0x04, 0x06, 0x0c, 0x0e, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x30, 0x34, 0x3c, 0x3d, ...hot) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xff }) },
  );
  return fc.tuple(fnArb, regArb, fc.constantFrom<Size>(1, 2, 4), fc.boolean(), u32).map(([[dev, fn], reg, size, write, v]): Op[] => {
    const value = size === 4 ? v : v & (size === 2 ? 0xffff : 0xff);
    return [write ? { k: 'cfg-write', dev, fn, reg, size, value } : { k: 'cfg-read', dev, fn, reg, size }];
  });
}

/** BAR sizing and moving as firmware and OSes do it: all ones, read back, a new base, decode on or off. */
function barDance(dev: number, fn: number, bars: number): fc.Arbitrary<Op[]> {
  return fc.tuple(fc.integer({ min: 0, max: bars - 1 }), u32, fc.integer({ min: 0, max: 7 })).map(([bar, base, cmd]): Op[] => {
    const reg = 0x10 + 4 * bar;
    return [
      { k: 'cfg-write', dev, fn, reg: 0x04, size: 2, value: 0 },
      { k: 'cfg-write', dev, fn, reg, size: 4, value: 0xffff_ffff },
      { k: 'cfg-read', dev, fn, reg, size: 4 },
      { k: 'cfg-write', dev, fn, reg, size: 4, value: base },
      { k: 'cfg-write', dev, fn, reg: 0x04, size: 2, value: cmd },
    ];
  });
}

/** Guest-physical addresses where DMA bugs live: RAM's ends, the hole, MMIO, 4 GiB, high RAM's end, far away. */
export const DMA_EDGES = [
  0,
  0x1000,
  FUZZ_RAM_BELOW_4G - 16,
  FUZZ_RAM_BELOW_4G - 8,
  FUZZ_RAM_BELOW_4G - 1,
  FUZZ_RAM_BELOW_4G,
  0xe000_0000,
  0xfec0_0000,
  0xfee0_0000,
  FOUR_GIB - 16,
  FOUR_GIB - 1,
  FOUR_GIB,
  FOUR_GIB + FUZZ_RAM_ABOVE_4G - 16,
  FOUR_GIB + FUZZ_RAM_ABOVE_4G - 1,
  FOUR_GIB + FUZZ_RAM_ABOVE_4G,
  2 ** 52,
];

const gpaArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...DMA_EDGES) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: FUZZ_RAM_BELOW_4G - 1 }) },
  { weight: 1, arbitrary: u32 },
);

function fwcfgSequences(): Array<fc.Arbitrary<Op[]>> {
  const key = fc.oneof(fc.constantFrom(0x00, 0x01, 0x05, 0x0f, 0x19, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x4000, 0x8000, 0xffff), fc.integer({ min: 0, max: 0xffff }));
  const select = fc.tuple(key, fc.integer({ min: 0, max: 24 })).map(([k, reads]): Op[] => [
    { k: 'out', port: 0x510, size: 2, value: k },
    ...Array.from({ length: reads }, (): Op => ({ k: 'in', port: 0x511, size: 1 })),
  ]);
  const control = fc.oneof(fc.constantFrom(0x02, 0x04, 0x08, 0x10, 0x0a, 0x190008 >>> 0, 0x00190002, 0x00200002, 0x00250010), u32);
  const length = fc.oneof(fc.constantFrom(0, 1, 4, 16, 0x1000, 0x10000, 0xffff_ffff), fc.integer({ min: 0, max: 0x2000 }));
  const high = fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1, 0xffff_ffff, 0x10_0000) });
  const dma = fc.tuple(gpaArb, control, length, gpaArb, high).map(([at, ctl, len, addr, hi]): Op[] => [
    { k: 'fwcfg-dma', at, control: ctl, length: len, addressHigh: hi || Math.floor(addr / FOUR_GIB) >>> 0, addressLow: addr >>> 0 },
  ]);
  return [select, dma];
}

function ideSequences(): Array<fc.Arbitrary<Op[]>> {
  const prd = fc.record({
    gpa: gpaArb,
    bytes: fc.oneof(fc.constantFrom(0, 1, 2, 510, 512, 4096, 0xfffe, 0xffff), fc.integer({ min: 0, max: 0xffff })),
    last: fc.boolean(),
  });
  const dma = fc
    .tuple(fc.constantFrom<0 | 1>(0, 1), gpaArb, fc.array(prd, { maxLength: 6 }), fc.boolean(), fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 255 }))
    .map(([channel, table, prds, toMemory, lba, sectors]): Op[] => [{ k: 'ide-dma', channel, table, prds, toMemory, lba, sectors }]);
  // Well-formed transfers too, so the completion path (data into RAM, interrupt, status) is fuzzed,
  // not only the refusals: 1-8 sectors inside the 64-sector disk, PRDs exactly covering them in RAM.
  const goodDma = fc
    .tuple(fc.constantFrom<0 | 1>(0, 0, 1), fc.integer({ min: 0, max: 0x1000 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 56 }), fc.boolean(), fc.integer({ min: 1, max: 4 }))
    .map(([channel, page, sectors, lba, toMemory, pieces]): Op[] => {
      const bytes = sectors * 512;
      const each = Math.ceil(bytes / pieces / 2) * 2;
      const prds = [];
      for (let done = 0, i = 0; done < bytes; i++) {
        const n = Math.min(each, bytes - done);
        prds.push({ gpa: 0x10_0000 + page * 0x100 + done + i * 2, bytes: n, last: done + n >= bytes });
        done += n;
      }
      return [{ k: 'ide-dma', channel, table: 0x8000 + (page & 0xff) * 0x40, prds, toMemory, lba, sectors }];
    });
  const commands = [0x00, 0x08, 0x20, 0x24, 0x25, 0x29, 0x30, 0x34, 0x35, 0x39, 0x40, 0x90, 0x91, 0xa0, 0xa1, 0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0xe0, 0xe1, 0xe7, 0xec, 0xef, 0xf8];
  const taskfile = fc
    .tuple(fc.constantFrom(0x1f0, 0x170), fc.array(byte, { minLength: 6, maxLength: 6 }), fc.oneof(fc.constantFrom(...commands), byte), fc.integer({ min: 0, max: 64 }), fc.constantFrom<Size>(2, 4))
    .map(([base, regs, cmd, pio, size]): Op[] => [
      ...regs.map((value, i): Op => ({ k: 'out', port: base + 1 + i, size: 1, value })),
      { k: 'out', port: base + 7, size: 1, value: cmd },
      ...Array.from({ length: pio }, (_, i): Op => (i % 2 ? { k: 'in', port: base, size } : { k: 'out', port: base, size, value: i * 0x01010101 })),
      { k: 'in', port: base + 7, size: 1 },
    ]);
  return [dma, goodDma, taskfile, barDance(1, 1, 6)];
}

function cfiSequences(ranges: BusRange[]): Array<fc.Arbitrary<Op[]>> {
  const flash = ranges.filter((r) => r.device.name.startsWith('pflash'));
  const at = fc.constantFrom(...flash).chain((r) =>
    fc.oneof(fc.integer({ min: 0, max: r.span / 0x1000 - 1 }).map((b) => r.base + b * 0x1000), fc.integer({ min: 0, max: r.span - 1 }).map((o) => r.base + o)),
  );
  const cmd = fc.oneof(fc.constantFrom(0x00, 0x10, 0x20, 0x40, 0x50, 0x60, 0x70, 0x90, 0x98, 0xd0, 0xe8, 0xff, 0x01, 0x2f, 0xb0), byte);
  const size = fc.constantFrom<MmioSize>(1, 1, 1, 2, 4, 8);
  const one = fc.tuple(at, cmd, size, fc.integer({ min: 0, max: 3 })).map(([gpa, c, s, reads]): Op[] => [
    { k: 'mmio-write', gpa, size: s, value: c },
    ...Array.from({ length: reads }, (): Op => ({ k: 'mmio-read', gpa, size: 1 })),
  ]);
  const program = fc.tuple(at, fc.constantFrom(0x10, 0x40), byte).map(([gpa, c, data]): Op[] => [
    { k: 'mmio-write', gpa, size: 1, value: c },
    { k: 'mmio-write', gpa, size: 1, value: data },
    { k: 'mmio-read', gpa, size: 1 },
    { k: 'mmio-write', gpa, size: 1, value: 0xff },
  ]);
  const erase = fc.tuple(at, at, fc.constantFrom(0xd0, 0xff, 0x00)).map(([a, b, confirm]): Op[] => [
    { k: 'mmio-write', gpa: a, size: 1, value: 0x20 },
    { k: 'mmio-write', gpa: b, size: 1, value: confirm },
    { k: 'mmio-read', gpa: a, size: 1 },
  ]);
  return [one, program, erase];
}

export const DEVICE_MODELS: DeviceModel[] = [
  { name: 'uart16550', layout: 'seabios', ranges: /^uart16550$/ },
  {
    name: 'cmos-rtc',
    layout: 'seabios',
    ranges: /^cmos-rtc$/,
    sequences: () => [
      fc
        .tuple(fc.oneof(fc.constantFrom(0x00, 0x0a, 0x0b, 0x0c, 0x0d, 0x0f, 0x10, 0x14, 0x32, 0x5f, 0x80, 0x8d, 0xff), byte), fc.option(byte))
        .map(([index, write]): Op[] => [{ k: 'out', port: 0x70, size: 1, value: index }, write === null ? { k: 'in', port: 0x71, size: 1 } : { k: 'out', port: 0x71, size: 1, value: write }]),
    ],
  },
  {
    name: 'i8042',
    layout: 'seabios',
    ranges: /^i8042$/,
    sequences: () => [
      fc
        .tuple(fc.oneof(fc.constantFrom(0x20, 0x60, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xad, 0xae, 0xc0, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xf0, 0xfc, 0xfe, 0xff), byte), fc.option(byte), fc.integer({ min: 0, max: 3 }))
        .map(([cmd, data, reads]): Op[] => [
          { k: 'out', port: 0x64, size: 1, value: cmd },
          ...(data === null ? [] : [{ k: 'out' as const, port: 0x60, size: 1 as const, value: data }]),
          ...Array.from({ length: reads }, (_, i): Op => ({ k: 'in', port: i % 2 ? 0x64 : 0x60, size: 1 })),
        ]),
      fc.constantFrom(0xff, 0xf4, 0xf5, 0xed, 0xf3, 0xf2, 0xee, 0xf0).map((c): Op[] => [{ k: 'out', port: 0x60, size: 1, value: c }, { k: 'in', port: 0x60, size: 1 }]),
    ],
  },
  { name: 'legacy-ports', layout: 'seabios', ranges: /^(post-code|port92|isa-debug-exit|debugcon|reset-control)$/ },
  { name: 'fw_cfg', layout: 'seabios', ranges: /^fw_cfg$/, sequences: fwcfgSequences },
  {
    name: 'pci-config',
    layout: 'seabios',
    ranges: /^pci-conf-(idx|data)$/,
    sequences: () => [configCycles(), barDance(2, 0, 4), barDance(3, 0, 1), barDance(0x1f, 0, 1)],
  },
  {
    name: 'piix4-pm',
    layout: 'seabios',
    ranges: /^piix4-(pm|gpe0)$/,
    sequences: () => [
      configCycles([[1, 3]], [0x40, 0x41, 0x58, 0x5b, 0x80, 0x90, 0xd2]),
      fc.tuple(fc.integer({ min: 0, max: 7 }), fc.boolean()).map(([typ, en]): Op[] => [{ k: 'out', port: 0x604, size: 2, value: (typ << 10) | (en ? 0x2000 : 0) | 1 }]),
    ],
  },
  { name: 'piix-ide', layout: 'seabios', ranges: /^piix3-ide/, sequences: ideSequences },
  {
    name: 'memory-map',
    layout: 'seabios',
    ranges: /^(pam-area|firmware-high)$/,
    sequences: () => [configCycles([[0, 0]], [0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x72])],
  },
  { name: 'cfi01', layout: 'ovmf', ranges: /^pflash-/, sequences: cfiSequences },
  {
    name: 'irq-test',
    layout: 'seabios',
    ranges: /^irq-test@/,
    sequences: (ranges) => {
      const base = ranges.find((r) => r.device.name.startsWith('irq-test'))!.base;
      return [
        fc
          .tuple(fc.integer({ min: 0, max: 10 }), fc.oneof(fc.integer({ min: 0, max: 70 }), u32))
          .map(([reg, value]): Op[] => [{ k: 'mmio-write', gpa: base + 4 * reg, size: 4, value }, { k: 'mmio-read', gpa: base + 0x18, size: 4 }]),
        configCycles([[0x1f, 0]], [0x40, 0x42, 0x44, 0x48, 0x4c, 0x50, 0x54]),
        barDance(0x1f, 0, 1),
      ];
    },
  },
  { name: 'pci-test', layout: 'seabios', ranges: /^pci-test@/, sequences: () => [barDance(2, 0, 4), barDance(3, 0, 1)] },
];

/** The op generator for one model, from the ranges of a machine set up as firmware leaves it. */
export function opsFor(model: DeviceModel): fc.Arbitrary<Op[]> {
  const pc = new FuzzPc(model.layout);
  try {
    pc.setupLikeFirmware();
    const pio = pc.pc.machine.pio.list().filter((r) => model.ranges.test(r.device.name));
    const mmio = pc.pc.machine.mmio.list().filter((r) => model.ranges.test(r.device.name));
    const all = [...pio, ...mmio];
    const parts: Array<{ weight: number; arbitrary: fc.Arbitrary<Op[]> }> = [];
    if (pio.length) parts.push({ weight: 8, arbitrary: accessTo([...pio], true) });
    if (mmio.length) parts.push({ weight: 8, arbitrary: accessTo([...mmio], false) });
    for (const s of model.sequences?.(all) ?? []) parts.push({ weight: 6, arbitrary: s });
    parts.push({ weight: 1, arbitrary: configCycles() });
    parts.push({ weight: 1, arbitrary: fc.constant<Op[]>([{ k: 'reset' }]) });
    if (parts.length < 3) throw new Error(`fuzz model ${model.name}: no bus range matches ${model.ranges}`);
    return fc.oneof(...parts);
  } finally {
    pc.close();
  }
}
