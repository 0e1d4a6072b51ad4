// Messages between the VMM's supervisor (main thread) and its vCPU worker threads.

import { parentPort } from 'node:worker_threads';
import type { VmConfig } from '../config.js';
import type { AccountingSnapshot } from '../metrics/exit-accounting.js';

export interface BspWorkerData {
  role: 'bsp';
  config: VmConfig;
  firmwarePath: string;
  /** OVMF: the VARS template (fixture), copied per VM. */
  varsTemplatePath?: string;
  startEpochMs: number;
  controlSab: SharedArrayBuffer;
  /** Indexed by vCPU; entry 0 (the BSP) is unused. */
  mailboxSabs: SharedArrayBuffer[];
}

export interface ApWorkerData {
  role: 'ap';
  vcpu: number;
  mmapSize: number;
  startEpochMs: number;
  controlSab: SharedArrayBuffer;
  mailboxSab: SharedArrayBuffer;
}

export type WorkerData = BspWorkerData | ApWorkerData;

export interface StoppedReport {
  vcpu: number;
  snapshot: AccountingSnapshot;
  registers?: Record<string, string>;
  /** Set when diagnosing: device and interrupt-controller states, one line each (the BSP adds COM1 and the IOAPIC). */
  devices?: string[];
  /** Set by the BSP: how the machine ended. */
  outcome?: { status: 'power-off' | 'stopped' | 'error'; source?: string; code?: number; resets: number };
  error?: { code: string; message: string; hint?: string };
}

export type WorkerMessage =
  | { type: 'ready'; vcpus: number; mmapSize: number }
  | { type: 'event'; event: Record<string, unknown> & { event: string; t: number } }
  | { type: 'stopped'; report: StoppedReport };

/** Post a VMM event from a vCPU thread, stamped in ms since VMM start (`clockOffsetMs` = timeOrigin - startEpochMs). */
export function postEvent(event: Record<string, unknown>, clockOffsetMs: number): void {
  const msg: WorkerMessage = { type: 'event', event: { ...event, event: String(event.event), t: Math.round((performance.now() + clockOffsetMs) * 10) / 10 } };
  parentPort!.postMessage(msg);
}
