import { describe, expect, it } from 'vitest';
import { type ExitInfo, ExitKind } from '../accel/exit-info.js';
import { NativeState, type VcpuBackend } from '../accel/types.js';
import { BootgateError } from '../errors.js';
import { FakeThreads } from './fake-native-threads.js';
import { FakeVcpu, RecordingHandler } from './fake-vcpu.js';
import { NativeVcpus } from './native-vcpus.js';
import type { PostedWrite } from './posted-writes.js';
import { SyncKind } from '../devices/device.js';
import type { QuirkName } from '../quirks.js';

type Script = Array<Partial<ExitInfo> & { kind: ExitKind }>;

function setup(
  count: number,
  scripts: Script[],
  opts: {
    mayRun?: () => boolean;
    drainPosted?: () => void;
    publishShadows?: () => void;
    isEmptyPage?: (base: number) => boolean;
    pmTimerEpochMs?: number;
    quirks?: QuirkName[];
  } = {},
) {
  const threads = new FakeThreads(count);
  const opened: FakeVcpu[] = [];
  const registered: Array<[number, number]> = [];
  const kicked: number[] = [];
  /** Per vCPU, the scripts of the vCPUs its opens return, in order (the first is the one before any reset). */
  const queue = scripts.map((s) => [s]);
  const backend: VcpuBackend = {
    name: 'fake',
    open: (_handle, index) => {
      const vcpu = new FakeVcpu(index, queue[index]!.shift() ?? [{ kind: ExitKind.IoOut, port: 0x80 }]);
      opened.push(vcpu);
      return vcpu;
    },
  };
  const handlers = Array.from({ length: count }, () => Object.assign(new RecordingHandler(), { handedOver: true }));
  const ownerPosted: PostedWrite[] = [];
  const events: Array<Record<string, unknown>> = [];
  const native = new NativeVcpus({
    threads,
    backend,
    control: {
      kick: (i) => {
        kicked.push(i);
        threads.exit(i);
      },
      registerVcpu: (i, tid) => registered.push([i, tid]),
      vcpuHandle: (i) => i,
      waitNoKicks: () => true,
      scrubVector: 0,
    },
    count,
    quirks: opts.quirks ?? [],
    clockOffset: 0,
    handlerFor: (i) => handlers[i]!,
    describeGpa: () => 'nothing mapped there',
    mayRun: opts.mayRun ?? (() => true),
    leaveTimeoutMs: 50,
    drainPosted: opts.drainPosted ?? (() => {}),
    publishShadows: opts.publishShadows ?? (() => {}),
    applyOwnerPosted: (w) => ownerPosted.push(w),
    pmTimerEpochMs: opts.pmTimerEpochMs ?? 0,
    isEmptyPage: opts.isEmptyPage ?? (() => true),
    emit: (e) => events.push(e),
  });
  return { threads, native, opened, registered, kicked, handlers, queue, ownerPosted, events };
}

/** vCPU 0's script starts with its reset-vector step. */
const STEP = { kind: ExitKind.Debug };
const OUT80 = { kind: ExitKind.IoOut, port: 0x80 };

