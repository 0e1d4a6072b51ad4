import { describe, expect, it } from 'vitest';
import { formatReport, main, parseFuzzArgs } from './fuzz.js';

describe('npm run fuzz options', () => {
  it('takes ops, seed, devices and max-steps', () => {
    expect(parseFuzzArgs(['--ops', '1000', '--seed', '42', '--device', 'uart16550,fw_cfg', '--max-steps', '8'])).toEqual({
      help: false,
      ops: 1000,
      seed: 42,
      devices: ['uart16550', 'fw_cfg'],
      maxSteps: 8,
    });
    expect(parseFuzzArgs([], () => 9).seed).toBe(9);
  });

  it('refuses bad values with the fix, and main exits 2', () => {
    expect(() => parseFuzzArgs(['--ops', '1e6'])).toThrow(/--ops must be an integer .*fix: --ops 1000000/);
    expect(() => parseFuzzArgs(['--device', 'vga'])).toThrow(/unknown device model "vga" \(fix: one of uart16550/);
    expect(() => parseFuzzArgs(['--opz', '1'])).toThrow(/fix: see --help/);
    expect(main(['--ops', '0'])).toBe(2);
  });

  it('marks a model with findings FAILED in its line', () => {
    const base = { device: 'uart16550', ops: 1000, sequences: 10, seconds: 1, opsPerSecond: 1000, dmaTransfers: 5, dmaRefused: 2, misuses: 3, escapes: 0, outOfBounds: 0, stateFindings: 0, seed: 1 };
    expect(formatReport(base)).not.toMatch(/FAILED/);
    expect(formatReport(base)).toMatch(/DMA 5 run, 2 refused; 3 misuse counted$/);
    expect(formatReport({ ...base, stateFindings: 1, counterexample: 'x' })).toMatch(/1 state;.*FAILED$/);
  });
});
