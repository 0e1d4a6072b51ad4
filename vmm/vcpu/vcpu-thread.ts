// A vCPU thread (SMP > 1: every vCPU has one; the device owner runs none). It starts while the
// device owner builds the VM, loading only what its loop needs (the backend's vCPU module, the
// runner, the sync devices), opens its vCPU when the VM's handles are published, registers so it
// can be kicked, and enters the guest. Nobody waits for the others: the guest starts when vCPU 0's
// thread is ready, and an AP whose thread comes later only starts later (KVM holds its INIT/SIPI
// until its first entry; firmware and Linux wait for APs to check in). vCPU 0 first single-steps
// the reset vector. Then the runner: sync registers here, posted writes queued for the owner,
// other device accesses through the mailbox, the reset handshake through the control gate. A machine reset reopens the vCPU from the
// rebuilt VM's handle. At the end the thread reports its exit accounting (and, when diagnosing or
// failing, its registers, local APIC and the code at rip).
//
// Joining late races a machine reset: the thread might open a vCPU of the VM the reset is about to
// replace. So it registers first and then checks that neither the VM generation nor the pause
// epoch moved; the owner bumps the epoch first and then looks at who registered. One of the two
// sees the other: either the owner waits for this thread's acknowledgement, or the thread sees the
// pause, acknowledges it itself, drops that vCPU and tries again after the resume.

import { gettid } from '../accel/kvm/libc.js';
import { openVcpuBackend } from '../accel/open.js';
import type { Vcpu } from '../accel/types.js';
import { SyncPortMap } from '../devices/sync-devices.js';
import { BootgateError } from '../errors.js';
import { ExitAccounting } from '../metrics/exit-accounting.js';
import { codeAround } from './code-dump.js';
import { ControlBlock, StopMode } from './control.js';
import { ControlGate } from './control-gate.js';
import { MailKind, Mailbox } from './mailbox.js';
import { MailboxExitHandler } from './mailbox-exit-handler.js';
import { openRegistered } from './open-vcpu.js';
import { PostedWrites } from './posted-writes.js';
import { postEvent, postStopped, type StoppedReport, type VcpuWorkerData } from './messages.js';
import { stepResetVector } from './reset-step.js';
import { irrScrubber } from './irr-scrubber.js';
import { RipSampler } from './rip-sampler.js';
import { releaseRunPage } from './run-page.js';
import { VcpuRunner } from './runner.js';

/** How long a vCPU thread waits for the device owner to publish the VM. */
const VM_WAIT_MS = 120_000;
const WAIT_SLICE_MS = 50;

export async function runVcpuThread(data: VcpuWorkerData): Promise<void> {
  const control = new ControlBlock(data.controlSab, 0);
  const clockOffset = performance.timeOrigin - data.startEpochMs;
  const emit = (event: Record<string, unknown>): void => postEvent(event, clockOffset);
  const acct = new ExitAccounting(data.vcpu, clockOffset);
  const report: StoppedReport = { vcpu: data.vcpu };
  let vcpu: Vcpu | undefined;
  const sync = new SyncPortMap({ pmTimerEpochMs: data.startEpochMs, emit, readShadow: (index, version) => control.shadowValue(index, version) });
  const handler = new MailboxExitHandler(
    control,
    new Mailbox(data.mailboxSab),
    sync,
    new PostedWrites(data.postedSab),
    data.vcpu,
    emit,
    data.sampleRip && data.vcpu === 0 ? new RipSampler() : undefined,
  );
  try {
    const deadline = performance.now() + VM_WAIT_MS;
    while (control.generation === 0) {
      if (control.stopMode !== StopMode.Running) throw new BootgateError('E_INTERNAL', `vCPU ${data.vcpu} stopped before the VM was built`);
      if (performance.now() > deadline) throw new BootgateError('E_INTERNAL', `the device owner did not build the VM within ${VM_WAIT_MS / 1000} s`);
      control.waitGeneration(0, 50);
    }
    const backend = await openVcpuBackend(data.backend, { mmapSize: control.mmapSize });
    const open = (): Vcpu => openRegistered(backend, control, data.vcpu, data.quirks);
    const joined = join(control, data.vcpu, open);
    vcpu = joined.vcpu;
    const gate = new ControlGate(control, data.vcpu, joined.epoch);
    if (data.vcpu === 0) {
      const step = new TextEncoder().encode(JSON.stringify(stepResetVector(vcpu)));
      handler.ask(MailKind.ResetStep, 0, 1, step.length, step);
    }
    const beforeEntry = irrScrubber(control, data.quirks);
    const runner = new VcpuRunner({
      vcpu,
      gate,
      handler,
      acct,
      ...(beforeEntry ? { beforeEntry } : {}),
      reopen: (old) => {
        const fresh = open();
        releaseRunPage(control, old);
        vcpu = fresh;
        return fresh;
      },
    });
    runner.run();
  } catch (e) {
    if (!(e instanceof Stopped)) {
      const err = e instanceof BootgateError ? e : new BootgateError('E_INTERNAL', (e as Error).message, { cause: e });
      report.error = { code: err.code, message: err.message, hint: err.hint };
      handler.ask(MailKind.Fatal, 0, 0, 0);
    }
  }
  sync.flush();
  report.snapshot = acct.snapshot();
  if (vcpu !== undefined && (control.stopMode === StopMode.Diagnose || report.error)) {
    const d = vcpu.diagnose();
    report.registers = { ...d.registers, code: codeAround(control.ram(), d.ripGpa) };
    report.devices = [d.lapic];
  }
  const sampler = handler.sampler;
  if (sampler) emit(sampler.event());
  postStopped(report);
}

/** The machine stopped while this thread waited to start: nothing to report but its empty accounting. */
export class Stopped extends Error {}

/** Open this thread's vCPU of a VM no reset is replacing (see the header), and the pause epoch it belongs to. */
export function join(control: ControlBlock, index: number, open: () => Vcpu): { vcpu: Vcpu; epoch: number } {
  for (;;) {
    if (control.stopMode !== StopMode.Running) throw new Stopped();
    const epoch = control.pauseEpoch;
    if (control.resumeEpoch < epoch) {
      // A reset is under way: it may already count on this thread (if it registered before).
      if (control.isRegistered(index)) control.acknowledgePause(index, epoch);
      control.waitResumed(epoch, WAIT_SLICE_MS);
      continue;
    }
    const generation = control.generation;
    const vcpu = open();
    if (control.pauseEpoch === epoch && control.generation === generation) return { vcpu, epoch };
    // A reset began meanwhile: leave that vCPU (unkickable first), and join the rebuilt VM.
    control.registerVcpu(index, gettid(), 0n);
    releaseRunPage(control, vcpu);
  }
}
