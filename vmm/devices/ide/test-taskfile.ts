// Test support (no production code imports this): the primary channel's task-file registers and
// the port sequences SeaBIOS's ATA driver and Linux's libata (SFF) write, named after what they do,
// shared by the IDE channel's tests.

import { expect } from 'vitest';
import { SECTOR_SIZE } from './block-backend.js';
import type { TestPc } from './test-pc.js';

export const P = 0x1f0;
export const CTL = 0x3f6;
export const S = 0x170;
export const DATA = P;
export const ERR = P + 1;
export const NSECT = P + 2;
export const LBAL = P + 3;
export const LBAM = P + 4;
export const LBAH = P + 5;
export const DEV = P + 6;
export const CMD = P + 7;
export const STATUS = CMD;
export const READY = 0x50;
export const DRQ = 0x08;
export const ABORTED = 0x41;
export const NIEN = 0x02;
export const SRST = 0x04;
export const HD15 = 0x08;

/** Read `sectors` sectors of PIO data, 16 bits at a time (SeaBIOS insw_fl) or 32 (Linux's ata_sff_data_xfer32). */
export function pioIn(pc: TestPc, sectors: number, width: 2 | 4 = 2, base = P): Uint8Array {
  const out = new Uint8Array(sectors * SECTOR_SIZE);
  const view = new DataView(out.buffer);
  for (let i = 0; i < out.length; i += width) {
    if (width === 2) view.setUint16(i, pc.inw(base), true);
    else view.setUint32(i, pc.inl(base), true);
  }
  return out;
}

export function pioOut(pc: TestPc, data: Uint8Array, width: 2 | 4 = 2): void {
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i += width) {
    if (width === 2) pc.outw(DATA, view.getUint16(i, true));
    else pc.outl(DATA, view.getUint32(i, true));
  }
}

/** LBA28 task file for device 0 and a command, as libata's ata_sff_tf_load + exec_command. */
export function lba28(pc: TestPc, cmd: number, lba: number, count: number): void {
  pc.outb(NSECT, count & 0xff);
  pc.outb(LBAL, lba & 0xff);
  pc.outb(LBAM, (lba >> 8) & 0xff);
  pc.outb(LBAH, (lba >> 16) & 0xff);
  pc.outb(DEV, 0xe0 | ((lba >> 24) & 0x0f));
  pc.outb(CMD, cmd);
}

/** LBA48 task file: each register gets its high byte, then its low byte. */
export function lba48(pc: TestPc, cmd: number, lba: number, count: number): void {
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

export function identify(pc: TestPc): DataView {
  pc.outb(DEV, 0xa0);
  pc.outb(CMD, 0xec);
  expect(pc.inb(STATUS)).toBe(READY | DRQ);
  const block = pioIn(pc, 1);
  expect(pc.inb(STATUS)).toBe(READY);
  return new DataView(block.buffer);
}

/** An ATA string from IDENTIFY words [first, first + words). */
export function ataString(id: DataView, first: number, words: number): string {
  let s = '';
  for (let w = first; w < first + words; w++) s += String.fromCharCode(id.getUint8(2 * w + 1), id.getUint8(2 * w));
  return s.trimEnd();
}

