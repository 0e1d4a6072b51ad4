import { describe, expect, it } from 'vitest';
import { ControlBlock, StopMode } from './control.js';
import { ControlGate } from './control-gate.js';
import type { Vcpu } from '../accel/types.js';
import { RunState } from './runner.js';
import { join, Stopped } from './vcpu-thread.js';

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

describe('join (a vCPU thread joining the VM)', () => {
  const fakeVcpu = (log: string[], n: number) => ({ kickAddress: 0n, close: () => log.push(`close ${n}`) }) as unknown as Vcpu;

  it('keeps the vCPU it opened when no reset moved meanwhile, with the epoch it belongs to', () => {
    const control = ControlBlock.create(2);
    control.publishVm([5, 6], 4096);
    const log: string[] = [];
    const got = join(control, 1, () => fakeVcpu(log, 1));
    expect(got.epoch).toBe(0);
    expect(log).toEqual([]);
  });

  it('drops a vCPU opened while a reset began, acknowledges that reset, and does not enter with it', () => {
    const control = ControlBlock.create(2);
    control.publishVm([5, 6], 4096);
    const log: string[] = [];
    let opens = 0;
    expect(() =>
      join(control, 1, () => {
        opens++;
        control.registerVcpu(1, 1234, 0n);
        // The owner begins the pause between this thread's open and its check ...
        control.beginPause();
        const v = fakeVcpu(log, opens);
        // ... and the run stops while the thread waits for the resume (one thread here: no owner to resume it).
        control.requestStop(StopMode.Stop);
        return v;
      }),
    ).toThrow(Stopped);
    expect(opens).toBe(1);
    expect(log).toEqual(['close 1']);
  });
});
