// The shared control block of one VM process: a SharedArrayBuffer every thread sees. It carries
//   - the run state every vCPU thread obeys: the stop flag and the pause/resume epochs of a machine
//     reset;
//   - what the device owner publishes for the vCPU threads: the VM generation and each vCPU's
//     handle (a reset rebuilds the VM), the backend's kvm_run size, where guest RAM is (for a
//     stall diagnostic's code dump), and the table of sync device registers (devices any thread may
//     serve with its own instance, vmm/devices/sync-devices.ts), and the MMIO map's version (a
//     vCPU thread answers pages it learnt nobody claims while it holds, unassigned-pages.ts);
//   - the doorbell the vCPU threads ring (Atomics.notify) when a mailbox holds a request;
//   - per vCPU its thread id and kick address, so any thread can kick any vCPU out of the guest
//     (the kick byte set to 1, then tgkill SIGUSR2; docs/host-and-lab.md measured ~0.1 ms).
// A kicker writes into the page whose address it read, so a page replaced by a machine reset may
// only be unmapped once no kick that could have read the old address is in flight: kicks count
// themselves in KICKERS, and `waitNoKicks` (after the new address is registered) waits for 0.

import { getpid, SIGUSR2, tgkill, viewAt } from '../accel/kvm/libc.js';
import { spinWhileEqual } from './spin.js';

const STOP = 0;
const PAUSE_EPOCH = 1;
const RESUME_EPOCH = 2;
const DOORBELL = 3;
/** Bumped whenever the sync-register table changes. */
const SYNC_VERSION = 4;
/** Kicks in flight (between reading a kick address and writing into it). */
const KICKERS = 5;
/** The VM generation whose vCPU handles are published (0: none yet); bumped by every rebuild. */
const GENERATION = 6;
const MMAP_SIZE = 8;
const RAM_ADDR_LO = 9;
const RAM_ADDR_HI = 10;
/** Guest RAM below and above 4 GiB, in 4 KiB pages. */
const RAM_BELOW_PAGES = 11;
const RAM_ABOVE_PAGES = 12;
/** scrub-irr-live-vector: the vector the guest last programmed for IOAPIC pin 14 (0: none yet). */
const SCRUB_VECTOR = 13;
/** Bumped by the owner whenever a range is added to or removed from the MMIO bus (unassigned-page caches check it). */
const MMIO_MAP_VERSION = 14;
const SYNC_TABLE = 16;
/** Entries of the sync-register table: [kind, port, span, shadow value]; kind 0 ends it. */
export const SYNC_ENTRIES = 24;
const SYNC_WORDS = 4;
/** A ShadowRead entry's value word while a read must go to the owner. */
export const NO_SHADOW = -1;
const HEADER = SYNC_TABLE + SYNC_ENTRIES * SYNC_WORDS;
const PER_VCPU = 8;
// per-vCPU words
const TID = 0;
const KICK_LO = 1;
const KICK_HI = 2;
const HANDLE = 3;
const ACK_EPOCH = 4;
/** Linear address after the instruction with which this vCPU asked for a machine reset. */
const RESET_RIP_LO = 5;
const RESET_RIP_HI = 6;

const PAGE = 4096;

export enum StopMode {
  Running = 0,
  /** Stop and report (power-off, until matched, error). */
  Stop = 1,
  /** Stop with a diagnostic dump (timeout). */
  Diagnose = 2,
}

/** A port range whose register any thread may serve with its own instance of device `kind`. */
export interface SyncPortEntry {
  kind: number;
  port: number;
  span: number;
}

/** Where guest RAM sits in the VMM's address space. */
export interface GuestRamPlace {
  hostAddress: bigint;
  below4G: number;
  above4G: number;
}

export class ControlBlock {
  readonly words: Int32Array;
  private readonly kickViews = new Map<bigint, Uint8Array>();

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

  // ---- stop ----
  get stopMode(): StopMode {
    return Atomics.load(this.words, STOP) as StopMode;
  }

  /** Ask every thread to stop; wakes anyone waiting on a generation, a pause, a resume or the doorbell. */
  requestStop(mode: StopMode): void {
    Atomics.compareExchange(this.words, STOP, StopMode.Running, mode);
    for (const w of [RESUME_EPOCH, PAUSE_EPOCH, GENERATION, DOORBELL]) Atomics.notify(this.words, w);
  }

  // ---- the VM the device owner built ----
  /** Publish the vCPU handles of a freshly built VM (first boot and every reset). */
  publishVm(handles: readonly number[], mmapSize: number): number {
    handles.forEach((h, i) => Atomics.store(this.words, this.at(i, HANDLE), h));
    Atomics.store(this.words, MMAP_SIZE, mmapSize);
    const generation = Atomics.add(this.words, GENERATION, 1) + 1;
    Atomics.notify(this.words, GENERATION);
    return generation;
  }

  get generation(): number {
    return Atomics.load(this.words, GENERATION);
  }

  get mmapSize(): number {
    return Atomics.load(this.words, MMAP_SIZE);
  }

