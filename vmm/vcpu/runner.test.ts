import { describe, expect, it } from 'vitest';
import { type ExitInfo, ExitKind } from '../accel/exit-info.js';
import type { Vcpu } from '../accel/types.js';
import { BootgateError } from '../errors.js';
import { ExitAccounting, mergeProfile } from '../metrics/exit-accounting.js';
import { FakeVcpu, RecordingHandler } from './fake-vcpu.js';
import { type ExitHandler, type RunGate, RunState, VcpuRunner } from './runner.js';

/** A gate driven by a list of answers (then Stopped), recording what the runner asked. */
class ScriptedGate implements RunGate {
  polls: boolean[] = [];
  resumes = 0;
  constructor(
    private readonly answers: RunState[],
    private readonly resumeAnswer = RunState.Running,
  ) {}
  poll(parked: boolean): RunState {
    this.polls.push(parked);
    return this.answers.shift() ?? RunState.Stopped;
  }
  awaitResume(): RunState {
    this.resumes++;
    return this.resumeAnswer;
  }
}

function runner(vcpu: FakeVcpu, gate: RunGate, handler: ExitHandler, reopened: FakeVcpu[] = [], beforeEntry?: (v: Vcpu) => void) {
  const acct = new ExitAccounting(vcpu.index, 0);
  const r = new VcpuRunner({
    vcpu,
    ...(beforeEntry ? { beforeEntry } : {}),
    gate,
    handler,
    acct,
    reopen: (old) => {
      old.close();
      const fresh = new FakeVcpu(old.index, [{ kind: ExitKind.IoOut, port: 0x80 }]);
      reopened.push(fresh);
      return fresh;
    },
    describeGpa: (gpa) => (gpa === 0xffff0 ? 'in bios-low' : 'nothing mapped there'),
  });
  return { r, acct };
}

const R = RunState.Running;

