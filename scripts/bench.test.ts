// Unit tests for the benchmark runner's pure parts: options, parsing of the C baseline's line and
// of the own VMM's events, line matching, figures. No accelerator, no child processes.

import { describe, expect, it, vi } from 'vitest';
import { BootgateError } from '../vmm/errors.js';
import type { Figure } from './bench-figures.js';
import { linuxFigures } from './bench-linux.js';
import { finish, formatTable, jsonRows, LineMarks, median, milestones, parseBaselineOutput, parseEvents, parseOptions, promisedFigures, qemuArgs, seriesFigures, vmmPioRoundTripUs } from './bench.js';

const finalWith = (hottestPorts: unknown, status = 'power-off') => ({ event: 'final', t: 1200, status, exitCode: 0, profile: { hottestPorts } });

describe('parseOptions', () => {
  it('has defaults', () => {
    expect(parseOptions([])).toEqual({ help: false, json: null, iterations: 100_000, runs: 3, seabios: null, linuxRuns: 2 });
  });

  it('reads every option', () => {
    expect(parseOptions(['--json', 'out.json', '--iterations', '500', '--runs', '5', '--seabios', '/x/bios.bin', '--linux-runs', '0'])).toEqual({
      help: false,
      json: 'out.json',
      iterations: 500,
      runs: 5,
      seabios: '/x/bios.bin',
      linuxRuns: 0,
    });
  });

  it('rejects bad values and unknown options with E_CONFIG', () => {
    for (const argv of [['--iterations', '1'], ['--iterations', '1e5'], ['--runs', '0'], ['--bogus'], ['extra']]) {
      expect(() => parseOptions(argv)).toThrow(BootgateError);
    }
    expect(() => parseOptions(['--iterations', 'x'])).toThrow(/--iterations/);
  });
});

describe('parseBaselineOutput', () => {
  it('reads the JSON line', () => {
    const r = parseBaselineOutput('{"exits":100000,"firstToLastNs":950000000,"roundTripNs":9500.1,"wallNs":960000000}\n');
    expect(r.roundTripNs).toBe(9500.1);
    expect(r.exits).toBe(100_000);
  });

  it('names a missing field', () => {
    expect(() => parseBaselineOutput('{"exits":3}')).toThrow(/firstToLastNs/);
    expect(() => parseBaselineOutput('garbage')).toThrow(/not a JSON line/);
  });
});

describe('vmmPioRoundTripUs', () => {
  it('computes (last - first) / (count - 1) for port 0x80', () => {
    const events = [finalWith([{ port: 0x80, count: 1001, handleNs: 5, firstMs: 100, lastMs: 110 }])];
    expect(vmmPioRoundTripUs(events, 1001)).toBeCloseTo(10, 9);
  });

  it('explains a missing contract piece', () => {
    expect(() => vmmPioRoundTripUs([], 10)).toThrow(/no "final" event/);
    expect(() => vmmPioRoundTripUs([{ event: 'final', status: 'power-off', profile: {} }], 10)).toThrow(/hottestPorts/);
    expect(() => vmmPioRoundTripUs([finalWith([{ port: 0x70, count: 1 }])], 10)).toThrow(/no port 0x80 entry \(ports: 112\)/);
    expect(() => vmmPioRoundTripUs([finalWith([{ port: 0x80, count: 10 }])], 10)).toThrow(/firstMs/);
    expect(() => vmmPioRoundTripUs([finalWith([{ port: 0x80, count: 9, firstMs: 0, lastMs: 1 }])], 10)).toThrow(/counted 9/);
    expect(() => vmmPioRoundTripUs([{ ...finalWith([]), status: 'timeout' }], 10)).toThrow(/status timeout/);
  });
});

describe('parseEvents and milestones', () => {
  it('drops a truncated last line only', () => {
    const text = '{"event":"milestone","t":1,"name":"vm-created"}\n{"event":"milestone","t":5,"name":"firmware-banner"}\n{"event":"mile';
    expect(parseEvents(text)).toHaveLength(2);
    expect(() => parseEvents('{"a\n{"event":"x","t":1}\n')).toThrow(/line 1/);
  });

  it('keeps the first time of each milestone', () => {
    const events = parseEvents('{"event":"milestone","t":3,"name":"reset"}\n{"event":"milestone","t":9,"name":"reset"}\n{"event":"serial","t":4}\n');
    expect([...milestones(events)]).toEqual([['reset', 3]]);
  });
});

