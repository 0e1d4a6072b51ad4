import { describe, expect, it } from 'vitest';
import { checkRomd, parseRomdProbe, ROMD, remapLimit } from './romd-check.js';

describe('checkRomd', () => {
  it('passes a flash that reads as fast after the command as before it, and answers ready', () => {
    const p = parseRomdProbe('junk\nflash-romd: status 80 before 00000c00 trapped 00200000 after 00000d10\n');
    expect(p).toEqual({ status: 0x80, before: 0xc00, trapped: 0x200000, after: 0xd10 });
    expect(checkRomd(p)).toEqual([]);
  });

  it('passes the PVM host, where a mapped read costs a quarter of a trap (measured: 4.2 M against 18 M)', () => {
    expect(checkRomd({ status: 0x80, before: 4_243_024, trapped: 18_000_000, after: 4_262_294 })).toEqual([]);
  });

  it('fails a flash never mapped back (every read after the command trapped), natively and on the PVM host', () => {
    const storm = checkRomd(parseRomdProbe('flash-romd: status 80 before 00001000 trapped 00400000 after 00400000'));
    expect(storm.map((f) => f.assertion)).toEqual([ROMD.remapped]);
    expect(storm[0]!.message).toBe(
      '4194304 cycles for the reads after the command, against 4096 before it and 4194304 for trapped reads (limit 131072, their geometric mean): every read after the command trapped',
    );
    // The PVM host of the measurement above: 3.4x before, which a fixed 4x bound let through.
    const pvm = checkRomd({ status: 0x80, before: 5_869_952, trapped: 18_500_000, after: 19_846_748 });
    expect(pvm.map((f) => f.assertion)).toEqual([ROMD.remapped]);
  });

  it('the limit is the geometric mean of a mapped and a trapped read: a read just over it fails, just under it passes', () => {
    const p = { status: 0x80, before: 1000, trapped: 100_000, after: 0 };
    expect(remapLimit(p)).toBe(10_000);
    expect(checkRomd({ ...p, after: 10_001 }).map((f) => f.assertion)).toEqual([ROMD.remapped]);
    expect(checkRomd({ ...p, after: 9_999 })).toEqual([]);
  });

  it('fails a flash that traps in read-array mode from the start (no contrast), a wrong status, and a probe that said nothing', () => {
    const flat = checkRomd({ status: 0x80, before: 18_000_000, trapped: 19_000_000, after: 18_500_000 });
    expect(flat.map((f) => f.assertion)).toEqual([ROMD.contrast]);
    expect(flat[0]!.message).toContain('(1.1x, at least 1.5x)');
    expect(checkRomd({ status: 0xff, before: 1, trapped: 100, after: 1 }).map((f) => f.assertion)).toEqual([ROMD.status]);
    expect(checkRomd(parseRomdProbe('SeaBIOS'))).toEqual([{ assertion: ROMD.ran, message: 'no "flash-romd:" line on the debug console' }]);
    // The old line without a trapped figure is no report: the probe and the checker must match.
    expect(parseRomdProbe('flash-romd: status 80 before 00001000 after 00400000')).toBeUndefined();
  });
});
