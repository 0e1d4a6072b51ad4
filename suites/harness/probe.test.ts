import { describe, expect, it } from 'vitest';
import { parseProbeEvents, probeBoots, troubleLines } from './probe.js';

const SERIAL = [
  'SeaBIOS (version 1.16.2)\r',
  '\x1b[2J@@bootgate {"event":"init","boot":1,"cpus":2,"online":"0-1","uptime":"2.47"}',
  '@@bootgate {"event":"trouble","line":"ata1: lost interrupt (Status 0x50)"}\r',
  '@@bootgate {"event":"reboot","boot":1,"method":"pci"}',
  '[    2.85] reboot: Restarting system',
  '@@bootgate {"event":"init","boot":2,"cpus":2,"online":"0-1","uptime":"2.40"}',
  '@@bootgate {"event":"done"',
].join('\n');

describe('probe protocol', () => {
  const events = parseProbeEvents(SERIAL);
  it('parses events in order, ignoring console noise and escapes', () => {
    expect(events.map((e) => e.event)).toEqual(['init', 'trouble', 'reboot', 'init']);
  });
  it('lists boot counts and trouble lines', () => {
    expect(probeBoots(events)).toEqual([1, 2]);
    expect(troubleLines(events)).toEqual(['ata1: lost interrupt (Status 0x50)']);
  });
});