describe('native vCPU threads, served by the device owner', () => {
  it('start: every thread spawned, every vCPU registered with its thread id, vCPU 0 stepped; enterAll enters them all', () => {
    const { threads, native, registered } = setup(3, [[STEP], [], []]);
    const step = native.start();
    expect(step).toMatchObject({ stepped: true, exit: 'Debug' });
    expect(registered).toEqual([
      [0, 100],
      [1, 101],
      [2, 102],
    ]);
    expect(threads.resumes).toEqual([]);
    native.enterAll();
    expect(threads.resumes).toEqual([0, 1, 2]);
  });

  it('serves an exit and enters the vCPU again; the hop counts as a hand-over, the entry as guest time', () => {
    const { threads, native, handlers } = setup(2, [[STEP, OUT80], [OUT80, OUT80]]);
    native.start();
    native.enterAll();
    threads.exit(1);
    native.serve(0);
    expect(handlers[1]!.seen).toEqual(['pio 80', 'after']);
    expect(threads.state(1)).toBe(NativeState.Run);
    expect(threads.state(0)).toBe(NativeState.Run);
    const snap = native.accounts[1]!.snapshot();
    expect(snap.runMs).toBe(6);
    expect(snap.handovers).toBe(1);
    expect(native.accounts[0]!.snapshot().handovers ?? 0).toBe(0);
  });

  it('drains the queued writes before it serves any exit', () => {
    const order: string[] = [];
    const { threads, native, handlers } = setup(2, [[STEP, OUT80], [OUT80]], { drainPosted: () => order.push('drain') });
    native.start();
    native.enterAll();
    handlers[1]!.afterExit = () => order.push('served 1');
    threads.exit(1);
    native.serve(0);
    expect(order).toEqual(['drain', 'drain', 'served 1']);
  });

  it('postable writes: the table goes to the threads; debug-console bytes go through each vCPU\'s own instance, the rest to the owner; each is counted', () => {
    const { threads, native, ownerPosted, events } = setup(2, [[STEP], []]);
    native.start();
    const table = [
      { kind: SyncKind.PmTimer, port: 0x608, span: 4 },
      { kind: SyncKind.Debugcon, port: 0x402, span: 1 },
      { kind: SyncKind.PostedWrite, port: 0x3f8, span: 1 },
      { kind: SyncKind.ShadowRead, port: 0x3fd, span: 1 },
    ];
    native.setSyncTable(table);
    // The whole table, in the bus's order: an entry's index is the owner's shadow index.
    expect(threads.table).toEqual(table);
    const write = (vcpu: number, port: number, ch: string) => native.applyPosted({ vcpu, port, size: 1, value: ch.charCodeAt(0), atUs: 5000 });
    write(0, 0x402, 'a');
    write(1, 0x402, 'x');
    write(0, 0x402, 'b');
    write(0, 0x402, '\n');
    write(1, 0x3f8, 'y');
    expect(ownerPosted).toEqual([{ vcpu: 1, port: 0x3f8, size: 1, value: 0x79, atUs: 5000 }]);
    expect(native.stop()).toBe(true);
    const lines = events.filter((e) => e.event === 'serial').map((e) => e.data);
    expect(lines).toEqual(['ab\n', 'x']);
    const ports = (vcpu: number) =>
      native.accounts[vcpu]!.snapshot()
        .ports.map(([port, count]) => [port, count])
        .sort((a, b) => b[0]! - a[0]!);
    expect(ports(0)).toEqual([[0x402, 3]]);
    expect(ports(1)).toEqual([
      [0x402, 1],
      [0x3f8, 1],
    ]);
    expect(native.accounts[0]!.snapshot().ports[0]![3]).toBe(5);
  });

  it('the PM timer epoch goes to the threads on this thread\'s clock (performance.now() ms), every read theirs', () => {
    const { threads } = setup(1, [[STEP]], { pmTimerEpochMs: performance.timeOrigin + 1234 });
    expect(threads.pmEpochMs).toBeCloseTo(1234, 3);
    expect(threads.pmOwnerEvery).toBe(0);
  });

  it('pm-timer-two-clocks: the threads\' epoch 2 ms after the owner\'s, every other read handed to the owner', () => {
    const { threads } = setup(2, [[STEP], []], { pmTimerEpochMs: performance.timeOrigin + 1234, quirks: ['pm-timer-two-clocks'] });
    expect(threads.pmEpochMs).toBeCloseTo(1236, 3);
    expect(threads.pmOwnerEvery).toBe(2);
  });

  it('publishes the shadow values after serving an exit and before the vCPU enters again', () => {
    const order: string[] = [];
    const { threads, native, handlers } = setup(2, [[STEP, OUT80], [OUT80, OUT80]], { publishShadows: () => order.push(`publish (vCPU 1 ${threads.state(1)})`) });
    native.start();
    native.enterAll();
    handlers[1]!.afterExit = () => order.push('served 1');
    threads.exit(1);
    native.serve(0);
    expect(order).toEqual(['served 1', `publish (vCPU 1 ${NativeState.Exited})`]);
    expect(threads.state(1)).toBe(NativeState.Run);
    native.publishShadow(0, 0x60);
    expect(threads.shadows[0]).toBe(0x60);
  });

  it('PM timer and shadow reads the threads answered: folded under the old table\'s ports when it changes, and at the end', () => {
    const { threads, native } = setup(2, [[STEP], []]);
    native.start();
    native.setSyncTable([
      { kind: SyncKind.PostedWrite, port: 0x3f8, span: 1 },
      { kind: SyncKind.PmTimer, port: 0x608, span: 4 },
      { kind: SyncKind.ShadowRead, port: 0x3fd, span: 1 },
    ]);
    threads.localReads.set('0:1', { count: 40, firstMs: 7, lastMs: 90, value: 0x123456 });
    threads.localReads.set('1:2', { count: 3, firstMs: 8, lastMs: 9, value: 0x60 });
    threads.localReads.set('1:0', { count: 5, firstMs: 1, lastMs: 2, value: 0 }); // a posted register: never a read count
    // The firmware moves PMBASE: the counts so far belong to 0x608.
    native.setSyncTable([
      { kind: SyncKind.PostedWrite, port: 0x3f8, span: 1 },
      { kind: SyncKind.PmTimer, port: 0xb008, span: 4 },
      { kind: SyncKind.ShadowRead, port: 0x3fd, span: 1 },
    ]);
    threads.localReads.set('0:1', { count: 2, firstMs: 100, lastMs: 110, value: 0x1 });
    expect(native.stop()).toBe(true);
    const ports = (vcpu: number) => native.accounts[vcpu]!.snapshot().ports.map(([port, count, , firstMs, lastMs]) => [port, count, firstMs, lastMs]);
    expect(ports(0)).toEqual([
      [0x608, 40, 7, 90],
      [0xb008, 2, 100, 110],
    ]);
    expect(ports(1)).toEqual([[0x3fd, 3, 8, 9]]);
    expect(native.accounts[0]!.snapshot().kindCount[ExitKind.IoIn]).toBe(42);
  });

  it('empty pages: learnt only when the whole page is empty, folded into the profiles, forgotten when the map changes', () => {
    const { threads, native } = setup(2, [[STEP], []], { isEmptyPage: (base) => base !== 0xa0000 });
    native.start();
    native.learnUnassigned(0xb8010, 2);
    native.learnUnassigned(0xb8ffe, 4); // crosses into the next page: not learnt
    native.learnUnassigned(0xa0000, 1); // a device claims part of that page
    native.learnUnassigned(0xb8020, 4); // already known
    expect(threads.emptyPages).toEqual([0xb8]);
    threads.emptyHits.set('1:0', [3, 1]);
    native.forgetEmptyPages();
    expect(threads.emptyPages).toEqual([]);
    const snap = native.accounts[1]!.snapshot();
    expect(snap.unassignedMmio).toBe(4);
    expect(snap.unassignedPages).toEqual([[0xb8000, 4]]);
    expect(snap.regions).toEqual([['unassigned', 4, 0]]);
    expect(native.accounts[0]!.snapshot().unassignedMmio).toBe(0);
  });

  it('the POST code writes a thread counted are folded into its profile at the end, first and last times kept', () => {
    const INTR = { kind: ExitKind.Interrupted };
    const { threads, native } = setup(2, [[STEP, OUT80, INTR], [INTR]]);
    native.start();
    native.enterAll();
    threads.exit(0); // one write to 0x80 handed over (at 13 ms), before the table said otherwise
    native.serve(0);
    threads.posts.set(0, { count: 999, firstMs: 20, lastMs: 1018, port: 0x80, value: 0x42 });
    native.pause();
    expect(native.stop()).toBe(true);
    const snap = native.accounts[0]!.snapshot();
    const [, count, , firstMs, lastMs] = snap.ports.find(([port]) => port === 0x80)!;
    expect([count, firstMs, lastMs]).toEqual([1000, 13, 1018]);
    expect(native.accounts[1]!.snapshot().ports).toEqual([]);
  });

  it('a vCPU whose access asked for a reset, or that shut down, stays out of the guest; the others run on', () => {
    const { threads, native, handlers } = setup(3, [[STEP, { kind: ExitKind.Shutdown }], [{ kind: ExitKind.IoOut, port: 0xcf9 }], [OUT80]]);
    handlers[1]!.askResetOnPort = 0xcf9;
    native.start();
    native.enterAll();
    threads.exit(0);
    threads.exit(1);
    threads.exit(2);
    native.serve(0);
    expect(handlers[0]!.seen[0]).toBe('shutdown 0');
    expect([threads.state(0), threads.state(1), threads.state(2)]).toEqual([NativeState.Idle, NativeState.Idle, NativeState.Run]);
  });

  it('enters no vCPU while a reset or power-off is pending, or the run stops', () => {
    let may = true;
    const { threads, native } = setup(2, [[STEP, OUT80], [OUT80]], { mayRun: () => may });
    native.start();
    native.enterAll();
    may = false;
    threads.exit(0);
    threads.exit(1);
    native.serve(0);
    expect([threads.state(0), threads.state(1)]).toEqual([NativeState.Idle, NativeState.Idle]);
  });

  it('a fatal exit ends the run with E_GUEST naming the vCPU', () => {
    const { threads, native } = setup(2, [[STEP], [{ kind: ExitKind.Hlt }]]);
    native.start();
    native.enterAll();
    threads.exit(1);
    expect(() => native.serve(0)).toThrowError(/vCPU 1 stopped with exit Hlt/);
  });

  it('pause kicks the vCPUs in the guest and serves what comes out without entering any again', () => {
    const { threads, native, kicked, handlers } = setup(3, [[STEP, { kind: ExitKind.Interrupted }], [OUT80], [{ kind: ExitKind.Interrupted }]]);
    native.start();
    native.enterAll();
    threads.exit(1); // an exit already waiting when the pause begins
    native.pause();
    expect(kicked.sort()).toEqual([0, 2]);
    expect(handlers[1]!.seen).toEqual(['pio 80', 'after']);
    expect(handlers[0]!.seen).toEqual(['interrupted', 'after']);
    expect([0, 1, 2].map((i) => threads.state(i))).toEqual([NativeState.Idle, NativeState.Idle, NativeState.Idle]);
  });

  it('a vCPU that does not leave the guest after its kick fails the pause with E_ACCEL', () => {
    const { threads, native } = setup(2, [[STEP], []]);
    native.start();
    native.enterAll();
    threads.stuck.add(1);
    let err: unknown;
    try {
      native.pause();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BootgateError);
    expect((err as BootgateError).code).toBe('E_ACCEL');
    expect((err as Error).message).toMatch(/vCPU 1 did not leave the guest/);
  });

  it('after the rebuild every vCPU is reopened (the old one released), unparked and entered', () => {
    const { threads, native, opened, queue } = setup(2, [[STEP, { kind: ExitKind.Shutdown }], [{ kind: ExitKind.Interrupted }]]);
    queue[0]!.push([OUT80]);
    queue[1]!.push([OUT80]);
    native.start();
    native.enterAll();
    threads.exit(0);
    native.serve(0);
    expect(threads.state(0)).toBe(NativeState.Idle);
    native.pause();
    const before = native.vcpu(0);
    native.resumeAfterReset();
    expect(native.vcpu(0)).not.toBe(before);
    expect((before as FakeVcpu).closed).toBe(true);
    expect(opened).toHaveLength(4);
    expect([threads.state(0), threads.state(1)]).toEqual([NativeState.Run, NativeState.Run]);
  });

  it('stop ends every thread and frees the pool; a thread that does not end is reported', () => {
    const a = setup(2, [[STEP], []]);
    a.native.start();
    expect(a.native.stop()).toBe(true);
    expect(a.threads.closed).toBe(true);
    const b = setup(2, [[STEP], []]);
    b.native.start();
    b.threads.stuck.add(1);
    expect(b.native.stop()).toBe(false);
    expect(b.threads.closed).toBe(false);
  });
});
