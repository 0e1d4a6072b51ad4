import { describe, expect, it } from 'vitest';
import { portFuzzDoneLine, PORT_FUZZ_BACK } from '../../guests/port-fuzz-probe.js';
import type { BootResult } from '../../targets/boot-result.js';
import { checkHostileGuest, HOSTILE } from './hostile-check.js';

const SHA = 'ab'.repeat(32);
const expectation = { seed: 0x5eed, ops: 20000, imageSha256: SHA, vmmView: true };

function boot(over: Partial<BootResult> = {}, events: Array<Record<string, unknown>> = []): BootResult {
  return {
    target: 'vmm:kvm',
    status: 'until-matched',
    exitCode: 0,
    serial: `garbage\x1b\x07${portFuzzDoneLine(0x5eed, 20000)}\r\n${PORT_FUZZ_BACK}\r\n`,
    debugcon: '',
    milestones: {},
    resets: 1,
    wallMs: 9000,
    events: [
      { event: 'firmware-high', t: 1, mapped: true, bytes: 65536, sha256: SHA, writesTrapped: 519 },
      { event: 'guest-refusals', t: 2, misuse: 759, dma: [] },
      ...events.map((e) => ({ t: 3, event: 'x', ...e })),
    ],
    stderr: '',
    ...over,
  };
}

describe('checkHostileGuest', () => {
  it('passes a machine that prints after the fuzz, comes back from its reset, kept its ROM and reported refusals', () => {
    expect(checkHostileGuest(boot(), expectation)).toEqual([]);
    expect(checkHostileGuest(boot({ resets: 0, events: [] }), { ...expectation, vmmView: false })).toEqual([]);
  });

  it('fails a VMM that died during the fuzz', () => {
    const f = checkHostileGuest(boot({ status: 'error', serial: 'garbage', error: { code: 'E_INTERNAL', message: 'uart threw' } }), expectation);
    expect(f.map((x) => x.assertion)).toEqual([HOSTILE.survived, HOSTILE.resetBack]);
    expect(f[0]!.message).toMatch(/the boot ended error \(E_INTERNAL: uart threw\)/);
  });

  it('fails a reset that never came back, and a fuzz that reset the machine itself', () => {
    const f = checkHostileGuest(boot({ status: 'timeout', serial: `${portFuzzDoneLine(0x5eed, 20000)}\r\n`, resets: 2 }), expectation);
    expect(f.map((x) => x.assertion)).toEqual([HOSTILE.resetBack, HOSTILE.oneReset]);
  });

  it('fails a "reset came back" printed before the fuzz finished (a reset in the middle of it)', () => {
    const f = checkHostileGuest(boot({ serial: `${PORT_FUZZ_BACK}\r\n${portFuzzDoneLine(0x5eed, 20000)}` }), expectation);
    expect(f.map((x) => x.assertion)).toEqual([HOSTILE.resetBack]);
  });

  it('fails a ROM the guest could change, and a VMM that reports no refusals', () => {
    const r = boot();
    r.events = [
      { event: 'firmware-high', t: 1, mapped: true, bytes: 65536, sha256: 'cd'.repeat(32), writesTrapped: 0 },
      { event: 'guest-refusals', t: 2, misuse: 0, dma: [] },
    ];
    expect(checkHostileGuest(r, expectation).map((x) => x.assertion)).toEqual([HOSTILE.romIntact, HOSTILE.refusals]);
    r.events = [];
    expect(checkHostileGuest(r, expectation).map((x) => x.message)).toEqual(['the VMM reported no firmware-high event', 'the VMM reported no guest-refusals event']);
  });
});
