// The shared control block of one VM process: a SharedArrayBuffer every thread sees. It carries
// the stop flag, the reset handshake (pause/resume epochs), the AP→BSP doorbell, and per vCPU its
// thread id, kvm_run address and current fd so that any thread can kick any vCPU out of KVM_RUN
// (immediate_exit = 1, then tgkill SIGUSR2; docs/host-and-lab.md measured ~0.1 ms).
// A kicker writes into the kvm_run page whose address it read, so a page replaced by a machine
// reset may only be unmapped once no kick that could have read the old address is in flight: kicks
// count themselves in KICKERS, and `waitNoKicks` (after the new address is registered) waits for 0.

import { getpid, SIGUSR2, tgkill, viewAt } from '../accel/kvm/libc.js';

const STOP = 0;
const PAUSE_EPOCH = 1;
const RESUME_EPOCH = 2;
const DOORBELL = 3;
/** The PM timer's port (PMBASE + 8) or 0 while the PM I/O block is not decoded: APs answer it locally. */
const PM_TIMER_PORT = 4;
/** Kicks in flight (between reading a kvm_run address and writing immediate_exit into it). */
const KICKERS = 5;
const HEADER = 8;
const PER_VCPU = 8;
// per-vCPU words
const TID = 0;
const RUN_LO = 1;
const RUN_HI = 2;
const FD = 3;
const ACK_EPOCH = 4;

export enum StopMode {
  Running = 0,
  /** Stop and report (power-off, until matched, error). */
  Stop = 1,
  /** Stop with a diagnostic dump (timeout). */
  Diagnose = 2,
}

export class ControlBlock {
  readonly words: Int32Array;
  private readonly runViews = new Map<bigint, Uint8Array>();

  constructor(
    readonly sab: SharedArrayBuffer,
    readonly vcpus: number,
  ) {
    this.words = new Int32Array(sab);
  }

  static create(vcpus: number): ControlBlock {
    return new ControlBlock(new SharedArrayBuffer(4 * (HEADER + PER_VCPU * vcpus)), vcpus);
  }

  private at(vcpu: number, word: number): number {
    return HEADER + PER_VCPU * vcpu + word;
  }

  get stopMode(): StopMode {
    return Atomics.load(this.words, STOP) as StopMode;
  }

  requestStop(mode: StopMode): void {
    Atomics.compareExchange(this.words, STOP, StopMode.Running, mode);
    Atomics.notify(this.words, RESUME_EPOCH);
  }

  registerVcpu(vcpu: number, tid: number, fd: number, runAddress: bigint): void {
    const w = this.words;
    Atomics.store(w, this.at(vcpu, TID), tid);
    Atomics.notify(w, this.at(vcpu, TID));
    Atomics.store(w, this.at(vcpu, FD), fd);
    Atomics.store(w, this.at(vcpu, RUN_LO), Number(runAddress & 0xffff_ffffn) | 0);
    Atomics.store(w, this.at(vcpu, RUN_HI), Number(runAddress >> 32n) | 0);
  }

  /** Wait up to `ms` until every vCPU thread registered (its thread id is known, so it can be kicked). */
  waitAllRegistered(ms: number): boolean {
    const deadline = performance.now() + ms;
    for (let i = 0; i < this.vcpus; i++) {
      const at = this.at(i, TID);
      while (Atomics.load(this.words, at) === 0) {
        const left = deadline - performance.now();
        if (left <= 0) return false;
        Atomics.wait(this.words, at, 0, Math.min(left, 50));
      }
    }
    return true;
  }

  setVcpuFd(vcpu: number, fd: number): void {
    Atomics.store(this.words, this.at(vcpu, FD), fd);
  }

  vcpuFd(vcpu: number): number {
    return Atomics.load(this.words, this.at(vcpu, FD));
  }

  /** Kick vCPU `vcpu` out of KVM_RUN (no-op before it registered). */
  kick(vcpu: number): void {
    const w = this.words;
    const tid = Atomics.load(w, this.at(vcpu, TID));
    if (tid === 0) return;
    Atomics.add(w, KICKERS, 1);
    try {
      const addr = (BigInt(Atomics.load(w, this.at(vcpu, RUN_HI)) >>> 0) << 32n) | BigInt(Atomics.load(w, this.at(vcpu, RUN_LO)) >>> 0);
      if (addr !== 0n) {
        let view = this.runViews.get(addr);
        if (view === undefined) {
          view = new Uint8Array(viewAt(addr, 8));
          this.runViews.set(addr, view);
        }
        view[1] = 1; // kvm_run.immediate_exit
      }
    } finally {
      Atomics.sub(w, KICKERS, 1);
    }
    tgkill(getpid(), tid, SIGUSR2);
  }

  /**
   * Wait (up to `ms`) until no kick is in flight. Called after a replacement kvm_run address is
   * registered: every kick that could still hold the old address has then finished with it.
   */
  waitNoKicks(ms: number): boolean {
    const deadline = performance.now() + ms;
    while (Atomics.load(this.words, KICKERS) !== 0) {
      if (performance.now() > deadline) return false;
      Atomics.wait(this.words, KICKERS, Atomics.load(this.words, KICKERS), 1);
    }
    return true;
  }

  kickAll(except = -1): void {
    for (let i = 0; i < this.vcpus; i++) if (i !== except) this.kick(i);
  }

  // Reset handshake: the BSP bumps the pause epoch, APs acknowledge it and wait for the resume epoch.
  get pauseEpoch(): number {
    return Atomics.load(this.words, PAUSE_EPOCH);
  }

  beginPause(): number {
    return Atomics.add(this.words, PAUSE_EPOCH, 1) + 1;
  }

  acknowledgePause(vcpu: number, epoch: number): void {
    Atomics.store(this.words, this.at(vcpu, ACK_EPOCH), epoch);
    Atomics.notify(this.words, this.at(vcpu, ACK_EPOCH));
  }

  /** Wait up to `ms` for `vcpu` to acknowledge `epoch`. */
  waitAcknowledged(vcpu: number, epoch: number, ms: number): boolean {
    const i = this.at(vcpu, ACK_EPOCH);
    const seen = Atomics.load(this.words, i);
    if (seen === epoch) return true;
    Atomics.wait(this.words, i, seen, ms);
    return Atomics.load(this.words, i) === epoch;
  }

  resume(epoch: number): void {
    Atomics.store(this.words, RESUME_EPOCH, epoch);
    Atomics.notify(this.words, RESUME_EPOCH);
  }

  /** Wait up to `ms` for the resume of `epoch` (or a stop). */
  waitResumed(epoch: number, ms: number): boolean {
    const seen = Atomics.load(this.words, RESUME_EPOCH);
    if (seen >= epoch) return true;
    Atomics.wait(this.words, RESUME_EPOCH, seen, ms);
    return Atomics.load(this.words, RESUME_EPOCH) >= epoch;
  }

  set pmTimerPort(port: number) {
    Atomics.store(this.words, PM_TIMER_PORT, port);
  }

  get pmTimerPort(): number {
    return Atomics.load(this.words, PM_TIMER_PORT);
  }

  ringDoorbell(): void {
    Atomics.add(this.words, DOORBELL, 1);
  }

  get doorbell(): number {
    return Atomics.load(this.words, DOORBELL);
  }
}
