import { describe, expect, it } from 'vitest';
import { ConsoleMatcher, SEABIOS_MILESTONES, stripAnsi } from './milestones.js';

describe('ConsoleMatcher', () => {
  it('finds SeaBIOS milestones across chunk boundaries and ANSI escapes', () => {
    const m = new ConsoleMatcher(SEABIOS_MILESTONES, /No bootable device/);
    expect(m.feed('com1', '\x1b[2J\x1b[1;1HSeaBIOS (vers')).toEqual([]);
    expect(m.feed('com1', 'ion 1.16.2-debian-1.16.2-1)\r\n')).toEqual([
      { name: 'firmware-banner', line: 'SeaBIOS (version 1.16.2-debian-1.16.2-1)' },
    ]);
    expect(m.untilMatched).toBe(false);
    expect(m.feed('com1', 'No bootable dev')).toEqual([]);
    expect(m.feed('com1', 'ice.')).toEqual([{ name: 'boot-attempt', line: 'No bootable device' }]);
    expect(m.untilMatched).toBe(true);
  });
  it('reports each milestone once and applies --until to COM1 only', () => {
    const m = new ConsoleMatcher(SEABIOS_MILESTONES, /Booting/);
    expect(m.feed('debugcon', 'Booting from ROM...\n').map((x) => x.name)).toEqual(['boot-attempt', 'option-rom']);
    expect(m.untilMatched).toBe(false);
    expect(m.feed('com1', 'Booting from ROM...\n')).toEqual([]);
    expect(m.untilMatched).toBe(true);
  });
  it('says when the matched --until line has ended, so a run stops with the milestones on it whole', () => {
    const m = new ConsoleMatcher(SEABIOS_MILESTONES, /Booting from|No bootable device/);
    expect(m.feed('com1', 'SeaBIOS (version 1.16.2)\r\nBooting from')).toEqual([{ name: 'firmware-banner', line: 'SeaBIOS (version 1.16.2)' }]);
    expect(m.untilMatched).toBe(true);
    expect(m.untilLineEnded()).toBe(false);
    expect(m.feed('com1', ' Hard Disk...\r\n')).toEqual([{ name: 'boot-attempt', line: 'Booting from Hard Disk...' }]);
    expect(m.untilLineEnded()).toBe(true);
    expect(new ConsoleMatcher(SEABIOS_MILESTONES).untilLineEnded()).toBe(false);
  });
  it('notices a SeaBIOS PCI panic on the debug console', () => {
    const m = new ConsoleMatcher(SEABIOS_MILESTONES);
    m.feed('debugcon', '=== PCI new allocation pass #2 ===\nPCI: out of 32bit add');
    expect(m.panic).toBeUndefined();
    m.feed('debugcon', 'ress space\n');
    expect(m.panic).toEqual({ port: 'debugcon', line: 'PCI: out of 32bit address space' });
  });
  it('strips colour and cursor escapes', () => {
    expect(stripAnsi('\x1b[0m\x1b[?25lA\x1b[1;1HB')).toBe('AB');
  });
});
