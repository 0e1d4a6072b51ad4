// The run gate of a vCPU thread: the runner's view of the control block (stop flag, reset pause
// epochs). A parked vCPU (it shut down) waits here for the reset's pause instead of entering the
// guest again: after a shutdown AMD's KVM has put the vCPU in its INIT state, and entering it
// would run firmware code from the reset vector beside the real BSP until the pause arrived.

import { type ControlBlock, StopMode } from './control.js';
import { type RunGate, RunState } from './runner.js';

/** How often a waiting vCPU thread looks at the stop flag. */
const WAIT_SLICE_MS = 50;

export class ControlGate implements RunGate {
  private seenPause: number;
  private pendingEpoch = 0;

  /** `seenPause`: the pause epoch the vCPU's current vCPU object belongs to (default: now). */
  constructor(
    private readonly control: ControlBlock,
    private readonly vcpu: number,
    seenPause = control.pauseEpoch,
  ) {
    this.seenPause = seenPause;
  }

  poll(parked: boolean): RunState {
    const c = this.control;
    for (;;) {
      if (c.stopMode !== StopMode.Running) return RunState.Stopped;
      const epoch = c.pauseEpoch;
      if (epoch !== this.seenPause) {
        this.pendingEpoch = epoch;
        return RunState.Paused;
      }
      if (!parked) return RunState.Running;
      c.waitPauseAfter(this.seenPause, WAIT_SLICE_MS);
    }
  }

  awaitResume(): RunState {
    const c = this.control;
    const epoch = this.pendingEpoch;
    c.acknowledgePause(this.vcpu, epoch);
    while (!c.waitResumed(epoch, WAIT_SLICE_MS)) {
      if (c.stopMode !== StopMode.Running) return RunState.Stopped;
    }
    this.seenPause = epoch;
    return RunState.Running;
  }
}
