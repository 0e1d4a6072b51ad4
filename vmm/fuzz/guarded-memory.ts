// Host memory for the fuzzer with guard zones: the bytes a device is given sit between two runs of
// a canary pattern inside one ArrayBuffer, so a device that writes past either end of guest RAM,
// a flash array or an exit buffer (through a wider view of the same buffer, or an off-by-one in
// an offset) changes a canary, and `intact()` names where. A typed-array write out of bounds is
// silently dropped by JavaScript, so this catches the writes that did land, the ones that matter.

import type { HostMemory } from '../memory/host-memory.js';

const CANARY = 0xa5;
/** One page each side: wider than any single access (8 bytes) or DMA chunk straddle we test. */
export const GUARD_BYTES = 4096;

export class GuardedBytes {
  readonly bytes: Uint8Array;
  private readonly whole: Uint8Array;

  constructor(
    readonly name: string,
    size: number,
    guard = GUARD_BYTES,
  ) {
    this.whole = new Uint8Array(size + 2 * guard);
    this.whole.fill(CANARY, 0, guard);
    this.whole.fill(CANARY, guard + size);
    this.bytes = this.whole.subarray(guard, guard + size);
  }

  /** Undefined when both guard zones still hold the canary, else where the first change is. */
  damage(): string | undefined {
    const guard = this.bytes.byteOffset;
    for (let i = 0; i < guard; i++) {
      if (this.whole[i] !== CANARY) return `${this.name}: byte ${guard - i} before the start was written`;
    }
    const end = guard + this.bytes.length;
    for (let i = end; i < this.whole.length; i++) {
      if (this.whole[i] !== CANARY) return `${this.name}: byte ${i - end} past the end was written`;
    }
    return undefined;
  }

  /** Back to the state of a new one: canaries in the guards, zeros in between. */
  clear(): void {
    const guard = this.bytes.byteOffset;
    this.whole.fill(CANARY, 0, guard);
    this.bytes.fill(0);
    this.whole.fill(CANARY, guard + this.bytes.length);
  }

  /** As HostMemory (no host address: nothing maps it). */
  asHostMemory(): HostMemory {
    return { address: 0n, size: this.bytes.length, bytes: this.bytes };
  }
}

// The fuzzer builds a machine per sequence; reusing its few megabytes (cleared) instead of
// allocating them again halves the cost of a short sequence.
const pool = new Map<string, GuardedBytes[]>();

/** A cleared GuardedBytes of this name and size, from the pool when one was released. */
export function acquireGuarded(name: string, size: number): GuardedBytes {
  const g = pool.get(`${name}/${size}`)?.pop();
  if (!g) return new GuardedBytes(name, size);
  g.clear();
  return g;
}

export function releaseGuarded(g: GuardedBytes): void {
  const key = `${g.name}/${g.bytes.length}`;
  const list = pool.get(key) ?? [];
  list.push(g);
  pool.set(key, list);
}
