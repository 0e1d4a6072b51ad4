// The channel's interrupt line, resets and small commands, and the registers vCPU threads may read
// without the device-owner thread, driven as SeaBIOS's ATA driver and Linux's libata (SFF) do.

import { describe, expect, it } from 'vitest';
import { SyncKind } from '../device.js';
import { AtaDrive } from './ata-drive.js';
import { patternDisk, type TestPc, testPc } from './test-pc.js';
import { CTL, DATA, ERR, NSECT, LBAL, LBAM, LBAH, DEV, CMD, STATUS, READY, DRQ, ABORTED, NIEN, SRST, HD15, pioIn, lba28, identify } from './test-taskfile.js';

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
