// Reset-loop checker: judges one boot of the reset-loop probe (guests/probes/reset-loop.asm),
// a guest that resets through 0xCF9 on every start, forever, booted with a reset limit of `max`.
// The guest's evidence: it started max + 1 times (its line on COM1 each time), so every reset up
// to the limit was carried out and came back. The VMM's: the run ended on the limit (E_GUEST,
// a reset loop, the reset past the limit refused and not carried out), not on the timeout.

import { RESET_LOOP_START } from '../../guests/reset-loop-probe.js';
import { type BootResult, eventsOf } from '../../targets/boot-result.js';
import type { Failure } from './failures.js';

export const RESET_LOOP = {
  restarted: 'every reset up to the limit came back (the guest started once more each time)',
  endedOnLimit: 'the run ended on its reset limit as a reset loop, not on its timeout',
  refusedPastLimit: 'the reset past the limit was refused, not carried out',
} as const;

export function checkResetLoop(r: BootResult, max: number): Failure[] {
  const failures: Failure[] = [];
  const starts = r.serial.split(RESET_LOOP_START).length - 1;
  if (starts !== max + 1) {
    failures.push({ assertion: RESET_LOOP.restarted, message: `the guest started ${starts} times; with a limit of ${max} resets it starts ${max + 1} times` });
  }
  const ended = `the run ended ${r.status}${r.error ? ` (${r.error.code}: ${r.error.message})` : ''}`;
  if (r.status !== 'error' || r.error?.code !== 'E_GUEST' || !/reset loop/.test(r.error.message)) {
    failures.push({ assertion: RESET_LOOP.endedOnLimit, message: `${ended}; expected E_GUEST naming a reset loop` });
  }
  const done = eventsOf(r, 'reset').length;
  const refused = eventsOf(r, 'reset-refused') as unknown as Array<{ count: number; max: number }>;
  if (done !== max || refused.length !== 1 || refused[0]!.count !== max + 1 || refused[0]!.max !== max) {
    failures.push({
      assertion: RESET_LOOP.refusedPastLimit,
      message: `${done} resets carried out and ${refused.length} refused (${refused.map((e) => `reset ${e.count} of ${e.max}`).join(', ') || 'none'}); expected ${max} carried out, then reset ${max + 1} refused`,
    });
  }
  return failures;
}
