// The channel driven the way SeaBIOS's ATA driver and Linux's libata (SFF) do it: register writes at
// 0x1F0-0x1F7, device control at 0x3F6, data through inw/insl, interrupts on IRQ 14.
import { describe, expect, it } from 'vitest';
import { SyncKind } from '../device.js';
import { AtaDrive } from './ata-drive.js';
import { type BlockBackend, MemoryBackend, SECTOR_SIZE } from './block-backend.js';
import { patternDisk, type TestPc, testPc } from './test-pc.js';

const P = 0x1f0;
const CTL = 0x3f6;
const S = 0x170;
const DATA = P;
const ERR = P + 1;
const NSECT = P + 2;
const LBAL = P + 3;
const LBAM = P + 4;
const LBAH = P + 5;
const DEV = P + 6;
const CMD = P + 7;
const STATUS = CMD;
const READY = 0x50;
const DRQ = 0x08;
const ABORTED = 0x41;
const NIEN = 0x02;
const SRST = 0x04;
const HD15 = 0x08;

/** Read `sectors` sectors of PIO data, 16 bits at a time (SeaBIOS insw_fl) or 32 (Linux's ata_sff_data_xfer32). */
function pioIn(pc: TestPc, sectors: number, width: 2 | 4 = 2, base = P): Uint8Array {
  const out = new Uint8Array(sectors * SECTOR_SIZE);
  const view = new DataView(out.buffer);
  for (let i = 0; i < out.length; i += width) {
    if (width === 2) view.setUint16(i, pc.inw(base), true);
    else view.setUint32(i, pc.inl(base), true);
  }
  return out;
}

function pioOut(pc: TestPc, data: Uint8Array, width: 2 | 4 = 2): void {
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i += width) {
    if (width === 2) pc.outw(DATA, view.getUint16(i, true));
    else pc.outl(DATA, view.getUint32(i, true));
  }
}

/** LBA28 task file for device 0 and a command, as libata's ata_sff_tf_load + exec_command. */
function lba28(pc: TestPc, cmd: number, lba: number, count: number): void {
  pc.outb(NSECT, count & 0xff);
  pc.outb(LBAL, lba & 0xff);
  pc.outb(LBAM, (lba >> 8) & 0xff);
  pc.outb(LBAH, (lba >> 16) & 0xff);
  pc.outb(DEV, 0xe0 | ((lba >> 24) & 0x0f));
  pc.outb(CMD, cmd);
}

/** LBA48 task file: each register gets its high byte, then its low byte. */
function lba48(pc: TestPc, cmd: number, lba: number, count: number): void {
  pc.outb(NSECT, count >> 8);
  pc.outb(NSECT, count & 0xff);
  const bytes = [0, 1, 2, 3, 4, 5].map((i) => Math.floor(lba / 256 ** i) & 0xff);
  pc.outb(LBAL, bytes[3]!);
  pc.outb(LBAM, bytes[4]!);
  pc.outb(LBAH, bytes[5]!);
  pc.outb(LBAL, bytes[0]!);
  pc.outb(LBAM, bytes[1]!);
  pc.outb(LBAH, bytes[2]!);
  pc.outb(DEV, 0x40);
  pc.outb(CMD, cmd);
}

function identify(pc: TestPc): DataView {
  pc.outb(DEV, 0xa0);
  pc.outb(CMD, 0xec);
  expect(pc.inb(STATUS)).toBe(READY | DRQ);
  const block = pioIn(pc, 1);
  expect(pc.inb(STATUS)).toBe(READY);
  return new DataView(block.buffer);
}

/** An ATA string from IDENTIFY words [first, first + words). */
function ataString(id: DataView, first: number, words: number): string {
  let s = '';
  for (let w = first; w < first + words; w++) s += String.fromCharCode(id.getUint8(2 * w + 1), id.getUint8(2 * w));
  return s.trimEnd();
}

