// The KVM backend's native vCPU threads (native/vcpu-loop.c, built into
// dist/native/libbootgate-vcpu.so by scripts/build-native.mjs), bound through koffi. The pool's
// memory is malloc'd by the library and read here through a view: a slot is 1192 bytes (state, fd,
// tid, rc, errno, index as int32; entry and exit times and the time in the guest as int64 ns of
// CLOCK_MONOTONIC; two pointers; reads and writes answered in empty pages, 64 int32 each; the
// POST code writes answered, with their first and last times, port and last value; per sync
// table entry the reads answered, 24 bytes each; the PM timer reads taken), after a 1096-byte header (bell, count, spin
// budget, KVM_RUN's request number, the epoch, the sync-register table, the posted-write ring's
// address, the table of empty pages, the shadow values, the PM timer's epoch and the quirk that splits its reads, the PCI latch, the PCI image's sequence count and address). The library reports
// its layout (bg_layout) and one that differs from these numbers is refused.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { BootgateError } from '../../errors.js';
import type { ExitKind } from '../exit-info.js';
import { NativeState, type NativeVcpuThreads, type SpinBudget, type Vcpu } from '../types.js';
import { KvmVcpu } from './kvm-vcpu.js';
import * as abi from './kvm-abi.js';
import { viewAt } from './libc.js';
import { POSTED_RING_BYTES } from '../../vcpu/posted-writes.js';

const HEADER = 1096;
/** The PCI configuration image's sequence count in the header, and the image: 256 functions x 256 bytes, then 256 present flags. */
const HEADER_PCI_VERSION = 1080;
const PCI_IMAGE_BYTES = 256 * 256 + 256;
const PCI_PRESENT_AT = 256 * 256;
const HEADER_EPOCH_NS = 24;
const SLOT = 1192;
/** A slot's reads answered per table entry: count, last value (int32), first and last times (int64 ns). */
const SLOT_LOCAL_READS = 608;
const LOCAL_READS_BYTES = 24;
const SLOT_POST_COUNT = 580;
const SLOT_POST_FIRST_NS = 584;
const SLOT_POST_LAST_NS = 592;
const SLOT_POST_PORT = 600;
const SLOT_POST_VALUE = 604;
const SLOT_STATE = 0;
const SLOT_TID = 8;
const SLOT_RC = 12;
const SLOT_ERR = 16;
const SLOT_EXIT_NS = 32;
const SLOT_RUN_NS = 40;
const SLOT_EMPTY_READS = 64;
const SLOT_EMPTY_WRITES = 320;
/** vcpu-pool.h's BG_EMPTY_PAGES. */
export const EMPTY_PAGES = 64;
/** vcpu-pool.h's BG_SYNC_ENTRIES. */
const SYNC_TABLE_ENTRIES = 24;

/** dist/native/ from dist/vmm/accel/kvm/ (tsc) or dist/vmm/vcpu/worker-bundle/ (the workers' bundle). */
function libraryPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'native', 'libbootgate-vcpu.so');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new BootgateError('E_INTERNAL', 'the native vCPU threads library (dist/native/libbootgate-vcpu.so) is missing', {
    hint: 'run npm run build (it compiles vmm/accel/kvm/native/*.c with gcc)',
  });
}

interface Library {
  poolNew(count: number, runRequest: number, spinNs: number, ownerSpinNs: number): bigint | number | null;
  spawn(pool: bigint, index: number): number;
  resume(pool: bigint, index: number, fd: number, run: bigint): void;
  setSync(pool: bigint, entries: Int32Array, n: number): void;
  ring(pool: bigint): bigint | number;
  shadows(pool: bigint): bigint | number;
  pciImage(pool: bigint): bigint | number;
  setPciLatch(pool: bigint, latch: number): void;
  setPmEpoch(pool: bigint, epochNs: bigint, ownerEvery: number): void;
  layout(out: Int32Array): void;
  setEmptyPages(pool: bigint, pages: BigInt64Array, n: number): void;
  idle(pool: bigint, index: number): void;
  quit(pool: bigint, index: number): void;
  waitBell(pool: bigint, seen: number, timeoutMs: number): number;
  nowNs(): bigint | number;
  poolFree(pool: bigint): void;
}

let library: Library | undefined;

