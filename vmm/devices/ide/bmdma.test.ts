// Bus-master DMA driven as Linux's ata_bmdma_setup / ata_bmdma_start / ata_bmdma_port_intr do it:
// PRD table pointer, direction, clear status, task file and command, start; on the interrupt read
// BM status, stop, read the ATA status, write the BM status back to clear it.
import { describe, expect, it } from 'vitest';
import { AtaDrive } from './ata-drive.js';
import { MemoryBackend, SECTOR_SIZE } from './block-backend.js';
import { PCI_COMMAND, PCI_COMMAND_IO } from '../pci/pci-function.js';
import { BMIBA, patternDisk, type TestPc, testPc } from './test-pc.js';

const P = 0x1f0;
const STATUS = P + 7;
const ERR = P + 1;
const BM_CMD = BMIBA;
const BM_STATUS = BMIBA + 2;
const BM_PRD = BMIBA + 4;
const READY = 0x50;
const ABORTED = 0x41;
const BM_ACTIVE = 0x01;
const BM_ERROR = 0x02;
const BM_INT = 0x04;
const EOT = 0x8000_0000;
/** 1 MiB + 32 KiB: RAM ends off a 64 KiB boundary, so a table can run off it before reaching one. */
const RAM_SIZE = 0x10_8000;
const TABLE = 0x1000;

type Prd = [base: number, count: number, eot?: boolean];

function writePrds(pc: TestPc, at: number, prds: readonly Prd[]): void {
  const view = new DataView(pc.machine.ram.buffer);
  prds.forEach(([base, count, eot], i) => {
    view.setUint32(at + 8 * i, base, true);
    view.setUint32(at + 8 * i + 4, (count & 0xffff) | (eot ? EOT : 0), true);
  });
}

const isRead = (cmd: number) => cmd === 0xc8 || cmd === 0x25;
const isExt = (cmd: number) => cmd === 0x25 || cmd === 0x35;

interface DmaOptions {
  table?: number;
  /** Start the bus master before writing the command (the other order some drivers use). */
  startFirst?: boolean;
  /** Program the opposite direction in the BM command register. */
  wrongDirection?: boolean;
}

/** Issue a DMA command as libata does; returns what its interrupt handler sees. */
function dma(pc: TestPc, cmd: number, lba: number, count: number, o: DmaOptions = {}) {
  const dir = isRead(cmd) !== (o.wrongDirection ?? false) ? 0x08 : 0;
  pc.outl(BM_PRD, o.table ?? TABLE);
  pc.outb(BM_CMD, dir);
  pc.outb(BM_STATUS, pc.inb(BM_STATUS) | BM_ERROR | BM_INT);
  if (o.startFirst) pc.outb(BM_CMD, dir | 1);
  if (isExt(cmd)) {
    pc.outb(P + 2, count >> 8);
    pc.outb(P + 3, Math.floor(lba / 2 ** 24) & 0xff);
    pc.outb(P + 4, 0);
    pc.outb(P + 5, 0);
  }
  pc.outb(P + 2, count & 0xff);
  pc.outb(P + 3, lba & 0xff);
  pc.outb(P + 4, (lba >> 8) & 0xff);
  pc.outb(P + 5, (lba >> 16) & 0xff);
  pc.outb(P + 6, 0x40 | (isExt(cmd) ? 0 : (lba >> 24) & 0x0f));
  pc.outb(STATUS, cmd);
  if (!o.startFirst) pc.outb(BM_CMD, dir | 1);
  const irq = pc.machine.level(14);
  const bm = pc.inb(BM_STATUS);
  pc.outb(BM_CMD, pc.inb(BM_CMD) & ~1);
  const status = pc.inb(STATUS);
  const error = pc.inb(ERR);
  pc.outb(BM_STATUS, bm);
  return { irq, bm, status, error, bmAfter: pc.inb(BM_STATUS) };
}

/** Byte equality without vitest's element-wise diff, which takes seconds on a megabyte. */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

/** Whether RAM equals `before` everywhere outside the [start, end) ranges given. */
function untouchedOutside(ram: Uint8Array, before: Uint8Array, ...ranges: Array<[number, number]>): boolean {
  for (let i = 0; i < ram.length; i++) {
    if (ram[i] !== before[i] && !ranges.some(([s, e]) => i >= s && i < e)) return false;
  }
  return true;
}

function setup(disk = patternDisk(64)) {
  const pc = testPc({ primaryMaster: new AtaDrive(disk) }, RAM_SIZE);
  pc.machine.ram.fill(0xcc);
  return { pc, disk };
}