  /** Wait up to `ms` for a generation after `seen` (or a stop); the generation then. */
  waitGeneration(seen: number, ms: number): number {
    if (Atomics.load(this.words, GENERATION) === seen && this.stopMode === StopMode.Running) {
      Atomics.wait(this.words, GENERATION, seen, ms);
    }
    return Atomics.load(this.words, GENERATION);
  }

  vcpuHandle(vcpu: number): number {
    return Atomics.load(this.words, this.at(vcpu, HANDLE));
  }

  /** The scrub-irr-live-vector quirk's target, which every vCPU thread reads before each entry. */
  publishScrubVector(vector: number): void {
    Atomics.store(this.words, SCRUB_VECTOR, vector);
  }

  get scrubVector(): number {
    return Atomics.load(this.words, SCRUB_VECTOR);
  }

  publishRam(place: GuestRamPlace): void {
    Atomics.store(this.words, RAM_ADDR_LO, Number(place.hostAddress & 0xffff_ffffn) | 0);
    Atomics.store(this.words, RAM_ADDR_HI, Number(place.hostAddress >> 32n) | 0);
    Atomics.store(this.words, RAM_BELOW_PAGES, place.below4G / PAGE);
    Atomics.store(this.words, RAM_ABOVE_PAGES, place.above4G / PAGE);
  }

  ram(): GuestRamPlace | undefined {
    const lo = Atomics.load(this.words, RAM_ADDR_LO) >>> 0;
    const hi = Atomics.load(this.words, RAM_ADDR_HI) >>> 0;
    if (lo === 0 && hi === 0) return undefined;
    return {
      hostAddress: (BigInt(hi) << 32n) | BigInt(lo),
      below4G: (Atomics.load(this.words, RAM_BELOW_PAGES) >>> 0) * PAGE,
      above4G: (Atomics.load(this.words, RAM_ABOVE_PAGES) >>> 0) * PAGE,
    };
  }

  // ---- registration ----
  registerVcpu(vcpu: number, tid: number, kickAddress: bigint): void {
    const w = this.words;
    Atomics.store(w, this.at(vcpu, KICK_LO), Number(kickAddress & 0xffff_ffffn) | 0);
    Atomics.store(w, this.at(vcpu, KICK_HI), Number(kickAddress >> 32n) | 0);
    Atomics.store(w, this.at(vcpu, TID), tid);
    Atomics.notify(w, this.at(vcpu, TID));
  }

  /** The host thread id `vcpu`'s thread registered, or undefined before it did. */
  threadId(vcpu: number): number | undefined {
    const tid = Atomics.load(this.words, this.at(vcpu, TID));
    return tid === 0 ? undefined : tid;
  }

  /** Whether `vcpu`'s thread registered (it can be kicked and will acknowledge pauses). */
  isRegistered(vcpu: number): boolean {
    return Atomics.load(this.words, this.at(vcpu, TID)) !== 0;
  }

  // ---- kicks ----
  /** Kick vCPU `vcpu` out of the guest (no-op before it registered). */
  kick(vcpu: number): void {
    const w = this.words;
    const tid = Atomics.load(w, this.at(vcpu, TID));
    if (tid === 0) return;
    Atomics.add(w, KICKERS, 1);
    try {
      const addr = (BigInt(Atomics.load(w, this.at(vcpu, KICK_HI)) >>> 0) << 32n) | BigInt(Atomics.load(w, this.at(vcpu, KICK_LO)) >>> 0);
      if (addr !== 0n) {
        let view = this.kickViews.get(addr);
        if (view === undefined) {
          view = new Uint8Array(viewAt(addr, 1));
          this.kickViews.set(addr, view);
        }
        view[0] = 1;
      }
    } finally {
      Atomics.sub(w, KICKERS, 1);
    }
    tgkill(getpid(), tid, SIGUSR2);
  }

