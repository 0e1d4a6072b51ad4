// AP → device-owner mailbox: an AP vCPU thread that exits on a device access it cannot serve
// locally writes the request here, rings the doorbell, kicks the BSP thread (which owns the
// devices, QEMU's big-lock model with the lock held by one thread) and waits for the reply.
// One mailbox per AP; requests are PIO/MMIO accesses or events (triple fault, fatal exit).

const STATE = 0;
const KIND = 1;
const ADDR_LO = 2;
const ADDR_HI = 3;
const SIZE = 4;
const COUNT = 5;
const HEADER_BYTES = 32;
export const MAILBOX_DATA_BYTES = 4096;

export enum MailState {
  Idle = 0,
  Request = 1,
  Done = 2,
}

/** Request kinds: the ExitKind values for accesses, plus events. */
export const MAIL_SHUTDOWN = 100;
export const MAIL_FATAL = 101;

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
  post(kind: number, addr: number, size: number, count: number, payload?: Uint8Array): void {
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
    if (Atomics.load(this.header, STATE) === MailState.Request) Atomics.wait(this.header, STATE, MailState.Request, ms);
    return Atomics.load(this.header, STATE) === MailState.Done;
  }

  finish(): void {
    Atomics.store(this.header, STATE, MailState.Idle);
  }

  // ---- device-owner side ----
  get pending(): boolean {
    return Atomics.load(this.header, STATE) === MailState.Request;
  }

  get kind(): number {
    return this.header[KIND]!;
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

  reply(): void {
    Atomics.store(this.header, STATE, MailState.Done);
    Atomics.notify(this.header, STATE);
  }
}
