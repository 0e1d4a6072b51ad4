import { describe, expect, it } from 'vitest';
import { ResetControl } from './reset-control.js';
import { FakeServices, inp, outp } from './test-services.js';

describe('ResetControl (0xCF9)', () => {
  it("follows SeaBIOS's 0x02 then 0x06: latches, then resets once", () => {
    const services = new FakeServices();
    const rc = new ResetControl(services);
    outp(rc, 0, 0x02);
    expect(services.resets).toEqual([]);
    expect(inp(rc, 0)).toBe(0x02);
    outp(rc, 0, 0x06);
    expect(services.resets).toEqual(['cf9 0x06']);
    expect(inp(rc, 0)).toBe(0x02); // bit 2 self-clears
  });

  it('resets for 0x04 and 0x0E; reads back bits 1 and 3 only', () => {
    const services = new FakeServices();
    const rc = new ResetControl(services);
    outp(rc, 0, 0x04);
    outp(rc, 0, 0x0e);
    expect(services.resets).toEqual(['cf9 0x04', 'cf9 0x0e']);
    expect(inp(rc, 0)).toBe(0x0a);
    outp(rc, 0, 0xf1);
    expect(inp(rc, 0)).toBe(0x00);
    expect(services.resets).toHaveLength(2);
  });

  it('reset() clears the latch', () => {
    const rc = new ResetControl(new FakeServices());
    outp(rc, 0, 0x0a);
    rc.reset();
    expect(inp(rc, 0)).toBe(0x00);
  });
});