describe('LineMarks', () => {
  it('marks the first match per pattern, also on a partial line', () => {
    const m = new LineMarks([
      ['banner', /SeaBIOS \(version/],
      ['boot', /No bootable device|Booting from/],
    ]);
    m.push('\x1bc\x1b[2JSeaBIOS (vers', 10);
    m.push('ion 1.16.2)\r\nBooting from Hard', 20);
    m.push(' Disk...\r\nBooting from Floppy\r\n', 30);
    expect(m.seen.get('banner')).toBe(20);
    expect(m.seen.get('boot')).toBe(20);
  });
});

describe('figures', () => {
  it('takes the median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  it('puts the ratio and target on the compared median only', () => {
    const figs = seriesFigures('pio.vmm.roundTrip', 'own', 'us', [11, 10, 12], { median: 10, target: 1.1 });
    expect(figs.map((f) => f.name)).toEqual(['pio.vmm.roundTrip.run1', 'pio.vmm.roundTrip.run2', 'pio.vmm.roundTrip.run3', 'pio.vmm.roundTrip.median']);
    expect(figs[0]!.ratio).toBeNull();
    expect(figs[3]).toMatchObject({ value: 11, ratio: 1.1, target: 1.1 });
    expect(jsonRows(figs)[3]).toEqual({ name: 'pio.vmm.roundTrip.median', value: 11, unit: 'us', ratio: 1.1, target: 1.1 });
    expect(formatTable(figs)).toMatch(/ratio 1\.10 \(target <= 1\.10: met\)/);
  });
});

describe('qemuArgs', () => {
  it('boots the BIOS alone on KVM with the serial console on stdio', () => {
    const args = qemuArgs('/b.bin').join(' ');
    expect(args).toContain('-accel kvm -machine pc -m 512 -smp 1 -bios /b.bin');
    expect(args).toContain('-nodefaults -nographic -vga none -serial stdio -no-reboot');
  });
});

describe('every promised figure is printed or a failure line', () => {
  const opts = { ...parseOptions([]), runs: 2, linuxRuns: 2 };
  const all = promisedFigures(opts);
  const printedAs = (names: string[]): Figure[] => names.map((name) => ({ name, label: name, value: 1, unit: 'ms', ratio: null, target: null }));

  function run(figures: Figure[], failures: Array<{ what: string; reason: string }> = []) {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      return { code: finish(opts, figures, failures), text: out.join('\n') };
    } finally {
      vi.restoreAllMocks();
    }
  }

  it('promises each run and the median of every stack, the four Debian stacks included', () => {
    expect(all).toContain('linux.own.smp8.resetToInit.run2');
    expect(all).toContain('linux.qemu.smp8.resetToInit.median');
    expect(all).toContain('seabios.vmm.bootAttempt.median');
    expect(promisedFigures({ runs: 1, linuxRuns: 0 }).some((n) => n.startsWith('linux.'))).toBe(false);
  });

  it('exits 0 when everything was measured', () => {
    expect(run(printedAs(all)).code).toBe(0);
  });

  it('the bench that exited 0 with one Debian sample per stack and no SMP 8 figures now fails, naming each gap', () => {
    const { figures, failures } = linuxFigures(
      { 'own.smp1': { samples: [13_300] }, 'qemu.smp1': { samples: [13_500] }, 'own.smp8': { samples: [] }, 'qemu.smp8': { samples: [] } },
      opts.linuxRuns,
    );
    const others = printedAs(all.filter((n) => !n.startsWith('linux.')));
    const { code, text } = run([...others, ...figures], failures);
    expect(code).toBe(1);
    expect(text).toContain('measurements that could not be made:');
    expect(text).toMatch(/Debian reset to init, own VMM, SMP 8: 0 of 2 runs gave a sample/);
    for (const name of ['linux.own.smp1.resetToInit.run2', 'linux.own.smp8.resetToInit.median', 'linux.qemu.smp8.resetToInit.run1']) {
      expect(text).toContain(`figure ${name}: promised but not measured`);
    }
    expect(text).not.toContain('figure linux.own.smp1.resetToInit.run1:');
  });
});