describe('VcpuRunner', () => {
  it('serves PIO and MMIO exits through the handler and accounts each once', () => {
    const vcpu = new FakeVcpu(0, [
      { kind: ExitKind.IoIn, port: 0x71 },
      { kind: ExitKind.IoOut, port: 0x3f8 },
      { kind: ExitKind.MmioRead, gpa: 0xfed00000, size: 4 },
      { kind: ExitKind.MmioWrite, gpa: 0xfee00000, size: 4 },
    ]);
    const handler = new RecordingHandler();
    const { r, acct } = runner(vcpu, new ScriptedGate([R, R, R, R]), handler);
    r.run();
    expect(r.state).toBe(RunState.Stopped);
    expect(handler.seen).toEqual(['pio 71', 'after', 'pio 3f8', 'after', 'mmio fed00000', 'after', 'mmio fee00000', 'after']);
    const p = mergeProfile([acct.snapshot()], 1000, 1);
    expect(p.totalExits).toBe(4);
    expect(p.exits['io-in']!.count).toBe(1);
    expect(p.exits['mmio-write']!.count).toBe(1);
    expect(p.hottestRegions.map((x) => x.region)).toEqual(['cmos']);
    expect(p.handover).toBeUndefined();
  });

  it('counts unassigned ports and regions, and hand-overs when the handler went to another thread', () => {
    const vcpu = new FakeVcpu(1, [
      { kind: ExitKind.IoIn, port: 0xaf00 },
      { kind: ExitKind.MmioRead, gpa: 0xb8000, size: 2 },
    ]);
    const handler = new RecordingHandler();
    handler.pioValue = -1;
    handler.region = 'unassigned';
    handler.handedOver = true;
    const { r, acct } = runner(vcpu, new ScriptedGate([R, R]), handler);
    r.run();
    const p = mergeProfile([acct.snapshot()], 1000, 2);
    expect(p.unassigned.pio).toBe(1);
    expect(p.unassigned.mmio).toBe(1);
    expect(p.handover!.count).toBe(2);
    expect(p.handover!.hottest!.map((h) => h.target).sort()).toEqual(['mmio 0xb8000', 'port 0xaf00']);
  });

  it('runs the entry hook before every entry, on the vCPU it is about to enter', () => {
    const vcpu = new FakeVcpu(1, [{ kind: ExitKind.IoOut, port: 0x80 }, { kind: ExitKind.IoIn, port: 0x71 }]);
    const handler = new RecordingHandler();
    const hooked: string[] = [];
    runner(vcpu, new ScriptedGate([R, R]), handler, [], (v) => hooked.push(`vCPU ${v.index} after ${(v as FakeVcpu).entries} entries`)).r.run();
    expect(hooked).toEqual(['vCPU 1 after 0 entries', 'vCPU 1 after 1 entries']);
  });

  it('clears the kick and tells the handler on an interrupted exit', () => {
    const vcpu = new FakeVcpu(0, [{ kind: ExitKind.Interrupted }]);
    vcpu.immediateExit = true;
    const handler = new RecordingHandler();
    const { r } = runner(vcpu, new ScriptedGate([R]), handler);
    r.run();
    expect(vcpu.immediateExit).toBe(false);
    expect(handler.seen).toEqual(['interrupted', 'after']);
  });

  it('stops before entering the guest when the gate says stop', () => {
    const vcpu = new FakeVcpu(0, []);
    const { r } = runner(vcpu, new ScriptedGate([RunState.Stopped]), new RecordingHandler());
    r.run();
    expect(vcpu.entries).toBe(0);
    expect(r.state).toBe(RunState.Stopped);
  });

  it('pauses for a reset, then reopens the vCPU from the rebuilt VM and runs that one', () => {
    const first = new FakeVcpu(2, [{ kind: ExitKind.IoOut, port: 0x70 }]);
    const gate = new ScriptedGate([R, RunState.Paused, R]);
    const reopened: FakeVcpu[] = [];
    const handler = new RecordingHandler();
    const { r } = runner(first, gate, handler, reopened);
    r.run();
    expect(gate.resumes).toBe(1);
    expect(first.closed).toBe(true);
    expect(reopened).toHaveLength(1);
    expect(reopened[0]!.entries).toBe(1);
    expect(r.vcpu).toBe(reopened[0]);
    expect(handler.seen).toEqual(['pio 70', 'after', 'pio 80', 'after']);
  });

  it('ends in Stopped, without reopening, when a stop comes during the pause', () => {
    const vcpu = new FakeVcpu(1, []);
    const reopened: FakeVcpu[] = [];
    const { r } = runner(vcpu, new ScriptedGate([RunState.Paused], RunState.Stopped), new RecordingHandler(), reopened);
    r.run();
    expect(r.state).toBe(RunState.Stopped);
    expect(reopened).toHaveLength(0);
  });

  it('parks a vCPU after a shutdown: the next poll says it must not run until the reset', () => {
    const vcpu = new FakeVcpu(3, [{ kind: ExitKind.Shutdown }]);
    const gate = new ScriptedGate([R, RunState.Paused, R]);
    const handler = new RecordingHandler();
    const { r } = runner(vcpu, gate, handler);
    r.run();
    expect(handler.seen[0]).toBe('shutdown 3');
    expect(gate.polls.slice(0, 3)).toEqual([false, true, false]);
  });

  it('parks a vCPU whose access asked for a machine reset', () => {
    const vcpu = new FakeVcpu(1, [{ kind: ExitKind.IoOut, port: 0xcf9 }]);
    const gate = new ScriptedGate([R]);
    const handler = new RecordingHandler();
    handler.askResetOnPort = 0xcf9;
    runner(vcpu, gate, handler).r.run();
    expect(gate.polls).toEqual([false, true]);
  });

  const fatal: Array<[string, Partial<ExitInfo> & { kind: ExitKind }, RegExp]> = [
    ['hlt', { kind: ExitKind.Hlt }, /vCPU 0 stopped with exit Hlt at cs:rip f000:fff0 \(gpa 0xffff0, in bios-low\)/],
    ['a stray debug exit', { kind: ExitKind.Debug }, /exit Debug/],
    ['a system event', { kind: ExitKind.SystemEvent, suberror: 3 }, /exit SystemEvent suberror 3/],
    ['an internal error', { kind: ExitKind.InternalError, suberror: 1 }, /exit InternalError suberror 1/],
    ['a failed entry', { kind: ExitKind.FailEntry, reason: 0x80000021 }, /exit FailEntry reason 2147483681/],
    ['an unknown exit', { kind: ExitKind.Unknown, reason: 99 }, /exit Unknown reason 99/],
  ];
  for (const [what, exit, message] of fatal) {
    it(`ends the run with E_GUEST on ${what}, naming where the vCPU was`, () => {
      const vcpu = new FakeVcpu(0, [exit]);
      const { r, acct } = runner(vcpu, new ScriptedGate([R]), new RecordingHandler());
      let err: unknown;
      try {
        r.run();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BootgateError);
      expect((err as BootgateError).code).toBe('E_GUEST');
      expect((err as Error).message).toMatch(message);
      expect(mergeProfile([acct.snapshot()], 1, 1).totalExits).toBe(1);
    });
  }
});
