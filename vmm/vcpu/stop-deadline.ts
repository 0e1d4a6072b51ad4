// The supervisor's guard after a stop request: kick every vCPU again at an interval (a kick can
// race a thread's entry into the guest) until all threads reported, and at the deadline give up on
// the ones that did not, so a stuck thread ends the run with its name instead of keeping the
// process alive.

export interface StopDeadlineOptions {
  /** Thread keys that must report (the supervisor's OWNER or a vCPU number). */
  keys: () => readonly number[];
  reported: (key: number) => boolean;
  kickAll: () => void;
  /** Called once, at the deadline, with the keys that had not reported (maybe none). */
  onExpire: (missing: number[]) => void;
  deadlineMs: number;
  rekickMs: number;
}

export interface StopDeadline {
  /** Start the guard; later calls do nothing. */
  arm(): void;
  /** Stop the guard (every thread reported). */
  clear(): void;
}

export function stopDeadline(o: StopDeadlineOptions): StopDeadline {
  let deadline: NodeJS.Timeout | undefined;
  let rekick: NodeJS.Timeout | undefined;
  const clear = (): void => {
    clearTimeout(deadline);
    clearInterval(rekick);
  };
  return {
    arm() {
      if (deadline !== undefined) return;
      rekick = setInterval(o.kickAll, o.rekickMs);
      deadline = setTimeout(() => {
        clearInterval(rekick);
        o.onExpire(o.keys().filter((k) => !o.reported(k)));
      }, o.deadlineMs);
    },
    clear,
  };
}
