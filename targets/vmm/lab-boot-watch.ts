// A boot inside a lab batch that runs far past its own timeout: the stack under test did not end
// itself (a thread that never stopped, a process the lab kernel cannot kill), and every boot queued
// behind it would wait for the whole batch's deadline. This watch reads the batch script's
// `@@batch ID start|exit` lines as they arrive and reports the first boot still running
// OVERRUN_SLACK_S after its timeout, so the batch can stop that lab, fail that boot with what it
// left, and run the boots behind it in a fresh lab.

import { BATCH_LINE } from './lab-batch-progress.js';

/**
 * Seconds a boot may run past its timeout before it counts as overrun: the stack's start inside
 * the lab (Node, QEMU), the own VMM's stop deadline and grace, and the QEMU driver's kill grace
 * inside the lab (120 s) all fit.
 */
export const OVERRUN_SLACK_S = 150;
const CHECK_EVERY_MS = 5_000;

export interface BootOverrunWatch {
  /** Feed the batch's stdout as it arrives. */
  feed(text: string): void;
  stop(): void;
}

/**
 * `timeoutOf(id)`: the boot's own timeout in seconds (undefined for lines of no boot of this
 * batch). `onOverrun` is called once, with the boot and how long it had run.
 */
export function bootOverrunWatch(timeoutOf: (id: string) => number | undefined, onOverrun: (id: string, ranS: number) => void, now: () => number = Date.now): BootOverrunWatch {
  let running: { id: string; since: number; limitS: number } | undefined;
  let partial = '';
  let fired = false;
  const timer = setInterval(() => {
    if (running === undefined || fired) return;
    const ranS = (now() - running.since) / 1000;
    if (ranS > running.limitS) {
      fired = true;
      onOverrun(running.id, Math.round(ranS));
    }
  }, CHECK_EVERY_MS);
  return {
    feed(text) {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = BATCH_LINE.exec(line);
        if (!m) continue;
        const timeoutS = timeoutOf(m[1]!);
        if (timeoutS === undefined) continue;
        // A retry is a new run of the same boot with its own timeout.
        if (m[2] === 'exit') running = undefined;
        else running = { id: m[1]!, since: now(), limitS: timeoutS + OVERRUN_SLACK_S };
      }
    },
    stop: () => clearInterval(timer),
  };
}