function load(): Library {
  if (library) return library;
  const lib = koffi.load(libraryPath());
  library = {
    poolNew: lib.func('uint64_t bg_pool_new(int32_t count, uint64_t run_request, int64_t spin_ns, int64_t owner_spin_ns)') as Library['poolNew'],
    spawn: lib.func('int32_t bg_spawn(uint64_t pool, int32_t index)') as Library['spawn'],
    resume: lib.func('void bg_resume(uint64_t pool, int32_t index, int32_t fd, uint64_t run)') as Library['resume'],
    setSync: lib.func('void bg_set_sync(uint64_t pool, const int32_t *entries, int32_t n)') as Library['setSync'],
    ring: lib.func('uint64_t bg_ring(uint64_t pool)') as Library['ring'],
    shadows: lib.func('uint64_t bg_shadows(uint64_t pool)') as Library['shadows'],
    pciImage: lib.func('uint64_t bg_pci_image(uint64_t pool)') as Library['pciImage'],
    setPciLatch: lib.func('void bg_set_pci_latch(uint64_t pool, int32_t latch)') as Library['setPciLatch'],
    setPmEpoch: lib.func('void bg_set_pm_epoch(uint64_t pool, int64_t epoch_ns, int32_t owner_every)') as Library['setPmEpoch'],
    layout: lib.func('void bg_layout(int32_t *out)') as Library['layout'],
    setEmptyPages: lib.func('void bg_set_empty_pages(uint64_t pool, const int64_t *pages, int32_t n)') as Library['setEmptyPages'],
    idle: lib.func('void bg_idle(uint64_t pool, int32_t index)') as Library['idle'],
    quit: lib.func('void bg_quit(uint64_t pool, int32_t index)') as Library['quit'],
    waitBell: lib.func('int32_t bg_wait_bell(uint64_t pool, int32_t seen, int32_t timeout_ms)') as Library['waitBell'],
    nowNs: lib.func('int64_t bg_now_ns()') as Library['nowNs'],
    poolFree: lib.func('void bg_pool_free(uint64_t pool)') as Library['poolFree'],
  };
  checkLayout(library);
  return library;
}

/** Refuse a library whose pool layout is not the one this file reads (built from another vcpu-pool.h). */
function checkLayout(lib: Library): void {
  const got = new Int32Array(7);
  lib.layout(got);
  const want = [HEADER, SLOT, SLOT_LOCAL_READS, LOCAL_READS_BYTES, SYNC_TABLE_ENTRIES, HEADER_PCI_VERSION, PCI_IMAGE_BYTES];
  if (want.some((w, i) => got[i] !== w)) {
    throw new BootgateError('E_INTERNAL', `the native vCPU threads library lays its pool out as [${[...got].join(', ')}], this code reads [${want.join(', ')}]`, {
      hint: 'rebuild it: npm run build (dist/native/libbootgate-vcpu.so is older or newer than vmm/accel/kvm/native/vcpu-pool.h)',
    });
  }
}

export class KvmNativeThreads implements NativeVcpuThreads {
  private readonly lib: Library;
  private readonly pool: bigint;
  private readonly words: Int32Array;
  private readonly view: DataView;
  /** performance.now() minus CLOCK_MONOTONIC in ms, to put the slots' times on this thread's clock. */
  private readonly clockShiftMs: number;
  readonly postedRing: ArrayBuffer;
  /** The shadow values, one per sync table entry. */
  private readonly shadowWords: Int32Array;
  /** The PCI configuration image the threads read CONFIG_DATA from. */
  private readonly pciImage: Uint8Array;
  /** The pool's epoch on this thread's clock (performance.now() ms). */
  private readonly epochMs: number;

  constructor(
    private readonly count: number,
    spin: SpinBudget,
  ) {
    this.lib = load();
    const raw = this.lib.poolNew(count, abi.KVM_RUN, Math.round(spin.vcpuUs * 1000), Math.round(spin.ownerUs * 1000));
    if (raw === null || raw === 0 || raw === 0n) throw new BootgateError('E_INTERNAL', 'bg_pool_new failed (out of memory)');
    this.pool = BigInt(raw);
    const buf = viewAt(this.pool, HEADER + count * SLOT);
    this.words = new Int32Array(buf);
    this.view = new DataView(buf);
    const before = performance.now();
    const mono = Number(this.lib.nowNs()) / 1e6;
    this.clockShiftMs = (before + performance.now()) / 2 - mono;
    this.epochMs = Number(this.view.getBigInt64(HEADER_EPOCH_NS, true)) / 1e6 + this.clockShiftMs;
    this.postedRing = viewAt(BigInt(this.lib.ring(this.pool)), POSTED_RING_BYTES);
    this.shadowWords = new Int32Array(viewAt(BigInt(this.lib.shadows(this.pool)), SYNC_TABLE_ENTRIES * 4));
    this.pciImage = new Uint8Array(viewAt(BigInt(this.lib.pciImage(this.pool)), PCI_IMAGE_BYTES));
  }

  spawn(index: number): void {
    const rc = this.lib.spawn(this.pool, index);
    if (rc !== 0) throw new BootgateError('E_INTERNAL', `cannot start the native thread of vCPU ${index}: pthread_create returned ${rc}`);
  }

  tid(index: number): number {
    return Atomics.load(this.words, (HEADER + index * SLOT + SLOT_TID) / 4);
  }

  state(index: number): NativeState {
    return Atomics.load(this.words, (HEADER + index * SLOT + SLOT_STATE) / 4) as NativeState;
  }

  resume(index: number, vcpu: Vcpu): void {
    const kvm = vcpu as KvmVcpu;
    this.lib.resume(this.pool, index, kvm.fd, kvm.runAddress);
  }

  idle(index: number): void {
    this.lib.idle(this.pool, index);
  }

