import { describe, expect, it } from 'vitest';
import { attributeResets } from './reset-attribution.js';

const say = (o: object): string => `@@bootgate ${JSON.stringify(o)}\n`;

describe('attributeResets', () => {
  it('attributes each reset by the console before it: the probe reboot line, nothing from POST yet (firmware), anything else', () => {
    const com1 = (data: string) => ({ event: 'serial', port: 'com1', data });
    const reset = { event: 'reset' };
    expect(
      attributeResets([
        com1('SeaBIOS (version 1.16.2)\n'),
        com1(say({ event: 'reboot', boot: 1, method: 't' })),
        reset,
        com1('[   10.3] reboot: Restarting system\n'),
        reset,
        com1('SeaBIOS (version 1.16.2)\nBooting from ROM...\n'),
        reset,
        com1(say({ event: 'init', boot: 1 })),
      ]),
    ).toEqual({ requested: 1, firmware: 1, unrequested: 1 });
  });

  it('calls a reset after other output, without a reboot line, unrequested; no reset, nothing', () => {
    const com1 = (data: string) => ({ event: 'serial', port: 'com1', data });
    expect(attributeResets([com1(say({ event: 'init', boot: 1 })), { event: 'reset' }])).toEqual({ requested: 0, firmware: 0, unrequested: 1 });
    expect(attributeResets([com1('SeaBIOS (version 1.16.2)\n')])).toEqual({ requested: 0, firmware: 0, unrequested: 0 });
  });
});
