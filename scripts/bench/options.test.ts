import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../vmm/errors.js';
import { parseOptions, USAGE } from './options.js';

describe('parseOptions', () => {
  it('has defaults: 3 runs, 3 Debian runs, iterations by where the boots run', () => {
    expect(parseOptions([])).toEqual({ help: false, json: null, iterations: null, runs: 3, seabios: null, linuxRuns: 3, baseline: null, only: null });
  });

  it('reads every option', () => {
    expect(parseOptions(['--json', 'out.json', '--iterations', '500', '--runs', '5', '--seabios', '/x/bios.bin', '--linux-runs', '4', '--baseline', 'v0.1'])).toEqual({
      help: false,
      json: 'out.json',
      iterations: 500,
      runs: 5,
      seabios: '/x/bios.bin',
      linuxRuns: 4,
      baseline: 'v0.1',
      only: null,
    });
    expect(parseOptions(['--only', 'disk,uefi,disk']).only).toEqual(['disk', 'uefi']);
  });

  it('rejects bad values and unknown options with E_CONFIG naming the option', () => {
    for (const argv of [['--iterations', '1'], ['--iterations', '1e5'], ['--runs', '0'], ['--bogus'], ['extra'], ['--baseline', '-x'], ['--linux-runs', '21']]) {
      expect(() => parseOptions(argv), argv.join(' ')).toThrow(BootgateError);
    }
    expect(() => parseOptions(['--iterations', 'x'])).toThrow(/--iterations/);
    expect(() => parseOptions(['--baseline', 'HEAD~1', '--linux-runs', '0'])).toThrow(/--baseline HEAD~1 compares the Debian SMP 8 boots, which --linux-runs 0 leaves out/);
    expect(() => parseOptions(['--only', 'disk,sata'])).toThrow(/--only.*comparisons from pio, resetVector, linux, uefi, disk/);
    expect(() => parseOptions(['--only', ''])).toThrow(/--only/);
    expect(() => parseOptions(['--only', 'disk', '--baseline', 'HEAD~1'])).toThrow(/--only disk leaves out/);
  });

  it('documents --baseline in the usage text', () => {
    expect(USAGE).toMatch(/--baseline REF +also build the own VMM at git REF/);
  });
});
