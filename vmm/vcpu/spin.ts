// Spin-then-sleep for the hand-over path. A hand-over is two wake-ups (vCPU → owner, owner →
// vCPU); a thread asleep in Atomics.wait (a futex) costs a scheduler wake-up each time, which in
// the nested lab (a TCG-emulated kernel) is most of a hop (~0.5 ms measured, docs/measurements.md).
// So a waiter polls first, calling sched_yield between polls: when another thread needs the CPU it
// gets it at once, and otherwise the poller sees the change within a few microseconds. Past the
// budget the thread sleeps in the futex as before, so an idle machine costs no CPU.
// BOOTGATE_SPIN_US sets the budget (0 turns polling off, to measure what it buys).

import { schedYield } from '../accel/kvm/libc.js';

const DEFAULT_SPIN_US = 2000;

const DEFAULT_OWNER_SPIN_US = 20_000;

function spinBudgetUs(variable: string, fallback: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

export const SPIN_US = spinBudgetUs('BOOTGATE_SPIN_US', DEFAULT_SPIN_US);

/**
 * The device owner's budget while it waits for native vCPU threads' exits: longer, because an owner
 * asleep costs the next exit its wake-up (about 2.5 ms in the nested lab, against 0.25 ms when it
 * polled: docs/vcpu-layer.md), and SeaBIOS's device accesses come a few milliseconds apart.
 * BOOTGATE_OWNER_SPIN_US sets it.
 */
export const OWNER_SPIN_US = spinBudgetUs('BOOTGATE_OWNER_SPIN_US', DEFAULT_OWNER_SPIN_US);

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
