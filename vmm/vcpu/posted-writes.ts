// Posted port writes (SMP > 1): a vCPU thread queues a write to a register its device declared
// posted (device.ts SyncKind.PostedWrite: a UART's THR, the PCI config address latch, the CMOS
// index) and re-enters the guest at once, instead of waiting for the device owner's answer. The
// owner applies the queued writes in the order the vCPUs queued them, and always before it serves
// any other request, so no access sees a device state that lacks an earlier write: what a guest
// can tell apart is only when the write's effect (a THRE interrupt, a console byte) comes, which
// real hardware leaves open too. Such a register's write must not change the memory map, ask for a
// reset or be needed by an access that does not go through the owner; that is what declaring it
// posted promises.
//
// One ring for all vCPUs (multi-producer, one consumer) in a SharedArrayBuffer. A producer takes
// a ticket (Atomics.add on the tail), waits while the ring is full, fills the ticket's slot and
// stamps it ready (ticket + 1). The consumer takes slots in ticket order and waits for a slot
// stamped late (its producer is between taking the ticket and stamping it). Tickets give the
// order: if one vCPU's write happened before another vCPU's access (the guest ordered them, e.g.
// with a lock), its ticket was taken and stamped before that access was even made, so draining the
// ring up to the tail seen when the owner picks up a request applies every write that must come
// first. The slot at the head belongs to a ticket below head + SLOTS, whose producer never waits
// for room, so the consumer's wait always ends.

import { spinWhileEqual } from './spin.js';

const TAIL = 0;
const HEAD = 1;
const SLOTS_AT = 4;
/** Slots in the ring (a power of two). */
export const POSTED_SLOTS = 256;
const SLOT_WORDS = 4;
/** The ring's size in bytes (the native vCPU threads allocate one of this layout, kept-exits.c posts into it). */
export const POSTED_RING_BYTES = (SLOTS_AT + POSTED_SLOTS * SLOT_WORDS) * 4;
// slot words
const STAMP = 0;
const WHERE = 1; // port | size << 16 | vcpu << 20
const VALUE = 2;
/** When the write was queued, µs since the producer's epoch (native vCPU threads; 0 from a JavaScript thread). */
const AT_US = 3;

/** How long the consumer waits for a producer to stamp its slot before calling it a bug. */
const STAMP_WAIT_MS = 5_000;

export interface PostedWrite {
  vcpu: number;
  port: number;
  size: number;
  /** The written value, little-endian (size bytes). */
  value: number;
  /** Native vCPU threads: when it was queued (µs since their epoch, NativeVcpuThreads.postedAtMs). */
  atUs?: number;
}

export class PostedWrites {
  readonly words: Int32Array;

  /** `buffer`: shared with JavaScript vCPU threads, or the native threads' ring (an ArrayBuffer over their memory). */
  constructor(buffer: SharedArrayBuffer | ArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  /** The ring's SharedArrayBuffer, for JavaScript vCPU threads (created by `create`). */
  get sab(): SharedArrayBuffer {
    if (!(this.words.buffer instanceof SharedArrayBuffer)) throw new Error('this posted-write ring is not shared with JavaScript threads');
    return this.words.buffer;
  }

  static create(): PostedWrites {
    return new PostedWrites(new SharedArrayBuffer(POSTED_RING_BYTES));
  }

  // ---- vCPU side ----
  /**
   * Queue a write; false when the ring stayed full until `running()` said the machine stopped (the
   * write is then dropped, as everything is at a stop). The caller rings the owner's doorbell.
   */
  post(write: PostedWrite, running: () => boolean, waitSliceMs = 50): boolean {
    const w = this.words;
    const ticket = Atomics.add(w, TAIL, 1);
    for (;;) {
      const head = Atomics.load(w, HEAD);
      if (((ticket - head) | 0) < POSTED_SLOTS) break;
      if (!spinWhileEqual(w, HEAD, head)) Atomics.wait(w, HEAD, head, waitSliceMs);
      if (!running()) return false;
    }
    const slot = SLOTS_AT + (ticket & (POSTED_SLOTS - 1)) * SLOT_WORDS;
    w[slot + WHERE] = (write.port & 0xffff) | ((write.size & 0xf) << 16) | (write.vcpu << 20);
    w[slot + VALUE] = write.value | 0;
    Atomics.store(w, slot + STAMP, (ticket + 1) | 0);
    return true;
  }

  // ---- device-owner side ----
  /** Whether writes are queued (taken tickets not yet applied). */
  get pending(): boolean {
    return Atomics.load(this.words, TAIL) !== Atomics.load(this.words, HEAD);
  }

  /**
   * Apply every write queued so far, in ticket order; how many. With `stopping`, a slot its
   * producer never stamped (the machine stopped while it waited for room) ends the drain.
   */
  drain(apply: (write: PostedWrite) => void, stopping = false): number {
    const w = this.words;
    let head = Atomics.load(w, HEAD);
    let applied = 0;
    for (;;) {
      const tail = Atomics.load(w, TAIL);
      if (head === tail) break;
      const slot = SLOTS_AT + (head & (POSTED_SLOTS - 1)) * SLOT_WORDS;
      const ready = (head + 1) | 0;
      if (Atomics.load(w, slot + STAMP) !== ready && !this.awaitStamp(slot, ready, stopping)) break;
      const where = w[slot + WHERE]!;
      const write = { port: where & 0xffff, size: (where >>> 16) & 0xf, vcpu: where >>> 20, value: w[slot + VALUE]! >>> 0, atUs: w[slot + AT_US]! >>> 0 };
      head = (head + 1) | 0;
      Atomics.store(w, HEAD, head);
      applied++;
      apply(write);
    }
    if (applied > 0) Atomics.notify(w, HEAD);
    return applied;
  }

  private awaitStamp(slot: number, ready: number, stopping: boolean): boolean {
    const deadline = performance.now() + (stopping ? 100 : STAMP_WAIT_MS);
    for (;;) {
      const stamp = Atomics.load(this.words, slot + STAMP);
      if (stamp === ready) return true;
      if (performance.now() > deadline) {
        if (stopping) return false;
        throw new Error(`a posted write's slot was never stamped (ticket ${ready - 1}): a vCPU thread stopped between queueing and filling it`);
      }
      spinWhileEqual(this.words, slot + STAMP, stamp, 1000);
    }
  }
}