describe('IdeChannel: detection and IDENTIFY', () => {
  it('answers SeaBIOS ata_detect: register echo, reset signature, IDENTIFY PACKET aborted, IDENTIFY DEVICE', () => {
    // IDENTIFY reads only the size: a backend that holds no data.
    const big: BlockBackend = { sectors: 0x1234_5, read: () => new Uint8Array(0), write: () => {} };
    const pc = testPc({ primaryMaster: new AtaDrive(big) });
    pc.outb(CTL, HD15 | NIEN);
    pc.outb(DEV, 0xa0);
    for (const [sc, sn] of [[0x55, 0xaa], [0xaa, 0x55], [0x55, 0xaa]]) {
      pc.outb(NSECT, sc!);
      pc.outb(LBAL, sn!);
    }
    expect([pc.inb(NSECT), pc.inb(LBAL)]).toEqual([0x55, 0xaa]);

    pc.outb(CTL, HD15 | NIEN | SRST);
    pc.outb(CTL, HD15 | NIEN);
    expect(pc.inb(STATUS) & 0x80).toBe(0);
    expect([pc.inb(NSECT), pc.inb(LBAL), pc.inb(LBAM), pc.inb(LBAH), pc.inb(ERR)]).toEqual([1, 1, 0, 0, 1]);

    pc.outb(DEV, 0xa0);
    pc.outb(CMD, 0xa1);
    expect([pc.inb(STATUS), pc.inb(ERR)]).toEqual([ABORTED, 0x04]);

    const id = identify(pc);
    expect(id.getUint16(0, true)).toBe(0x0040);
    expect(ataString(id, 27, 20)).toBe('QEMU HARDDISK');
    expect(ataString(id, 10, 10)).toBe('QM00001');
    expect(ataString(id, 23, 4)).toBe('2.5+');
    expect(id.getUint16(49 * 2, true) & 0x0300).toBe(0x0300); // LBA and DMA
    expect(id.getUint16(60 * 2, true) | (id.getUint16(61 * 2, true) << 16)).toBe(0x1234_5);
    expect([100, 101, 102, 103].map((w) => id.getUint16(w * 2, true))).toEqual([0x2345, 0x1, 0, 0]);
    expect(id.getUint16(83 * 2, true) & (1 << 10)).not.toBe(0); // LBA48
    expect(id.getUint16(63 * 2, true) & 0x07).toBe(0x07); // MWDMA 0-2
    expect(id.getUint16(88 * 2, true)).toBe(0x3f | (1 << 13)); // UDMA 0-5, mode 5 selected
    expect(id.getUint16(47 * 2, true)).toBe(0x8010);
    // nIEN was set throughout: nothing reached IRQ 14.
    expect(pc.machine.irqCalls).toEqual([]);
  });

  it('an absent slave reads 0 in status, alternate status and error, echoes the task file, ignores commands', () => {
    const pc = testPc();
    pc.outb(DEV, 0xb0);
    expect([pc.inb(STATUS), pc.inb(CTL), pc.inb(ERR)]).toEqual([0, 0, 0]);
    pc.outb(NSECT, 0x55);
    pc.outb(LBAL, 0xaa);
    expect([pc.inb(NSECT), pc.inb(LBAL), pc.inb(DEV)]).toEqual([0x55, 0xaa, 0xb0]);
    pc.outb(CMD, 0xec);
    expect(pc.inb(STATUS)).toBe(0);
    expect(pc.inw(DATA)).toBe(0);
    expect(pc.machine.irqCalls).toEqual([]);
    expect(pc.ide.stats().primary.ignored).toBe(1);

    // libata after SRST: device 1's signature is not ATA's, and its status has no DRDY.
    pc.outb(CTL, SRST);
    pc.outb(CTL, 0);
    pc.outb(DEV, 0xb0);
    expect([pc.inb(NSECT), pc.inb(LBAL), pc.inb(LBAM), pc.inb(LBAH), pc.inb(STATUS)]).toEqual([1, 1, 0xff, 0xff, 0]);
    // Device 0 is unaffected by what device 1 did.
    pc.outb(DEV, 0xa0);
    expect(pc.inb(STATUS)).toBe(READY);
  });

  it('a channel with no drives reads 0 everywhere and never interrupts', () => {
    const pc = testPc();
    pc.outb(S + 6, 0xa0);
    pc.outb(S + 2, 0x55);
    expect([1, 2, 3, 4, 5, 6, 7].map((r) => pc.inb(S + r))).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(pc.inb(0x376)).toBe(0);
    pc.outb(S + 7, 0xec);
    expect(pc.machine.irqCalls).toEqual([]);
  });
});

