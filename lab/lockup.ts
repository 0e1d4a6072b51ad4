// Telling a wedged lab VM from a busy one by its console: the lab kernel's watchdogs print these
// lines when its CPUs stop making progress (seen under QEMU 7.2 TCG with nested Linux guests).
// `lockupWatch` feeds on the console stream and reports the first such line once.

/** Lab-kernel lines that mean the lab VM is wedged. */
export const LAB_LOCKUP = /watchdog: BUG: soft lockup|rcu: INFO: rcu_preempt detected stalls|rcu_sched detected stalls/;
const CONSOLE_WINDOW = 4096;

/** A console consumer that calls `onLockup` with the first lockup line it sees (a line may arrive in pieces). */
export function lockupWatch(onLockup: (line: string) => void): (chunk: Buffer) => void {
  let text = '';
  let seen = false;
  return (chunk) => {
    if (seen) return;
    text = (text + chunk.toString('latin1')).slice(-CONSOLE_WINDOW);
    const m = LAB_LOCKUP.exec(text);
    if (!m) return;
    seen = true;
    onLockup(text.slice(m.index).split('\n')[0]!.trim());
  };
}

/** How often a heartbeat watch looks at the time since the last beat (ms). */
const HEARTBEAT_CHECK_MS = 5000;

/**
 * The other sign of a wedged lab: a command inside that prints a heartbeat line every few seconds
 * falls silent. `beat()` on each heartbeat; once beats have started, `onStale` is called once
 * with the reason when none came for `staleS` seconds (before the first beat the lab is still
 * booting, and its own deadline covers that). `stop()` ends the watch.
 */
export function heartbeatWatch(staleS: number, onStale: (reason: string) => void): { beat(): void; stop(): void } {
  let lastBeat: number | undefined;
  let fired = false;
  const timer = setInterval(() => {
    if (lastBeat === undefined || fired) return;
    const silentS = (Date.now() - lastBeat) / 1000;
    if (silentS > staleS) {
      fired = true;
      onStale(`lab frozen: no heartbeat for ${Math.round(silentS)} s`);
    }
  }, HEARTBEAT_CHECK_MS);
  return {
    beat: () => {
      lastBeat = Date.now();
    },
    stop: () => clearInterval(timer),
  };
}
