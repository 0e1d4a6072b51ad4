// The decoded exit a vCPU backend hands the dispatcher. One object per vCPU, rewritten in place on
// every exit so the hot path allocates nothing; `toVmExit` gives the tidy union for logs and tests.

import type { VmExit } from './types.js';

export enum ExitKind {
  IoIn = 0,
  IoOut = 1,
  MmioRead = 2,
  MmioWrite = 3,
  Hlt = 4,
  Shutdown = 5,
  Interrupted = 6,
  SystemEvent = 7,
  InternalError = 8,
  FailEntry = 9,
  Unknown = 10,
  Debug = 11,
}

export const EXIT_KIND_NAMES = [
  'io-in',
  'io-out',
  'mmio-read',
  'mmio-write',
  'hlt',
  'shutdown',
  'interrupted',
  'system-event',
  'internal-error',
  'fail-entry',
  'unknown',
  'debug',
] as const;

export interface ExitInfo {
  kind: ExitKind;
  port: number;
  /** Access size in bytes (PIO 1/2/4, MMIO 1-8). */
  size: number;
  /** PIO string operations repeat `count` times; `data` holds size*count bytes. */
  count: number;
  gpa: number;
  isWrite: boolean;
  /** The data bytes inside the backend's exit page: written for reads, read for writes. */
  data: Uint8Array;
  /** Backend exit reason (raw). */
  reason: number;
  suberror: number;
}

export function toVmExit(e: ExitInfo): VmExit {
  switch (e.kind) {
    case ExitKind.IoIn:
      return { kind: 'io-in', port: e.port, size: e.size, count: e.count };
    case ExitKind.IoOut:
      return { kind: 'io-out', port: e.port, size: e.size, count: e.count };
    case ExitKind.MmioRead:
      return { kind: 'mmio-read', gpa: e.gpa, size: e.size };
    case ExitKind.MmioWrite:
      return { kind: 'mmio-write', gpa: e.gpa, size: e.size };
    case ExitKind.Hlt:
      return { kind: 'hlt' };
    case ExitKind.Shutdown:
      return { kind: 'shutdown' };
    case ExitKind.Interrupted:
      return { kind: 'interrupted' };
    case ExitKind.SystemEvent:
      return { kind: 'system-event', type: e.suberror };
    case ExitKind.InternalError:
      return { kind: 'internal-error', suberror: e.suberror, data: [] };
    case ExitKind.FailEntry:
      return { kind: 'fail-entry', reason: BigInt(e.reason) };
    case ExitKind.Debug:
      return { kind: 'debug' };
    default:
      return { kind: 'unknown', reason: e.reason };
  }
}
