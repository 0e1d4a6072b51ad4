import { describe, expect, it } from 'vitest';
import { UnassignedPages } from './unassigned-pages.js';

describe('UnassignedPages', () => {
  it('answers nothing it was not told, and a learnt page only at the version it was learnt at', () => {
    const pages = new UnassignedPages();
    expect(pages.covers(0xb8000, 2, 7)).toBe(false);
    pages.learn(0xb8000, 7);
    expect(pages.covers(0xb8ffe, 2, 7)).toBe(true);
    expect(pages.covers(0xb9000, 2, 7)).toBe(false); // the next page was never said empty
    // A range was inserted or removed somewhere: everything learnt before goes.
    expect(pages.covers(0xb8000, 2, 8)).toBe(false);
    expect(pages.size).toBe(0);
    expect(pages.covers(0xb8000, 2, 7)).toBe(false);
  });

  it('never answers an access that crosses into the next page', () => {
    const pages = new UnassignedPages();
    pages.learn(0xb8000, 1);
    expect(pages.covers(0xb8ffc, 4, 1)).toBe(true);
    expect(pages.covers(0xb8ffe, 4, 1)).toBe(false);
  });

  it('ignores a reply that found the page shared (-1) or that is older than what it holds', () => {
    const pages = new UnassignedPages();
    pages.learn(0xa0000, -1);
    expect(pages.covers(0xa0000, 1, 0)).toBe(false);
    expect(pages.covers(0xa0000, 1, 5)).toBe(false); // the thread has seen version 5
    pages.learn(0xa0000, 4);
    expect(pages.covers(0xa0000, 1, 5)).toBe(false);
    pages.learn(0xa0000, 5);
    expect(pages.covers(0xa0000, 1, 5)).toBe(true);
  });

  it('stops growing at its cap instead of remembering a whole scanned hole', () => {
    const pages = new UnassignedPages();
    for (let p = 0; p < 10_000; p++) pages.learn(0x1_0000_0000 + p * 4096, 3);
    expect(pages.size).toBe(256);
    expect(pages.covers(0x1_0000_0000, 1, 3)).toBe(true);
    expect(pages.covers(0x1_0000_0000 + 9_999 * 4096, 1, 3)).toBe(false);
  });
});