describe('IdeChannel: PIO data', () => {
  it('reads several sectors with one interrupt per sector, 16-bit and 32-bit', () => {
    const pc = testPc();
    const disk = patternDisk(64);
    lba28(pc, 0x20, 5, 3);
    const got: Uint8Array[] = [];
    for (let s = 0; s < 3; s++) {
      expect(pc.machine.level(14)).toBe(true);
      expect(pc.inb(STATUS)).toBe(READY | DRQ);
      expect(pc.machine.level(14)).toBe(false);
      got.push(pioIn(pc, 1, s === 1 ? 4 : 2));
    }
    expect(pc.inb(STATUS)).toBe(READY);
    expect(pc.machine.risingEdges(14)).toBe(3);
    expect(Buffer.concat(got)).toEqual(Buffer.from(disk.read(5, 3)));
    // The task file now addresses the sector after the transfer.
    expect([pc.inb(LBAL), pc.inb(LBAM), pc.inb(LBAH)]).toEqual([8, 0, 0]);
    expect(pc.ide.stats().primary.pioBytes).toBe(3 * SECTOR_SIZE);
  });

  it('writes several sectors: DRQ first without an interrupt, then one interrupt per sector', () => {
    const backend = new MemoryBackend(64);
    const pc = testPc({ primaryMaster: new AtaDrive(backend) });
    const data = new Uint8Array(2 * SECTOR_SIZE).map((_, i) => (i * 13) & 0xff);
    lba28(pc, 0x30, 10, 2);
    expect(pc.inb(CTL)).toBe(READY | DRQ);
    expect(pc.machine.irqCalls).toEqual([]);
    pioOut(pc, data.subarray(0, SECTOR_SIZE), 2);
    expect(pc.machine.level(14)).toBe(true);
    expect(pc.inb(STATUS)).toBe(READY | DRQ);
    pioOut(pc, data.subarray(SECTOR_SIZE), 4);
    expect(pc.inb(STATUS)).toBe(READY);
    expect(pc.machine.risingEdges(14)).toBe(2);
    expect(backend.read(10, 2)).toEqual(data);
    expect(backend.read(9, 1)).toEqual(new Uint8Array(SECTOR_SIZE));
  });

  it('LBA48 READ/WRITE SECTORS EXT take the high bytes from the previous writes', () => {
    const backend = new MemoryBackend(0x2_0000);
    const pc = testPc({ primaryMaster: new AtaDrive(backend) });
    const data = new Uint8Array(SECTOR_SIZE).fill(0x5a);
    lba48(pc, 0x34, 0x1_0203, 1);
    pioOut(pc, data);
    pc.inb(STATUS);
    expect(backend.read(0x1_0203, 1)).toEqual(data);
    lba48(pc, 0x24, 0x1_0203, 1);
    pc.inb(STATUS);
    expect(pioIn(pc, 1, 4)).toEqual(data);
    // HOB set: LBA low/mid/high read the high-order bytes, the next write clears it.
    pc.outb(CTL, 0x80);
    expect([pc.inb(LBAL), pc.inb(NSECT)]).toEqual([0x00, 0x00]);
    pc.outb(CTL, 0);
    expect(pc.inb(LBAL)).toBe(0x04);
  });

  it('aborts an access past the end of the disk and counts it as guest misuse', () => {
    const pc = testPc();
    lba28(pc, 0x20, 63, 2);
    expect([pc.inb(STATUS), pc.inb(ERR)]).toEqual([ABORTED, 0x04]);
    lba48(pc, 0x34, 0x1_0000_0000, 1);
    expect(pc.inb(STATUS)).toBe(ABORTED);
    expect(pc.machine.misuse.map((m) => m.what)).toEqual([
      expect.stringMatching(/PIO read of sectors 63\+2 past the end of a 64-sector disk/),
      expect.stringMatching(/PIO write of sectors 4294967296\+1/),
    ]);
  });

  it('READ MULTIPLE after SET MULTIPLE: one interrupt per block; SET MULTIPLE 0 turns it off', () => {
    const pc = testPc();
    pc.outb(NSECT, 3);
    pc.outb(CMD, 0xc6);
    expect(pc.inb(STATUS)).toBe(ABORTED); // not a power of two
    pc.outb(NSECT, 4);
    pc.outb(CMD, 0xc6);
    expect(pc.inb(STATUS)).toBe(READY);
    lba28(pc, 0xc4, 0, 6);
    pc.inb(STATUS);
    expect(pioIn(pc, 4)).toEqual(patternDisk(64).read(0, 4));
    expect(pc.inb(STATUS)).toBe(READY | DRQ);
    expect(pioIn(pc, 2)).toEqual(patternDisk(64).read(4, 2));
    expect(pc.inb(STATUS)).toBe(READY);
    expect(pc.machine.risingEdges(14)).toBe(4); // two SET MULTIPLE, two blocks
    pc.outb(NSECT, 0);
    pc.outb(CMD, 0xc6);
    lba28(pc, 0xc5, 0, 1);
    expect(pc.inb(STATUS)).toBe(ABORTED);
  });
});

