// SMP 1: the device owner runs vCPU 0 on its own thread and serves its exits directly
// (direct-exit-handler.ts), because a hop to another thread would be pure cost there. This file
// opens the vCPU, single-steps the reset vector, and runs it under the one vCPU runner (runner.ts)
// with a gate that carries out what the machine asks for between exits: power-off, or a reset
// (the owner's, which rebuilds the VM; the runner then reopens the vCPU). The vCPU and its
// accounting stay readable for the owner's final report.

import type { Vcpu } from '../accel/types.js';
import type { VmConfig } from '../config.js';
import { BootgateError } from '../errors.js';
import type { PendingAction, PendingReset } from '../machine/machine.js';
import type { PcInstance } from '../machine/pc-instance.js';
import { ExitAccounting } from '../metrics/exit-accounting.js';
import { type ControlBlock, StopMode } from './control.js';
import { DirectExitHandler } from './direct-exit-handler.js';
import { irrScrubber } from './irr-scrubber.js';
import type { StoppedReport } from './messages.js';
import { openRegistered } from './open-vcpu.js';
import { judgeResetStep, stepResetVector } from './reset-step.js';
import { RipSampler } from './rip-sampler.js';
import { releaseRunPage } from './run-page.js';
import { type RunGate, RunState, VcpuRunner } from './runner.js';

type Outcome = NonNullable<StoppedReport['outcome']>;

/** What the owner lends the run: its machine, control block and clock, and its machine actions. */
export interface OwnVcpuOwner {
  config: VmConfig;
  machine: PcInstance;
  control: ControlBlock;
  clockOffset: number;
  emit(event: Record<string, unknown>): void;
  /** The machine's pending action, taken (cleared). */
  takePending(): PendingAction | null;
  powerOff(pending: Extract<PendingAction, { kind: 'power-off' }>): Outcome;
  resetMachine(pending: PendingReset): void;
  /** Machine resets carried out so far. */
  resets(): number;
}

export class OwnVcpu {
  /** The vCPU now (a reset reopens it), and its accounting: the owner's final report reads both. */
  vcpu: Vcpu | undefined;
  acct: ExitAccounting | undefined;

  constructor(private readonly o: OwnVcpuOwner) {}

  run(): Outcome {
    const { config, machine, control } = this.o;
    const backend = machine.accel.vcpuBackend();
    // The VM's handles are published (start, and every reset before the runner reopens).
    const open = (): Vcpu => openRegistered(backend, control, 0, config.quirks);
    const vcpu = open();
    this.vcpu = vcpu;
    this.acct = new ExitAccounting(0, this.o.clockOffset);
    this.o.emit(judgeResetStep(stepResetVector(vcpu), (gpa) => machine.regionAt(gpa), config.quirks));
    let outcome: Outcome = { status: 'stopped', resets: 0 };
    const gate: RunGate = {
      poll: (parked) => {
        if (control.stopMode !== StopMode.Running) return RunState.Stopped;
        const pending = this.o.takePending();
        if (pending?.kind === 'power-off') {
          outcome = this.o.powerOff(pending);
          return RunState.Stopped;
        }
        if (pending) {
          this.o.resetMachine(pending);
          return RunState.Paused;
        }
        if (parked) throw new BootgateError('E_INTERNAL', 'vCPU 0 is parked for a reset nobody asked for');
        return RunState.Running;
      },
      awaitResume: () => (control.stopMode === StopMode.Running ? RunState.Running : RunState.Stopped),
    };
    const handler = new DirectExitHandler(machine.pc, (e) => this.o.emit(e), config.sampleRipMs === undefined ? undefined : new RipSampler());
    const beforeEntry = irrScrubber(control, config.quirks);
    const runner = new VcpuRunner({
      vcpu,
      gate,
      handler,
      acct: this.acct,
      ...(beforeEntry ? { beforeEntry } : {}),
      reopen: (old) => {
        const fresh = open();
        releaseRunPage(control, old);
        this.vcpu = fresh;
        return fresh;
      },
      describeGpa: (gpa) => {
        const region = machine.regionAt(gpa);
        return region ? `in ${region}` : 'nothing mapped there';
      },
    });
    try {
      runner.run();
    } finally {
      if (handler.sampler) this.o.emit(handler.sampler.event());
    }
    if (outcome.status === 'stopped') outcome = { status: 'stopped', resets: this.o.resets() };
    return outcome;
  }
}
