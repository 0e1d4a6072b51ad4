// The channel driven the way SeaBIOS's ATA driver and Linux's libata (SFF) do it: register writes at
// 0x1F0-0x1F7, device control at 0x3F6, data through inw/insl, interrupts on IRQ 14.

import { describe, expect, it } from 'vitest';
import { AtaDrive } from './ata-drive.js';
import { type BlockBackend, MemoryBackend, SECTOR_SIZE } from './block-backend.js';
import { patternDisk, testPc } from './test-pc.js';
import { CTL, S, DATA, ERR, NSECT, LBAL, LBAM, LBAH, DEV, CMD, STATUS, READY, DRQ, ABORTED, NIEN, SRST, HD15, pioIn, pioOut, lba28, lba48, identify, ataString } from './test-taskfile.js';

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
