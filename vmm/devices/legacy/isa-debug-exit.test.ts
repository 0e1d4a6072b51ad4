import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../errors.js';
import { IsaDebugExit } from './isa-debug-exit.js';
import { FakeServices, inp, outp } from './test-services.js';

describe('IsaDebugExit (0xF4)', () => {
  it('powers off with (v << 1) | 1', () => {
    const services = new FakeServices();
    const dev = new IsaDebugExit(services);
    expect(dev.span).toBe(1);
    outp(dev, 0, 0x10);
    outp(dev, 0, 0x00);
    expect(services.powerOffs).toEqual([
      { source: 'isa-debug-exit', code: 0x21 },
      { source: 'isa-debug-exit', code: 0x01 },
    ]);
  });

  it('takes 4-byte values without 32-bit overflow when iosize is 4', () => {
    const services = new FakeServices();
    const dev = new IsaDebugExit(services, { iosize: 4 });
    expect(dev.span).toBe(4);
    outp(dev, 0, 0xffff_ffff, 4);
    expect(services.powerOffs).toEqual([{ source: 'isa-debug-exit', code: 0x1_ffff_ffff }]);
  });

  it('reads 0 like QEMU, so a guest can tell it from an unassigned port', () => {
    const dev = new IsaDebugExit(new FakeServices(), { iosize: 2 });
    expect(inp(dev, 0)).toBe(0);
    expect(inp(dev, 0, 2)).toBe(0);
  });

  it('rejects iosize other than 1, 2, 4', () => {
    expect(() => new IsaDebugExit(new FakeServices(), { iosize: 3 as never })).toThrow(BootgateError);
  });
});
