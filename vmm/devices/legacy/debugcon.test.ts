import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../errors.js';
import { Debugcon } from './debugcon.js';
import { FakeServices, inp, outp } from './test-services.js';

describe('Debugcon (0x402)', () => {
  it('reads 0xE9 and passes written bytes on, as SeaBIOS uses it', () => {
    const services = new FakeServices();
    const out: number[] = [];
    const dc = new Debugcon(services, { onOutput: (b) => out.push(b) });
    expect(inp(dc, 0)).toBe(0xe9);
    for (const c of 'SeaBIOS\n') outp(dc, 0, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('SeaBIOS\n');
    expect(services.misuse).toEqual([]);
  });

  it('treats wider accesses as misuse, like QEMU (1-byte only)', () => {
    const services = new FakeServices();
    const out: number[] = [];
    const dc = new Debugcon(services, { onOutput: (b) => out.push(b) });
    expect(inp(dc, 0, 2)).toBe(0xffff);
    outp(dc, 0, 0x4142, 2);
    expect(out).toEqual([]);
    expect(services.misuse).toHaveLength(2);
  });

  it('requires onOutput', () => {
    expect(() => new Debugcon(new FakeServices(), {} as never)).toThrow(BootgateError);
  });
});
