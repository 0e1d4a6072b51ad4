import { describe, expect, it } from 'vitest';
import { POSTED_SLOTS, type PostedWrite, PostedWrites } from './posted-writes.js';

const running = (): boolean => true;

function drained(ring: PostedWrites, stopping = false): PostedWrite[] {
  const out: PostedWrite[] = [];
  ring.drain((w) => out.push(w), stopping);
  return out;
}

describe('posted writes', () => {
  it('come out in the order they were queued, with port, size, value and vCPU intact (a JavaScript producer stamps no time)', () => {
    const ring = PostedWrites.create();
    expect(ring.pending).toBe(false);
    expect(ring.post({ vcpu: 7, port: 0xcf8, size: 4, value: 0x8000_f8fc }, running)).toBe(true);
    expect(ring.post({ vcpu: 0, port: 0x3f8, size: 1, value: 0x41 }, running)).toBe(true);
    expect(ring.post({ vcpu: 3, port: 0x70, size: 1, value: 0x8f }, running)).toBe(true);
    expect(ring.pending).toBe(true);
    expect(drained(ring)).toEqual([
      { vcpu: 7, port: 0xcf8, size: 4, value: 0x8000_f8fc, atUs: 0 },
      { vcpu: 0, port: 0x3f8, size: 1, value: 0x41, atUs: 0 },
      { vcpu: 3, port: 0x70, size: 1, value: 0x8f, atUs: 0 },
    ]);
    expect(ring.pending).toBe(false);
    expect(drained(ring)).toEqual([]);
  });

  it('keeps the order across many laps of the ring', () => {
    const ring = PostedWrites.create();
    const seen: number[] = [];
    for (let i = 0; i < POSTED_SLOTS * 5 + 3; i++) {
      ring.post({ vcpu: i % 8, port: 0x3f8, size: 1, value: i & 0xff }, running);
      if (i % 37 === 0) ring.drain((w) => seen.push(w.value));
    }
    ring.drain((w) => seen.push(w.value));
    expect(seen).toEqual(Array.from({ length: POSTED_SLOTS * 5 + 3 }, (_, i) => i & 0xff));
  });

  it('a producer finding the ring full waits, and gives up with the write dropped once the machine stops', () => {
    const ring = PostedWrites.create();
    for (let i = 0; i < POSTED_SLOTS; i++) expect(ring.post({ vcpu: 1, port: 0x3f8, size: 1, value: i & 0xff }, running)).toBe(true);
    let asked = 0;
    const stopped = (): boolean => ++asked < 3;
    expect(ring.post({ vcpu: 1, port: 0x3f8, size: 1, value: 0x5a }, stopped, 1)).toBe(false);
    expect(asked).toBe(3);
    // The full ring is applied; the dropped write's slot was never filled, which ends a stopping drain.
    expect(drained(ring, true)).toHaveLength(POSTED_SLOTS);
    expect(ring.pending).toBe(true);
  });

  it('a write queued after one whose producer has not filled its slot yet waits behind it', () => {
    const ring = PostedWrites.create();
    ring.post({ vcpu: 0, port: 0x70, size: 1, value: 0x0f }, running);
    // Another vCPU took the next ticket and is still filling it (here: never, as at a stop).
    Atomics.add(ring.words, 0, 1);
    ring.post({ vcpu: 2, port: 0x3f8, size: 1, value: 0x42 }, running);
    expect(drained(ring, true).map((w) => w.value)).toEqual([0x0f]);
  });
});
