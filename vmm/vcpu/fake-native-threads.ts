// Native vCPU threads without threads, for unit tests of native-vcpus.ts (as fake-vcpu.ts is a
// vCPU without an accelerator): each slot's state, the bell, the sync table, shadow values, the
// PCI image, the PM epoch and the counts a real thread keeps (vcpu-loop.c, kept-exits.c), held in
// plain fields a test sets and reads.

import { ExitKind } from '../accel/exit-info.js';
import { NativeState, type NativeVcpuThreads, type Vcpu } from '../accel/types.js';

/**
 * Native threads without threads: `resume` marks a slot Run; the test (or a kick) ends the entry
 * with `exit`, which rings the bell; `takeExit` replays the vCPU's next scripted exit.
 */
export class FakeThreads implements NativeVcpuThreads {
  bell = 0;
  states: NativeState[];
  tids: number[];
  resumes: number[] = [];
  /** Slots that ignore kicks and quits (a thread stuck in the accelerator). */
  stuck = new Set<number>();
  closed = false;
  constructor(count: number) {
    this.states = Array.from({ length: count }, () => NativeState.Idle);
    this.tids = Array.from({ length: count }, () => 0);
  }
  spawn(index: number): void {
    this.tids[index] = 100 + index;
    this.bell++;
  }
  tid(index: number): number {
    return this.tids[index]!;
  }
  state(index: number): NativeState {
    return this.states[index]!;
  }
  resume(index: number): void {
    this.resumes.push(index);
    this.states[index] = NativeState.Run;
  }
  idle(index: number): void {
    this.states[index] = NativeState.Idle;
  }
  quit(index: number): void {
    if (!this.stuck.has(index)) this.states[index] = NativeState.Done;
  }
  exit(index: number): void {
    if (this.states[index] !== NativeState.Run || this.stuck.has(index)) return;
    this.states[index] = NativeState.Exited;
    this.bell++;
  }
  takeExit(_index: number, vcpu: Vcpu): { kind: ExitKind; exitedMs: number } {
    return { kind: vcpu.run(), exitedMs: 13 };
  }
  waitBell(): number {
    return this.bell;
  }
  runMs(index: number): number {
    return 3 * (index + 1);
  }
  table: Array<{ port: number; span: number; kind: number }> = [];
  setSyncTable(entries: ReadonlyArray<{ port: number; span: number; kind: number }>): void {
    this.table = [...entries];
    this.shadows = entries.map(() => -1);
  }
  pciImage = new Map<number, Uint8Array | undefined>();
  pciLatch: number | undefined;
  publishPciImage(functions: ReadonlyArray<{ devfn: number; config: Uint8Array | undefined }>, latch?: number): void {
    for (const f of functions) this.pciImage.set(f.devfn, f.config && Uint8Array.from(f.config));
    if (latch !== undefined) this.pciLatch = latch;
  }
  shadows: number[] = [];
  publishShadow(index: number, value: number): void {
    this.shadows[index] = value;
  }
  pmEpochMs: number | undefined;
  pmOwnerEvery: number | undefined;
  setPmEpoch(epochMs: number, ownerEvery = 0): void {
    this.pmEpochMs = epochMs;
    this.pmOwnerEvery = ownerEvery;
  }
  /** Per vCPU, per table entry: the reads its thread answered. */
  localReads = new Map<string, { count: number; firstMs: number; lastMs: number; value: number }>();
  takeLocalReads(index: number, entry: number): { count: number; firstMs: number; lastMs: number; value: number } {
    const r = this.localReads.get(`${index}:${entry}`) ?? { count: 0, firstMs: 0, lastMs: 0, value: 0 };
    this.localReads.delete(`${index}:${entry}`);
    return r;
  }
  readonly postedRing = new ArrayBuffer(16);
  /** Per vCPU: the POST code writes its thread counted. */
  posts = new Map<number, { count: number; firstMs: number; lastMs: number; port: number; value: number }>();
  postCodes(index: number): { count: number; firstMs: number; lastMs: number; port: number; value: number } {
    return this.posts.get(index) ?? { count: 0, firstMs: 0, lastMs: 0, port: 0, value: 0 };
  }
  emptyPages: number[] = [];
  /** Per vCPU, per table entry: [reads, writes] the thread answered. */
  emptyHits = new Map<string, [number, number]>();
  setEmptyPages(pages: readonly number[]): void {
    this.emptyPages = [...pages];
  }
  takeEmptyHits(index: number, entry: number): { reads: number; writes: number } {
    const [reads, writes] = this.emptyHits.get(`${index}:${entry}`) ?? [0, 0];
    this.emptyHits.delete(`${index}:${entry}`);
    return { reads, writes };
  }
  postedAtMs(us: number): number {
    return us / 1000;
  }
  close(): void {
    this.closed = true;
  }
}