describe('IdeChannel: string PIO (rep insw/insl/outsw), one bus access for many elements', () => {
  /** The same command twice, once read element-wise and once in the given runs of `rep ins`: data, interrupts and status agree. */
  function repeatedMatchesElementwise(width: 2 | 4, runsInSectors: number[]): void {
    const elementwise = testPc();
    const repeated = testPc();
    for (const pc of [elementwise, repeated]) {
      pc.outb(NSECT, 4);
      pc.outb(CMD, 0xc6); // SET MULTIPLE 4: blocks of 4 sectors, one interrupt each
      lba28(pc, 0xc4, 3, 6); // READ MULTIPLE 6 sectors from LBA 3: a block of 4, then of 2
      pc.inb(STATUS);
    }
    const total = runsInSectors.reduce((a, b) => a + b, 0);
    const a = pioIn(elementwise, total, width);
    const b = new Uint8Array(total * SECTOR_SIZE);
    let at = 0;
    for (const run of runsInSectors) {
      // The status register is not read between runs, as a driver looping on one rep insw per sector would not.
      expect(repeated.pio.readRepeated(DATA, width, b.subarray(at, at + run * SECTOR_SIZE))).toBeDefined();
      at += run * SECTOR_SIZE;
    }
    expect(b).toEqual(a);
    expect(b.subarray(0, 6 * SECTOR_SIZE)).toEqual(patternDisk(64).read(3, 6));
    expect(repeated.machine.risingEdges(14)).toBe(elementwise.machine.risingEdges(14));
    expect(repeated.machine.level(14)).toBe(elementwise.machine.level(14));
    expect(repeated.inb(STATUS)).toBe(elementwise.inb(STATUS));
    expect(repeated.ide.stats().primary.pioBytes).toBe(elementwise.ide.stats().primary.pioBytes);
  }

  it('a run inside a block, one across the block boundary, one ending at the end of the transfer (16-bit)', () => {
    repeatedMatchesElementwise(2, [3, 3]);
  });

  it('one run over the whole transfer and past its end: the excess reads 0 as element-wise reads do (32-bit)', () => {
    repeatedMatchesElementwise(4, [8]);
  });

  it('rep outsw of two sectors in one access: both stored, the line and status as element-wise writes leave them', () => {
    const data = new Uint8Array(2 * SECTOR_SIZE).map((_, i) => (i * 7) & 0xff);
    const backends = [new MemoryBackend(64), new MemoryBackend(64)];
    const [elementwise, repeated] = backends.map((b) => testPc({ primaryMaster: new AtaDrive(b) }));
    for (const pc of [elementwise!, repeated!]) lba28(pc, 0x30, 20, 2);
    pioOut(elementwise!, data.slice(), 2);
    repeated!.pio.writeRepeated(DATA, 2, data.slice());
    expect(backends[1]!.read(20, 2)).toEqual(data);
    expect(repeated!.machine.risingEdges(14)).toBe(elementwise!.machine.risingEdges(14));
    expect(repeated!.machine.level(14)).toBe(true);
    expect(repeated!.inb(STATUS)).toBe(elementwise!.inb(STATUS));
  });

  it('rep insb on the status port repeats the register read (no run copy off the data port)', () => {
    const pc = testPc();
    lba28(pc, 0x20, 0, 1);
    const out = new Uint8Array(3);
    pc.pio.readRepeated(STATUS, 1, out);
    expect([...out]).toEqual([READY | DRQ, READY | DRQ, READY | DRQ]);
    expect(pc.machine.level(14)).toBe(false);
  });
});