  quit(index: number): void {
    this.lib.quit(this.pool, index);
  }

  takeExit(index: number, vcpu: Vcpu): { kind: ExitKind; exitedMs: number } {
    const at = HEADER + index * SLOT;
    const v = this.view;
    const kind = (vcpu as KvmVcpu).decode(v.getInt32(at + SLOT_RC, true), v.getInt32(at + SLOT_ERR, true));
    return {
      kind,
      exitedMs: Number(v.getBigInt64(at + SLOT_EXIT_NS, true)) / 1e6 + this.clockShiftMs,
    };
  }

  runMs(index: number): number {
    return Number(this.view.getBigInt64(HEADER + index * SLOT + SLOT_RUN_NS, true)) / 1e6;
  }

  setSyncTable(entries: ReadonlyArray<{ port: number; span: number; kind: number }>): void {
    // Dropping entries silently would turn sync registers into hand-overs, and shift the shadow indices.
    if (entries.length > SYNC_TABLE_ENTRIES) throw new BootgateError('E_INTERNAL', `${entries.length} sync registers; the native threads take ${SYNC_TABLE_ENTRIES}`);
    const words = new Int32Array(entries.flatMap((e) => [e.port, e.span, e.kind]));
    this.lib.setSync(this.pool, words, entries.length);
  }

  publishPciImage(functions: ReadonlyArray<{ devfn: number; config: Uint8Array | undefined }>, latch?: number): void {
    // A sequence count around the writes (odd meanwhile): a thread reading then retries; Atomics.add is sequentially consistent.
    const version = HEADER_PCI_VERSION / 4;
    Atomics.add(this.words, version, 1);
    for (const { devfn, config } of functions) {
      if (config) this.pciImage.set(config.subarray(0, 256), devfn * 256);
      this.pciImage[PCI_PRESENT_AT + devfn] = config ? 1 : 0;
    }
    if (latch !== undefined) this.lib.setPciLatch(this.pool, latch | 0);
    Atomics.add(this.words, version, 1);
  }

  publishShadow(index: number, value: number): void {
    Atomics.store(this.shadowWords, index, value);
  }

  setPmEpoch(epochMs: number, ownerEvery = 0): void {
    this.lib.setPmEpoch(this.pool, BigInt(Math.round((epochMs - this.clockShiftMs) * 1e6)), ownerEvery);
  }

  takeLocalReads(index: number, entry: number): { count: number; firstMs: number; lastMs: number; value: number } {
    const at = HEADER + index * SLOT + SLOT_LOCAL_READS + entry * LOCAL_READS_BYTES;
    const v = this.view;
    return {
      count: Atomics.exchange(this.words, at / 4, 0),
      value: v.getInt32(at + 4, true) >>> 0,
      firstMs: Number(v.getBigInt64(at + 8, true)) / 1e6 + this.clockShiftMs,
      lastMs: Number(v.getBigInt64(at + 16, true)) / 1e6 + this.clockShiftMs,
    };
  }

  setEmptyPages(pages: readonly number[]): void {
    if (pages.length > EMPTY_PAGES) throw new BootgateError('E_INTERNAL', `${pages.length} empty pages; the native threads take ${EMPTY_PAGES}`);
    this.lib.setEmptyPages(this.pool, BigInt64Array.from(pages, (p) => BigInt(p)), pages.length);
  }

  takeEmptyHits(index: number, entry: number): { reads: number; writes: number } {
    const at = (HEADER + index * SLOT) / 4;
    return {
      reads: Atomics.exchange(this.words, at + SLOT_EMPTY_READS / 4 + entry, 0),
      writes: Atomics.exchange(this.words, at + SLOT_EMPTY_WRITES / 4 + entry, 0),
    };
  }

  postCodes(index: number): { count: number; firstMs: number; lastMs: number; port: number; value: number } {
    const at = HEADER + index * SLOT;
    const v = this.view;
    return {
      count: v.getInt32(at + SLOT_POST_COUNT, true),
      firstMs: Number(v.getBigInt64(at + SLOT_POST_FIRST_NS, true)) / 1e6 + this.clockShiftMs,
      lastMs: Number(v.getBigInt64(at + SLOT_POST_LAST_NS, true)) / 1e6 + this.clockShiftMs,
      port: v.getInt32(at + SLOT_POST_PORT, true),
      value: v.getInt32(at + SLOT_POST_VALUE, true) >>> 0,
    };
  }

  postedAtMs(us: number): number {
    return this.epochMs + us / 1000;
  }

  get bell(): number {
    return Atomics.load(this.words, 0);
  }

  waitBell(seen: number, timeoutMs: number): number {
    return this.lib.waitBell(this.pool, seen, Math.max(0, Math.round(timeoutMs)));
  }

  close(): void {
    for (let i = 0; i < this.count; i++) {
      const s = this.state(i);
      // A thread never started, or done: its slot is free. Any other keeps the memory alive.
      if (s !== NativeState.Done && this.tid(i) !== 0) return;
    }
    this.lib.poolFree(this.pool);
  }
}