describe('BmDmaEngine: transfers', () => {
  it('READ DMA scatters sectors into the PRD regions and completes with one interrupt', () => {
    const { pc, disk } = setup();
    writePrds(pc, TABLE, [
      [0x2000, 1024],
      [0x5000, 512, true],
    ]);
    const before = pc.machine.ram.slice();
    const r = dma(pc, 0xc8, 7, 3);
    expect(r).toEqual({ irq: true, bm: BM_INT, status: READY, error: 0, bmAfter: 0 });
    const want = disk.read(7, 3);
    expect(pc.machine.ram.subarray(0x2000, 0x2400)).toEqual(want.subarray(0, 1024));
    expect(pc.machine.ram.subarray(0x5000, 0x5200)).toEqual(want.subarray(1024));
    expect(untouchedOutside(pc.machine.ram, before, [0x2000, 0x2400], [0x5000, 0x5200])).toBe(true);
    expect(pc.machine.level(14)).toBe(false);
    expect(pc.machine.risingEdges(14)).toBe(1);
    const s = pc.ide.stats().primary;
    expect([s.dmaTransfers, s.dmaBytes, s.dmaErrors, s.interruptsRaised]).toEqual([1, 3 * SECTOR_SIZE, 0, 1]);
  });

  it('WRITE DMA gathers from the PRD regions onto the disk and leaves RAM alone', () => {
    const { pc, disk } = setup(new MemoryBackend(64));
    writePrds(pc, TABLE, [
      [0x3000, 512],
      [0x8000, 512, true],
    ]);
    pc.machine.ram.fill(0x11, 0x3000, 0x3200);
    pc.machine.ram.fill(0x22, 0x8000, 0x8200);
    const before = pc.machine.ram.slice();
    expect(dma(pc, 0xca, 2, 2)).toMatchObject({ irq: true, bm: BM_INT, status: READY });
    expect(disk.read(2, 2)).toEqual(Uint8Array.from([...new Uint8Array(512).fill(0x11), ...new Uint8Array(512).fill(0x22)]));
    expect(same(pc.machine.ram, before)).toBe(true);
  });

  it('READ/WRITE DMA EXT address with LBA48, and the bus master may be started before the command', () => {
    const { pc, disk } = setup(new MemoryBackend(0x2_0000));
    writePrds(pc, TABLE, [[0x4000, 512, true]]);
    pc.machine.ram.fill(0x77, 0x4000, 0x4200);
    expect(dma(pc, 0x35, 0x1_0001, 1, { startFirst: true })).toMatchObject({ status: READY, bm: BM_INT });
    expect(disk.read(0x1_0001, 1)).toEqual(new Uint8Array(512).fill(0x77));
    pc.machine.ram.fill(0, 0x4000, 0x4200);
    expect(dma(pc, 0x25, 0x1_0001, 1)).toMatchObject({ status: READY, bm: BM_INT });
    expect(pc.machine.ram.subarray(0x4000, 0x4200)).toEqual(new Uint8Array(512).fill(0x77));
  });

  it('a byte count of 0 is 64 KiB; a table longer than the transfer keeps the active bit until stop', () => {
    const { pc, disk } = setup(patternDisk(256));
    writePrds(pc, TABLE, [
      [0x10000, 0],
      [0x30000, 512, true],
    ]);
    const r = dma(pc, 0xc8, 0, 128);
    expect(r.bm).toBe(BM_INT | BM_ACTIVE);
    expect(r.bmAfter).toBe(0); // stopping cleared active, writing INT back cleared it
    expect(same(pc.machine.ram.subarray(0x10000, 0x20000), disk.read(0, 128))).toBe(true);
    expect(pc.machine.ram[0x30000]).toBe(0xcc);
  });

  it('a DMA past the end of the disk fails in the drive (ABRT), not in the bus master', () => {
    const { pc } = setup();
    writePrds(pc, TABLE, [[0x2000, 1024, true]]);
    const before = pc.machine.ram.slice();
    expect(dma(pc, 0xc8, 63, 2)).toEqual({ irq: true, bm: BM_INT, status: ABORTED, error: 0x04, bmAfter: 0 });
    expect(same(pc.machine.ram, before)).toBe(true);
    expect(pc.machine.misuse).toEqual([{ device: 'piix3-ide.primary', what: 'READ DMA of sectors 63+2 past the end of a 64-sector disk' }]);
  });

  it('stores the register bits software owns and clears ERR/INT only by writing 1', () => {
    const { pc } = setup();
    pc.outl(BM_PRD, 0x1234_5677);
    expect(pc.inl(BM_PRD)).toBe(0x1234_5674);
    pc.outb(BM_STATUS, 0x61);
    expect(pc.inb(BM_STATUS)).toBe(0x60); // drive-capable bits kept, active is read-only
    pc.outb(BM_CMD, 0xff);
    expect(pc.inb(BM_CMD)).toBe(0x09);
    expect(pc.inb(BM_STATUS) & BM_ACTIVE).toBe(BM_ACTIVE); // started with nothing to do: waits
    expect([pc.inb(BMIBA + 1), pc.inb(BMIBA + 3)]).toEqual([0xff, 0xff]);
    expect(pc.inb(BMIBA + 8 + 2)).toBe(0); // the secondary channel's engine is separate
  });
});