describe('IdeChannel: interrupts, reset and the small commands', () => {
  it('raises IRQ 14 on completion; alternate status leaves it, status read lowers it', () => {
    const pc = testPc();
    pc.outb(ERR, 0x03);
    pc.outb(NSECT, 0x22); // multiword DMA 2, as ata_piix picks for 8086:7010
    pc.outb(CMD, 0xef);
    expect(pc.machine.irqCalls).toEqual([{ gsi: 14, level: true }]);
    expect(pc.inb(CTL)).toBe(READY);
    expect(pc.machine.level(14)).toBe(true);
    expect(pc.inb(STATUS)).toBe(READY);
    expect(pc.machine.irqCalls).toEqual([
      { gsi: 14, level: true },
      { gsi: 14, level: false },
    ]);
    const id = identify(pc);
    expect(id.getUint16(63 * 2, true)).toBe(0x0407);
    expect(id.getUint16(88 * 2, true)).toBe(0x003f);
    const stats = pc.ide.stats().primary;
    expect(stats.interruptsRaised).toBe(2);
    expect(stats.commands).toEqual({ '0xef': 1, '0xec': 1 });
  });

  it('nIEN masks the line; clearing it with an interrupt pending raises it', () => {
    const pc = testPc();
    pc.outb(CTL, NIEN);
    pc.outb(CMD, 0xe7); // FLUSH CACHE
    expect(pc.machine.irqCalls).toEqual([]);
    pc.outb(CTL, 0);
    expect(pc.machine.level(14)).toBe(true);
    pc.inb(STATUS);
    expect(pc.machine.level(14)).toBe(false);
    pc.outb(CTL, NIEN);
    pc.outb(CMD, 0xea); // FLUSH CACHE EXT
    pc.inb(STATUS);
    pc.outb(CTL, 0);
    expect(pc.machine.risingEdges(14)).toBe(1);
    const stats = pc.ide.stats().primary;
    expect([stats.interruptsRequested, stats.interruptsRaised]).toEqual([2, 1]);
  });

  it('soft reset puts the ATA signature back, selects device 0 and drops a transfer and its interrupt', () => {
    const pc = testPc({ primaryMaster: new AtaDrive(patternDisk(64)), primarySlave: new AtaDrive(patternDisk(64)) });
    pc.outb(DEV, 0xf0);
    lba28(pc, 0x20, 0x21, 2);
    pc.outb(DEV, 0xf0); // ignored: device 1 is in DRQ
    expect(pc.inb(CTL)).toBe(READY | DRQ);
    expect(pc.machine.level(14)).toBe(true);
    pc.outb(CTL, SRST);
    expect(pc.machine.level(14)).toBe(false);
    pc.outb(CTL, 0);
    expect([pc.inb(NSECT), pc.inb(LBAL), pc.inb(LBAM), pc.inb(LBAH), pc.inb(DEV), pc.inb(ERR), pc.inb(STATUS)]).toEqual([
      1, 1, 0, 0, 0xa0, 1, READY,
    ]);
    pc.outb(DEV, 0xb0);
    expect([pc.inb(LBAM), pc.inb(LBAH), pc.inb(STATUS)]).toEqual([0, 0, READY]);
    expect(pc.inw(DATA)).toBe(0);
  });

  it('aborts an unknown command with ABRT and ERR, and counts it', () => {
    const pc = testPc();
    pc.outb(CMD, 0x40); // READ VERIFY: not implemented
    expect(pc.machine.level(14)).toBe(true);
    expect([pc.inb(STATUS), pc.inb(ERR)]).toEqual([ABORTED, 0x04]);
    pc.outb(CMD, 0xe5); // CHECK POWER MODE
    expect([pc.inb(STATUS), pc.inb(ERR), pc.inb(NSECT)]).toEqual([READY, 0, 0xff]);
    pc.outb(ERR, 0x03);
    pc.outb(NSECT, 0x46); // Ultra DMA 6: not advertised
    pc.outb(CMD, 0xef);
    expect(pc.inb(STATUS)).toBe(ABORTED);
    const stats = pc.ide.stats().primary;
    expect(stats.aborted).toBe(2);
    expect(stats.commands).toEqual({ '0x40': 1, '0xe5': 1, '0xef': 1 });
  });

  it('ignores a command written while the drive shows DRQ and counts the misuse', () => {
    const pc = testPc();
    lba28(pc, 0x30, 0, 1);
    pc.outb(CMD, 0xec);
    expect(pc.inb(STATUS)).toBe(READY | DRQ);
    expect(pc.machine.misuse).toEqual([{ device: 'piix3-ide.primary', what: 'command 0xec written to device 0 while it shows DRQ' }]);
  });

  it('INITIALIZE DEVICE PARAMETERS changes the CHS translation that CHS commands use', () => {
    const pc = testPc();
    pc.outb(DEV, 0xa0 | 3); // 4 heads
    pc.outb(NSECT, 8); // 8 sectors per track
    pc.outb(CMD, 0x91);
    expect(pc.inb(STATUS)).toBe(READY);
    // Cylinder 1, head 2, sector 3 = (1 * 4 + 2) * 8 + 2 = LBA 50.
    pc.outb(NSECT, 1);
    pc.outb(LBAL, 3);
    pc.outb(LBAM, 1);
    pc.outb(LBAH, 0);
    pc.outb(DEV, 0xa0 | 2);
    pc.outb(CMD, 0x20);
    pc.inb(STATUS);
    expect(pioIn(pc, 1)).toEqual(patternDisk(64).read(50, 1));
    const id = identify(pc);
    expect([54, 55, 56].map((w) => id.getUint16(w * 2, true))).toEqual([2, 4, 8]);
  });
});

