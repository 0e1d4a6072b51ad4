// Spin-then-sleep for the hand-over path. A hand-over is two wake-ups (vCPU → owner, owner →
// vCPU); a thread asleep in Atomics.wait (a futex) costs a scheduler wake-up each time, which in
// the nested lab (a TCG-emulated kernel) is most of a hop (~0.5 ms measured, docs/measurements.md).
// So a waiter polls first, calling sched_yield between polls: when another thread needs the CPU it
// gets it at once, and otherwise the poller sees the change within a few microseconds. Past the
// budget the thread sleeps in the futex as before, so an idle machine costs no CPU.
// BOOTGATE_SPIN_US sets the budget (0 turns polling off, to measure what it buys).

import { schedYield } from '../accel/kvm/libc.js';

const DEFAULT_SPIN_US = 2000;

function spinBudgetUs(): number {
  const raw = process.env.BOOTGATE_SPIN_US;
  if (raw === undefined || raw === '') return DEFAULT_SPIN_US;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_SPIN_US;
}

export const SPIN_US = spinBudgetUs();

/** Poll `words[index]` while it equals `value`, yielding between polls, for at most `budgetUs`; true when it changed. */
export function spinWhileEqual(words: Int32Array, index: number, value: number, budgetUs = SPIN_US): boolean {
  if (Atomics.load(words, index) !== value) return true;
  if (budgetUs === 0) return false;
  const deadline = performance.now() + budgetUs / 1000;
  for (;;) {
    schedYield();
    if (Atomics.load(words, index) !== value) return true;
    if (performance.now() > deadline) return false;
  }
}