  /**
   * Wait (up to `ms`) until no kick is in flight. Called after a replacement kick address is
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

  // ---- the reset handshake: the owner bumps the pause epoch, vCPU threads acknowledge and wait for the resume ----
  get pauseEpoch(): number {
    return Atomics.load(this.words, PAUSE_EPOCH);
  }

  /** Ask every vCPU to pause; wakes parked vCPUs (waitPauseAfter). The caller kicks the running ones. */
  beginPause(): number {
    const epoch = Atomics.add(this.words, PAUSE_EPOCH, 1) + 1;
    Atomics.notify(this.words, PAUSE_EPOCH);
    return epoch;
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

  /** A vCPU thread records where it asked for a reset (before it acknowledges the pause). */
  setResetRip(vcpu: number, linear: bigint): void {
    Atomics.store(this.words, this.at(vcpu, RESET_RIP_LO), Number(linear & 0xffff_ffffn) | 0);
    Atomics.store(this.words, this.at(vcpu, RESET_RIP_HI), Number((linear >> 32n) & 0xffff_ffffn) | 0);
  }

  /** Take (and clear) what setResetRip recorded; undefined when nothing was. */
  takeResetRip(vcpu: number): bigint | undefined {
    const lo = Atomics.exchange(this.words, this.at(vcpu, RESET_RIP_LO), 0) >>> 0;
    const hi = Atomics.exchange(this.words, this.at(vcpu, RESET_RIP_HI), 0) >>> 0;
    return lo === 0 && hi === 0 ? undefined : (BigInt(hi) << 32n) | BigInt(lo);
  }

  get resumeEpoch(): number {
    return Atomics.load(this.words, RESUME_EPOCH);
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

  /** Wait up to `ms` until the pause epoch moves past `seen` (or a stop). */
  waitPauseAfter(seen: number, ms: number): boolean {
    if (Atomics.load(this.words, PAUSE_EPOCH) === seen) Atomics.wait(this.words, PAUSE_EPOCH, seen, ms);
    return Atomics.load(this.words, PAUSE_EPOCH) !== seen;
  }

  // ---- the MMIO map ----
  /** Owner: a range was added to or removed from the MMIO bus (or the machine was rebuilt). */
  bumpMmioMap(): void {
    Atomics.add(this.words, MMIO_MAP_VERSION, 1);
  }

  get mmioMapVersion(): number {
    return Atomics.load(this.words, MMIO_MAP_VERSION);
  }

  // ---- sync device registers ----
  /** Replace the table (a seqlock: the version is odd while it is written). */
  publishSyncPorts(entries: readonly SyncPortEntry[]): void {
    // More would need a bigger table; dropping some silently would turn sync registers into hand-overs.
    if (entries.length > SYNC_ENTRIES) throw new Error(`${entries.length} sync registers declared; the control block holds ${SYNC_ENTRIES}`);
    const n = entries.length;
    Atomics.add(this.words, SYNC_VERSION, 1);
    for (let i = 0; i < SYNC_ENTRIES; i++) {
      const e = i < n ? entries[i]! : { kind: 0, port: 0, span: 0 };
      Atomics.store(this.words, SYNC_TABLE + i * SYNC_WORDS, e.kind);
      Atomics.store(this.words, SYNC_TABLE + i * SYNC_WORDS + 1, e.port);
      Atomics.store(this.words, SYNC_TABLE + i * SYNC_WORDS + 2, e.span);
      Atomics.store(this.words, SYNC_TABLE + i * SYNC_WORDS + 3, NO_SHADOW);
    }
    Atomics.add(this.words, SYNC_VERSION, 1);
  }

  /** Owner: publish entry `index`'s ShadowRead value (a byte, or NO_SHADOW). */
  publishShadow(index: number, value: number): void {
    Atomics.store(this.words, SYNC_TABLE + index * SYNC_WORDS + 3, value);
  }

  /**
   * vCPU thread: entry `index`'s ShadowRead value as last published, or NO_SHADOW when the table
   * is no longer the one of `version` (the entry may belong to another register now).
   */
  shadowValue(index: number, version: number): number {
    const value = Atomics.load(this.words, SYNC_TABLE + index * SYNC_WORDS + 3);
    return Atomics.load(this.words, SYNC_VERSION) === version ? value : NO_SHADOW;
  }

  get syncVersion(): number {
    return Atomics.load(this.words, SYNC_VERSION);
  }

  /** A consistent copy of the table, and the version it belongs to. */
  syncPorts(): { version: number; entries: SyncPortEntry[] } {
    for (;;) {
      const version = Atomics.load(this.words, SYNC_VERSION);
      if (version % 2 === 1) continue; // being written: the writer is a few stores from done
      const entries: SyncPortEntry[] = [];
      for (let i = 0; i < SYNC_ENTRIES; i++) {
        const kind = Atomics.load(this.words, SYNC_TABLE + i * SYNC_WORDS);
        if (kind === 0) break;
        entries.push({ kind, port: Atomics.load(this.words, SYNC_TABLE + i * SYNC_WORDS + 1), span: Atomics.load(this.words, SYNC_TABLE + i * SYNC_WORDS + 2) });
      }
      if (Atomics.load(this.words, SYNC_VERSION) === version) return { version, entries };
    }
  }

  // ---- the doorbell (vCPU threads → device owner) ----
  ringDoorbell(): void {
    Atomics.add(this.words, DOORBELL, 1);
    Atomics.notify(this.words, DOORBELL);
  }

  get doorbell(): number {
    return Atomics.load(this.words, DOORBELL);
  }

  /**
   * The device owner's wait: up to `ms` for a ring after `seen`; with `spin` (the bell rang since
   * the last wait, so the next request is likely close) it polls first. An idle owner sleeps.
   */
  waitDoorbell(seen: number, ms: number, spin: boolean): void {
    if (spin && spinWhileEqual(this.words, DOORBELL, seen)) return;
    if (Atomics.load(this.words, DOORBELL) === seen && this.stopMode === StopMode.Running) Atomics.wait(this.words, DOORBELL, seen, ms);
  }
}
