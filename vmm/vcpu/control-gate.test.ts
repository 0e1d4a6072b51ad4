import { describe, expect, it } from 'vitest';
import { ControlBlock, StopMode } from './control.js';
import { ControlGate } from './control-gate.js';
import { RunState } from './runner.js';

describe('ControlGate', () => {
  it('runs, then pauses on a new epoch, acknowledges it, and runs again after the resume', () => {
    const control = ControlBlock.create(2);
    const gate = new ControlGate(control, 1);
    expect(gate.poll(false)).toBe(RunState.Running);
    const epoch = control.beginPause();
    expect(gate.poll(false)).toBe(RunState.Paused);
    control.resume(epoch);
    expect(gate.awaitResume()).toBe(RunState.Running);
    expect(control.waitAcknowledged(1, epoch, 0)).toBe(true);
    expect(gate.poll(false)).toBe(RunState.Running);
  });

  it('a parked vCPU never gets Running: it waits for the pause or the stop', () => {
    const control = ControlBlock.create(1);
    const gate = new ControlGate(control, 0);
    // Atomics.wait blocks this thread, so the stop must already be there: request it first.
    control.requestStop(StopMode.Stop);
    expect(gate.poll(true)).toBe(RunState.Stopped);
    const c2 = ControlBlock.create(1);
    const g2 = new ControlGate(c2, 0);
    c2.beginPause();
    expect(g2.poll(true)).toBe(RunState.Paused);
  });

  it('a stop during the pause ends the wait for the resume', () => {
    const control = ControlBlock.create(1);
    const gate = new ControlGate(control, 0);
    control.beginPause();
    expect(gate.poll(false)).toBe(RunState.Paused);
    control.requestStop(StopMode.Diagnose);
    expect(gate.awaitResume()).toBe(RunState.Stopped);
  });
});
