import { describe, expect, it } from 'vitest';
import { checkRomd, parseRomdProbe, ROMD } from './romd-check.js';

describe('checkRomd', () => {
  it('passes a flash that reads as fast after the command as before it, and answers ready', () => {
    const p = parseRomdProbe('junk\nflash-romd: status 80 before 00000c00 after 00000d10\n');
    expect(p).toEqual({ status: 0x80, before: 0xc00, after: 0xd10 });
    expect(checkRomd(p)).toEqual([]);
  });

  it('fails a flash never mapped back (every read after the command trapped), a wrong status, and a probe that said nothing', () => {
    const storm = checkRomd(parseRomdProbe('flash-romd: status 80 before 00001000 after 00400000'));
    expect(storm.map((f) => f.assertion)).toEqual([ROMD.remapped]);
    expect(storm[0]!.message).toBe('4194304 cycles for the reads after the command against 4096 before it (1024.0x, at most 4x): every read after the command trapped');
    expect(checkRomd({ status: 0xff, before: 1, after: 1 }).map((f) => f.assertion)).toEqual([ROMD.status]);
    expect(checkRomd(parseRomdProbe('SeaBIOS'))).toEqual([{ assertion: ROMD.ran, message: 'no "flash-romd:" line on the debug console' }]);
  });
});