/** Each bad descriptor table: the transfer ends with the BM error bit and ABRT, counted, RAM untouched. */
const BAD: Array<{ name: string; table?: number; prds?: Prd[]; at?: number; wrongDirection?: boolean; noMaster?: boolean; what: RegExp }> = [
  { name: 'a table that runs past its 64 KiB boundary', at: 0x1fff8, prds: [[0x2000, 512]], what: /PRD table at 0x1fff8 reaches the 64 KiB boundary at 0x20000 \(no EOT bit\)/ },
  { name: 'a table that runs off the end of RAM', at: RAM_SIZE - 8, prds: [[0x2000, 512]], what: /PRD table entry 1 at 0x108000 is outside guest RAM/ },
  { name: 'a table pointer outside RAM', table: 0x4000_0000, what: /PRD table entry 0 at 0x40000000 is outside guest RAM/ },
  { name: 'a PRD base outside guest RAM', prds: [[0x8000_0000, 1024, true]], what: /PRD region 0x80000000\+1024 is outside guest RAM/ },
  { name: 'a PRD region that runs past the end of RAM', prds: [[RAM_SIZE - 512, 1024, true]], what: /PRD region 0x107e00\+1024 is outside guest RAM/ },
  { name: "a transfer larger than the PRDs' total", prds: [[0x2000, 512, true]], what: /describes 512 bytes; the drive transfers 1024/ },
  {
    name: 'a table without EOT within its 64 KiB',
    at: 0x20000,
    prds: Array.from({ length: 8192 }, (): Prd => [0x2000, 2]),
    what: /PRD table at 0x20000 holds 8192 entries and none ends the table \(no EOT bit\)/,
  },
  { name: 'an odd byte count', prds: [[0x2000, 1023], [0x3000, 2, true]], what: /PRD entry 0 at 0x1000: odd byte count 1023/ },
  { name: 'an odd base address', prds: [[0x2001, 1024, true]], what: /PRD entry 0 at 0x1000: odd base 0x2001/ },
  { name: 'a direction that disagrees with the command', prds: [[0x2000, 1024, true]], wrongDirection: true, what: /direction bit says/ },
  { name: 'bus mastering not enabled', prds: [[0x2000, 1024, true]], noMaster: true, what: /bus master enable\) is clear/ },
];

describe.each(['READ DMA', 'WRITE DMA'])('BmDmaEngine: bad descriptors (%s)', (kind) => {
  it.each(BAD)('$name', (c) => {
    const disk = new MemoryBackend(64);
    const { pc } = setup(disk);
    const table = c.table ?? c.at ?? TABLE;
    if (c.prds) writePrds(pc, table, c.prds);
    if (c.noMaster) pc.ide.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_IO);
    const ram = pc.machine.ram.slice();
    const r = dma(pc, kind === 'READ DMA' ? 0xc8 : 0xca, 4, 2, { table, wrongDirection: c.wrongDirection });
    expect(r).toEqual({ irq: true, bm: BM_ERROR | BM_INT, status: ABORTED, error: 0x04, bmAfter: 0 });
    expect(pc.machine.misuse).toEqual([{ device: 'piix3-ide.primary', what: expect.stringMatching(c.what) }]);
    expect(same(pc.machine.ram, ram)).toBe(true);
    expect(same(disk.read(0, 64), new Uint8Array(64 * SECTOR_SIZE))).toBe(true);
    const s = pc.ide.stats().primary;
    expect([s.dmaTransfers, s.dmaErrors, s.dmaBytes, s.aborted]).toEqual([1, 1, 0, 1]);
  });
});

describe('BmDmaEngine: robustness', () => {
  it('never throws and never writes outside RAM, whatever the guest programs', () => {
    const { pc } = setup();
    let writesOutside = 0;
    const write = pc.machine.writeGuest.bind(pc.machine);
    pc.machine.writeGuest = (gpa, bytes) => {
      if (gpa < 0 || gpa + bytes.length > RAM_SIZE) writesOutside++;
      write(gpa, bytes);
    };
    let seed = 0x1234_5678;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const view = new DataView(pc.machine.ram.buffer);
    for (let round = 0; round < 300; round++) {
      // Random PRDs (some near the end of RAM or beyond), random table pointer, random command.
      for (let i = 0; i < 4; i++) {
        const base = rand() % 3 === 0 ? rand() : rand() % RAM_SIZE;
        view.setUint32(TABLE + 8 * i, base, true);
        view.setUint32(TABLE + 8 * i + 4, rand() & 0x8000_ffff, true);
      }
      const table = rand() % 4 === 0 ? rand() : TABLE;
      const cmd = [0xc8, 0xca, 0x25, 0x35][rand() % 4]!;
      expect(() => dma(pc, cmd, rand() % 80, (rand() % 8) + 1, { table, startFirst: rand() % 2 === 0 })).not.toThrow();
      pc.outb(0x3f6, 0x04);
      pc.outb(0x3f6, 0);
    }
    expect(writesOutside).toBe(0);
    expect(pc.ide.stats().primary.dmaTransfers).toBe(300);
  });
});
