import { describe, expect, it } from 'vitest';
import { RESET_LOOP_START } from '../../guests/reset-loop-probe.js';
import type { BootResult } from '../../targets/boot-result.js';
import { checkResetLoop, RESET_LOOP } from './reset-loop-check.js';

const line = `${RESET_LOOP_START}\r\n`;

function boot(over: Partial<BootResult> = {}, resets = 3, refused: Array<Record<string, unknown>> = [{ count: 4, max: 3, source: 'cf9 0x06' }]): BootResult {
  return {
    target: 'vmm:kvm',
    status: 'error',
    exitCode: 1,
    serial: line.repeat(resets + 1),
    debugcon: '',
    milestones: {},
    resets: resets + 1,
    wallMs: 900,
    error: { code: 'E_GUEST', message: 'reset loop: the guest asked for reset 4 (cf9 0x06 on vCPU 0), more than the 3 this run allows' },
    events: [
      ...Array.from({ length: resets }, (_, i) => ({ event: 'reset', t: i, source: 'cf9 0x06', count: i + 1 })),
      ...refused.map((e) => ({ event: 'reset-refused', t: 9, ...e })),
    ],
    stderr: '',
    ...over,
  };
}

describe('checkResetLoop', () => {
  it('passes a run that restarted the guest up to its limit and ended on the reset past it', () => {
    expect(checkResetLoop(boot(), 3)).toEqual([]);
  });

  it('fails a loop that ran to its timeout (no limit), naming how it ended', () => {
    const f = checkResetLoop(boot({ status: 'timeout', error: undefined, serial: line.repeat(40) }, 39, []), 3);
    expect(f.map((x) => x.assertion)).toEqual([RESET_LOOP.restarted, RESET_LOOP.endedOnLimit, RESET_LOOP.refusedPastLimit]);
    expect(f[0]!.message).toBe('the guest started 40 times; with a limit of 3 resets it starts 4 times');
    expect(f[1]!.message).toBe('the run ended timeout; expected E_GUEST naming a reset loop');
  });

  it('fails a run that ended early on something else, or carried out the reset past its limit', () => {
    const other = checkResetLoop(boot({ error: { code: 'E_INTERNAL', message: 'vCPU 0 did not pause for the machine reset' } }), 3);
    expect(other.map((x) => x.assertion)).toEqual([RESET_LOOP.endedOnLimit]);
    const overrun = checkResetLoop(boot({ serial: line.repeat(5) }, 4, [{ count: 5, max: 3, source: 'cf9 0x06' }]), 3);
    expect(overrun.map((x) => x.assertion)).toEqual([RESET_LOOP.restarted, RESET_LOOP.refusedPastLimit]);
    expect(overrun[1]!.message).toBe('4 resets carried out and 1 refused (reset 5 of 3); expected 3 carried out, then reset 4 refused');
  });
});
