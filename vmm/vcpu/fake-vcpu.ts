// Test doubles for the vCPU layer's unit tests (runner.test.ts, native-vcpus.test.ts): a vCPU that
// replays a script of exits, and an exit handler that records what it was asked. No accelerator.

import { type ExitInfo, ExitKind } from '../accel/exit-info.js';
import type { FetchPoint, Vcpu, VcpuDiagnosis } from '../accel/types.js';
import type { ExitHandler } from './runner.js';

export /** A vCPU that replays a script of exits; `run` past the end throws (the test forgot to stop it). */
class FakeVcpu implements Vcpu {
  readonly kickAddress = 0n;
  readonly exit: ExitInfo = { kind: ExitKind.Unknown, port: 0, size: 1, count: 1, gpa: 0, isWrite: false, data: new Uint8Array(8), reason: 0, suberror: 0 };
  immediateExit = false;
  closed = false;
  entries = 0;
  constructor(
    readonly index: number,
    private readonly script: Array<Partial<ExitInfo> & { kind: ExitKind }>,
  ) {}
  run(): ExitKind {
    const next = this.script[this.entries++];
    if (next === undefined) throw new Error('fake vCPU ran past its script');
    Object.assign(this.exit, { size: 1, count: 1, data: new Uint8Array(next.size ?? 1) }, next);
    return next.kind;
  }
  setImmediateExit(on: boolean): void {
    this.immediateExit = on;
  }
  setSingleStep(): boolean {
    return true;
  }
  fetchPoint(): FetchPoint {
    return { csBase: 0xf0000, csSelector: 0xf000, rip: 0xfff0 };
  }
  dumpRegisters(): Record<string, string> {
    return { rip: '0xfff0' };
  }
  diagnose(): VcpuDiagnosis {
    return { registers: {}, lapic: '' };
  }
  close(): void {
    this.closed = true;
  }
}

/** Records every call; resetAsked when the port served is askResetOnPort. */
export class RecordingHandler implements ExitHandler {
  handedOver = false;
  resetAsked = false;
  seen: string[] = [];
  pioValue = 0x12;
  region = 'cmos';
  askResetOnPort = -1;
  pio(exit: ExitInfo): number {
    this.seen.push(`pio ${exit.port.toString(16)}`);
    this.resetAsked = exit.port === this.askResetOnPort;
    return this.pioValue;
  }
  mmio(exit: ExitInfo): string {
    this.seen.push(`mmio ${exit.gpa.toString(16)}`);
    this.resetAsked = false;
    return this.region;
  }
  shutdown(v: Vcpu): void {
    this.seen.push(`shutdown ${v.index}`);
  }
  interrupted(): void {
    this.seen.push('interrupted');
  }
  afterExit(): void {
    this.seen.push('after');
  }
}