describe('IdeChannel: shadow reads for vCPU threads', () => {
  const shadow = (pc: TestPc, port: number): number | undefined => {
    const r = pc.pio.syncRanges().find((x) => x.port === port && x.kind === SyncKind.ShadowRead);
    return r?.device.shadowRead?.(r.offset);
  };

  it('declares the bus-master command registers posted (byte writes), and no other bus-master register', () => {
    const ports = testPc().pio.syncRanges().filter((r) => r.kind === SyncKind.PostedWrite).map((r) => `${r.port.toString(16)}+${r.span}`);
    expect(ports.sort()).toEqual(['c000+1', 'c008+1']);
  });

  it('declares status and alternate status of both channels, and nothing else', () => {
    const ports = testPc().pio.syncRanges().filter((r) => r.kind === SyncKind.ShadowRead).map((r) => `${r.port.toString(16)}+${r.span}`);
    expect(ports.sort()).toEqual(['177+1', '1f7+1', '376+1', '3f6+1']);
  });

  it('status is withheld while an interrupt is pending (reading it acknowledges), alternate status never', () => {
    const pc = testPc();
    expect(shadow(pc, STATUS)).toBe(READY);
    lba28(pc, 0x20, 5, 1);
    expect(pc.machine.level(14)).toBe(true);
    // The owner must serve this read: it clears INTRQ.
    expect(shadow(pc, STATUS)).toBeUndefined();
    expect(shadow(pc, CTL)).toBe(READY | DRQ);
    expect(pc.inb(STATUS)).toBe(READY | DRQ);
    expect(pc.machine.level(14)).toBe(false);
    // Now a read changes nothing: any thread may answer it, with what the owner would.
    expect(shadow(pc, STATUS)).toBe(READY | DRQ);
    // The last word ends the command without an interrupt (a PIO read's come before each block).
    pioIn(pc, 1);
    expect(shadow(pc, STATUS)).toBe(READY);
  });

  it('with nIEN the line stays low but status is still withheld until read', () => {
    const pc = testPc();
    pc.outb(CTL, HD15 | NIEN);
    lba28(pc, 0x20, 0, 1);
    expect(pc.machine.level(14)).toBe(false);
    expect(shadow(pc, STATUS)).toBeUndefined();
  });
});
