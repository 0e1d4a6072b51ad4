import { describe, expect, it } from 'vitest';
import { ConsoleBuffer } from './console-buffer.js';

describe('ConsoleBuffer', () => {
  it('flushes at a newline and keeps partial lines until polled late enough', () => {
    const out: string[] = [];
    const buf = new ConsoleBuffer((t) => out.push(t));
    for (const c of 'SeaBIOS\nBoot') buf.push(c.charCodeAt(0));
    expect(out).toEqual(['SeaBIOS\n']);
    buf.poll(performance.now());
    expect(out).toHaveLength(1);
    buf.poll(performance.now() + 1000);
    expect(out).toEqual(['SeaBIOS\n', 'Boot']);
    expect(buf.totalBytes).toBe(12);
  });
  it('flushes full chunks of 256 bytes', () => {
    const out: string[] = [];
    const buf = new ConsoleBuffer((t) => out.push(t));
    for (let i = 0; i < 300; i++) buf.push(0x41);
    expect(out.map((s) => s.length)).toEqual([256]);
  });
});
