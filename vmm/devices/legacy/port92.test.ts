import { describe, expect, it } from 'vitest';
import { Port92 } from './port92.js';
import { FakeServices, inp, outp } from './test-services.js';

describe('Port92', () => {
  it('reads back for SeaBIOS read-modify-write of A20', () => {
    const services = new FakeServices();
    const p = new Port92(services);
    expect(inp(p, 0)).toBe(0x00);
    outp(p, 0, inp(p, 0) | 0x02);
    expect(inp(p, 0)).toBe(0x02);
    expect(p.a20).toBe(true);
    outp(p, 0, 0x82);
    expect(inp(p, 0)).toBe(0x82);
    expect(services.resets).toEqual([]);
  });

  it('resets on a 0-to-1 edge of bit 0, which then reads back as 0', () => {
    const services = new FakeServices();
    const p = new Port92(services);
    outp(p, 0, 0x02);
    outp(p, 0, 0x03);
    expect(services.resets).toEqual(['port92']);
    expect(inp(p, 0)).toBe(0x02);
    outp(p, 0, 0x00);
    expect(services.resets).toEqual(['port92']);
  });

  it('reset() restores power-on state', () => {
    const p = new Port92(new FakeServices());
    outp(p, 0, 0x02);
    p.reset();
    expect(inp(p, 0)).toBe(0x00);
    expect(p.a20).toBe(false);
  });
});
