// vCPU → device-owner mailbox: a vCPU thread that exits on a device access it cannot serve itself
// writes the request here, rings the doorbell (the owner thread sleeps on it in Atomics.wait; it
// runs no vCPU, so nothing has to leave the guest to answer) and waits for the reply.
// One mailbox per vCPU; requests are PIO/MMIO accesses or events (MailKind).

import { spinWhileEqual } from './spin.js';

const STATE = 0;
const KIND = 1;
const ADDR_LO = 2;
const ADDR_HI = 3;
const SIZE = 4;
const COUNT = 5;
/**
 * Set by the owner with the reply: 0 when no device claimed the access; otherwise 1 (PIO, events)
 * or, for MMIO, 1 + the id of the region that served it, whose name follows in REGION_NAME_AT.
 */
const CLAIMED = 6;
/** Set by the owner with the reply: 1 when the access asked for a machine reset (0xCF9, 0x64, 0x92). */
const RESET_ASKED = 7;
/**
 * Set by the owner with an MMIO reply: the MMIO map version at which it found the whole page of an
 * unassigned access empty, or -1 (claimed, or another range shares the page); unassigned-pages.ts.
 */
const EMPTY_PAGE_VERSION = 8;
/** Where the serving region's name goes (a length byte, then Latin-1): past any access's data. */
const REGION_NAME_AT = 2048;
const HEADER_BYTES = 48;
export const MAILBOX_DATA_BYTES = 4096;

export enum MailState {
  Idle = 0,
  Request = 1,
  Done = 2,
}

export enum MailKind {
  PioIn = 1,
  PioOut = 2,
  MmioRead = 3,
  MmioWrite = 4,
  /** The vCPU shut down (triple fault): reset the machine. */
  TripleFault = 5,
  /** The vCPU thread failed (its report says why): stop the machine. */
  Fatal = 6,
  /** vCPU 0 single-stepped the reset vector: the data holds the step's JSON (reset-step.ts). */
  ResetStep = 7,
}

export class Mailbox {
  readonly header: Int32Array;
  readonly data: Uint8Array;

  constructor(readonly sab: SharedArrayBuffer) {
    this.header = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.data = new Uint8Array(sab, HEADER_BYTES, MAILBOX_DATA_BYTES);
  }

  static create(): Mailbox {
    return new Mailbox(new SharedArrayBuffer(HEADER_BYTES + MAILBOX_DATA_BYTES));
  }

  // ---- AP side ----
  /** Post a request; `payload` is copied in for writes (its length = size*count). */
  post(kind: MailKind, addr: number, size: number, count: number, payload?: Uint8Array): void {
    const h = this.header;
    h[KIND] = kind;
    h[ADDR_LO] = addr % 0x1_0000_0000 | 0;
    h[ADDR_HI] = Math.floor(addr / 0x1_0000_0000);
    h[SIZE] = size;
    h[COUNT] = count;
    if (payload !== undefined) this.data.set(payload.subarray(0, MAILBOX_DATA_BYTES));
    Atomics.store(h, STATE, MailState.Request);
  }

  /** Wait up to `ms` for the reply; true when done. */
  waitDone(ms: number): boolean {
    if (!spinWhileEqual(this.header, STATE, MailState.Request)) Atomics.wait(this.header, STATE, MailState.Request, ms);
    return Atomics.load(this.header, STATE) === MailState.Done;
  }

  finish(): void {
    Atomics.store(this.header, STATE, MailState.Idle);
  }

  // ---- device-owner side ----
  get pending(): boolean {
    return Atomics.load(this.header, STATE) === MailState.Request;
  }

  get kind(): MailKind {
    return this.header[KIND]! as MailKind;
  }
  get addr(): number {
    return (this.header[ADDR_HI]! >>> 0) * 0x1_0000_0000 + (this.header[ADDR_LO]! >>> 0);
  }
  get size(): number {
    return this.header[SIZE]!;
  }
  get count(): number {
    return this.header[COUNT]!;
  }

  /** Whether the last reply's access was claimed by a device (vCPU side, after waitDone). */
  get claimed(): boolean {
    return this.header[CLAIMED] !== 0;
  }

  /** The region that served the last MMIO reply ('unassigned' when none); names are cached by id. */
  servedRegion(cache: Map<number, string>): string {
    const id = this.header[CLAIMED]!;
    if (id === 0) return 'unassigned';
    let name = cache.get(id);
    if (name === undefined) {
      const n = this.data[REGION_NAME_AT]!;
      name = String.fromCharCode(...this.data.subarray(REGION_NAME_AT + 1, REGION_NAME_AT + 1 + n));
      cache.set(id, name);
    }
    return name;
  }

  /** The MMIO map version at which the last MMIO reply's page was found empty, or -1 (vCPU side, after waitDone). */
  get emptyPageVersion(): number {
    return this.header[EMPTY_PAGE_VERSION]!;
  }

  /**
   * Owner side: reply to an MMIO request served by region `id` named `name`, or unassigned (then
   * `emptyPageVersion` is the map version if no range touches the access's page, else -1).
   */
  replyRegion(id: number | undefined, name: string, resetAsked = false, emptyPageVersion = -1): void {
    if (id === undefined) return this.reply(false, resetAsked, emptyPageVersion);
    this.header[EMPTY_PAGE_VERSION] = -1;
    this.header[RESET_ASKED] = resetAsked ? 1 : 0;
    const n = Math.min(name.length, 255);
    this.data[REGION_NAME_AT] = n;
    for (let i = 0; i < n; i++) this.data[REGION_NAME_AT + 1 + i] = name.charCodeAt(i) & 0xff;
    this.header[CLAIMED] = id + 1;
    Atomics.store(this.header, STATE, MailState.Done);
    Atomics.notify(this.header, STATE);
  }

  /** Whether the access just answered asked for a machine reset (vCPU side, after waitDone). */
  get resetAsked(): boolean {
    return this.header[RESET_ASKED] === 1;
  }

  /** Owner side: reply to any request (`emptyPageVersion`: see replyRegion; every other reply clears it). */
  reply(claimed = true, resetAsked = false, emptyPageVersion = -1): void {
    this.header[EMPTY_PAGE_VERSION] = emptyPageVersion;
    this.header[CLAIMED] = claimed ? 1 : 0;
    this.header[RESET_ASKED] = resetAsked ? 1 : 0;
    Atomics.store(this.header, STATE, MailState.Done);
    Atomics.notify(this.header, STATE);
  }
}
