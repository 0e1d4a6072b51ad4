// An application-processor vCPU thread: runs KVM_RUN for one AP. It starts in wait-for-SIPI
// inside KVM (in-kernel irqchip) until the guest's INIT/SIPI. Port 0x80 POST codes and PM timer
// reads (a function of time, same epoch as the device's) are answered here; every other device
// access goes to the device owner (the BSP thread) through the mailbox.
// It obeys the reset handshake (pause → acknowledge → reopen the rebuilt vCPU) and the stop flag.

import { parentPort } from 'node:worker_threads';
import { ExitKind } from '../accel/exit-info.js';
import { gettid } from '../accel/kvm/libc.js';
import { KvmVcpu } from '../accel/kvm/kvm-vcpu.js';
import { getLE, setLE } from '../devices/device.js';
import { PmTimer } from '../devices/pci/piix4-pm.js';
import { BootgateError } from '../errors.js';
import { ExitAccounting } from '../metrics/exit-accounting.js';
import { ControlBlock, StopMode } from './control.js';
import { MAIL_FATAL, MAIL_SHUTDOWN, Mailbox } from './mailbox.js';
import { faultRegisters } from './fault-registers.js';
import { releaseRunPage } from './run-page.js';
import { type ApWorkerData, postEvent, type StoppedReport, type WorkerMessage } from './messages.js';

const POST_CODE_PORT = 0x80;
const WAIT_SLICE_MS = 50;

export class ApWorker {
  private readonly control: ControlBlock;
  private readonly mailbox: Mailbox;
  private readonly acct: ExitAccounting;
  private vcpu: KvmVcpu;
  private seenPause = 0;
  private readonly pmTimer: PmTimer;

  constructor(private readonly data: ApWorkerData) {
    this.control = new ControlBlock(data.controlSab, 0);
    this.mailbox = new Mailbox(data.mailboxSab);
    this.acct = new ExitAccounting(data.vcpu, performance.timeOrigin - data.startEpochMs);
    this.seenPause = this.control.pauseEpoch;
    this.pmTimer = new PmTimer({ epochMs: data.startEpochMs });
    this.vcpu = this.open();
  }

  private open(): KvmVcpu {
    const v = new KvmVcpu(this.control.vcpuFd(this.data.vcpu), this.data.vcpu, this.data.mmapSize);
    this.control.registerVcpu(this.data.vcpu, gettid(), v.fd, v.runAddress);
    return v;
  }

  start(): void {
    const report: StoppedReport = { vcpu: this.data.vcpu, snapshot: this.acct.snapshot() };
    try {
      this.loop();
    } catch (e) {
      const err = e instanceof BootgateError ? e : new BootgateError('E_INTERNAL', (e as Error).message, { cause: e });
      report.error = { code: err.code, message: err.message, hint: err.hint };
      this.ask(MAIL_FATAL, 0, 0, 0);
    }
    report.snapshot = this.acct.snapshot();
    if (this.control.stopMode === StopMode.Diagnose || report.error) {
      const d = this.vcpu.diagnose();
      report.registers = d.registers;
      report.devices = [d.lapic];
    }
    (parentPort as { postMessage(m: WorkerMessage): void }).postMessage({ type: 'stopped', report });
  }

  /** Send a request to the device owner and wait for its answer (or a stop). */
  private ask(kind: number, addr: number, size: number, count: number, payload?: Uint8Array): boolean {
    this.mailbox.post(kind, addr, size, count, payload);
    this.control.ringDoorbell();
    this.control.kick(0);
    while (!this.mailbox.waitDone(WAIT_SLICE_MS)) {
      if (this.control.stopMode !== StopMode.Running) return false;
    }
    this.mailbox.finish();
    return true;
  }

  private pauseForReset(epoch: number): void {
    this.control.acknowledgePause(this.data.vcpu, epoch);
    while (!this.control.waitResumed(epoch, WAIT_SLICE_MS)) {
      if (this.control.stopMode !== StopMode.Running) return;
    }
    this.seenPause = epoch;
    const old = this.vcpu;
    this.vcpu = this.open();
    releaseRunPage(this.control, old);
  }

  private loop(): void {
    const { acct, control } = this;
    for (;;) {
      if (control.stopMode !== StopMode.Running) return;
      const epoch = control.pauseEpoch;
      if (epoch !== this.seenPause) {
        this.pauseForReset(epoch);
        continue;
      }
      const t0 = performance.now();
      const kind = this.vcpu.run();
      const t1 = performance.now();
      acct.runMs += t1 - t0;
      const exit = this.vcpu.exit;
      switch (kind) {
        case ExitKind.IoIn:
        case ExitKind.IoOut: {
          let handedOver = false;
          if (kind === ExitKind.IoIn && exit.size === 4 && exit.count === 1 && exit.port === control.pmTimerPort) {
            // The PM timer is a function of time only: answer it here, no trip to the device owner.
            setLE(exit.data, this.pmTimer.read());
          } else if (exit.port !== POST_CODE_PORT) {
            const n = exit.size * exit.count;
            if (!this.ask(kind, exit.port, exit.size, exit.count, kind === ExitKind.IoOut ? exit.data : undefined)) return;
            if (kind === ExitKind.IoIn) exit.data.set(this.mailbox.data.subarray(0, n));
            handedOver = true;
          }
          const t2 = performance.now();
          if (handedOver) acct.handover(t2 - t1, exit.port);
          acct.pio(kind, exit.port, getLE(exit.data.subarray(0, exit.size)), t1, t2);
          break;
        }
        case ExitKind.MmioRead:
        case ExitKind.MmioWrite: {
          if (!this.ask(kind, exit.gpa, exit.size, 1, kind === ExitKind.MmioWrite ? exit.data : undefined)) return;
          if (kind === ExitKind.MmioRead) exit.data.set(this.mailbox.data.subarray(0, exit.size));
          const t2 = performance.now();
          acct.handover(t2 - t1, exit.gpa, true);
          acct.mmio(kind, exit.gpa, getLE(exit.data), 'via-bsp', t1, t2);
          break;
        }
        case ExitKind.Interrupted:
          this.vcpu.setImmediateExit(false);
          acct.other(kind, t1, performance.now());
          break;
        case ExitKind.Shutdown:
          postEvent({ event: 'triple-fault', vcpu: this.data.vcpu, registers: faultRegisters(this.vcpu.dumpRegisters()) }, performance.timeOrigin - this.data.startEpochMs);
          acct.other(kind, t1, performance.now());
          this.ask(MAIL_SHUTDOWN, 0, 0, 0);
          break;
        default:
          acct.other(kind, t1, performance.now());
          throw new BootgateError('E_GUEST', `vCPU ${this.data.vcpu} stopped with exit ${ExitKind[kind]}`);
      }
    }
  }
}
