import { describe, expect, it } from 'vitest';
import { PostCode } from './post-code.js';
import { inp, outp } from './test-services.js';

describe('PostCode (0x80)', () => {
  it('records the last code and a count; reads 0xFF like QEMU', () => {
    const p = new PostCode();
    expect(p.lastValue).toBe(-1);
    expect(p.count).toBe(0);
    outp(p, 0, 0x12);
    outp(p, 0, 0x34);
    expect(p.lastValue).toBe(0x34);
    expect(p.count).toBe(2);
    expect(inp(p, 0)).toBe(0xff);
    expect(inp(p, 0, 2)).toBe(0xffff);
  });

  it('keeps a wide write whole and reset() clears both', () => {
    const p = new PostCode();
    outp(p, 0, 0xbeef, 2);
    expect(p.lastValue).toBe(0xbeef);
    p.reset();
    expect([p.lastValue, p.count]).toEqual([-1, 0]);
  });

  it('handles a million writes to one buffer quickly (no per-access allocation on the hot path)', () => {
    const p = new PostCode();
    const data = new Uint8Array(1);
    const t0 = performance.now();
    for (let i = 0; i < 1_000_000; i++) {
      data[0] = i & 0xff;
      p.write(0, data);
    }
    expect(p.count).toBe(1_000_000);
    expect(p.lastValue).toBe(999_999 & 0xff);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
