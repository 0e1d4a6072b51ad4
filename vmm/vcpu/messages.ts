// Messages between the VMM's supervisor (main thread) and its worker threads: the device owner
// (builds the VM, owns every device, serves the mailboxes, carries out resets and power-off; at
// SMP 1 it also runs vCPU 0) and one vCPU thread per vCPU when SMP > 1.

import { parentPort } from 'node:worker_threads';
import type { VmConfig } from '../config.js';
import type { QuirkName } from '../quirks.js';
import type { AccountingSnapshot } from '../metrics/exit-accounting.js';

export interface OwnerWorkerData {
  role: 'owner';
  config: VmConfig;
  firmwarePath: string;
  /** OVMF: the VARS template (fixture), copied per VM. */
  varsTemplatePath?: string;
  startEpochMs: number;
  controlSab: SharedArrayBuffer;
  /** Indexed by vCPU (empty at SMP 1: the owner runs vCPU 0 itself). */
  mailboxSabs: SharedArrayBuffer[];
  /** The posted-write ring every vCPU thread queues into (posted-writes.ts). */
  postedSab: SharedArrayBuffer;
}

export interface VcpuWorkerData {
  role: 'vcpu';
  vcpu: number;
  /** The accelerator backend's name (accel/open.ts openVcpuBackend). */
  backend: string;
  quirks: QuirkName[];
  /** --sample-rip: vCPU 0 counts where each kick found it. */
  sampleRip: boolean;
  startEpochMs: number;
  controlSab: SharedArrayBuffer;
  mailboxSab: SharedArrayBuffer;
  postedSab: SharedArrayBuffer;
}

export type WorkerData = OwnerWorkerData | VcpuWorkerData;

/** The vCPU number of the owner's report when it runs no vCPU. */
export const OWNER = -1;

export interface StoppedReport {
  /** The vCPU this thread ran, or OWNER. */
  vcpu: number;
  /** Exit accounting of the vCPU the thread ran (none for an owner that ran no vCPU). */
  snapshot?: AccountingSnapshot;
  registers?: Record<string, string>;
  /** Set when diagnosing: device and interrupt-controller states, one line each (the owner adds COM1 and the IOAPIC). */
  devices?: string[];
  /** Set by the owner: how the machine ended. */
  outcome?: { status: 'power-off' | 'stopped' | 'error'; source?: string; code?: number; resets: number };
  error?: { code: string; message: string; hint?: string };
}

/** A VMM event as a worker posts it: stamped with its time in ms since VMM start. */
export type StampedEvent = Record<string, unknown> & { event: string; t: number };

export type WorkerMessage =
  | { type: 'event'; event: StampedEvent }
  /** Several events in the order they happened (a device owner that posts after resuming its vCPUs). */
  | { type: 'events'; events: StampedEvent[] }
  | { type: 'stopped'; report: StoppedReport }
  /** A device owner started early has loaded its code (owner-prewarm.ts); nothing to do here. */
  | { type: 'prewarmed' };

/** `event` stamped now, in ms since VMM start (`clockOffsetMs` = timeOrigin - startEpochMs). */
export function stampEvent(event: Record<string, unknown>, clockOffsetMs: number): StampedEvent {
  return { ...event, event: String(event.event), t: Math.round((performance.now() + clockOffsetMs) * 10) / 10 };
}

/** Post a VMM event from a worker thread, stamped now (stampEvent). */
export function postEvent(event: Record<string, unknown>, clockOffsetMs: number): void {
  const msg: WorkerMessage = { type: 'event', event: stampEvent(event, clockOffsetMs) };
  parentPort!.postMessage(msg);
}

/** Post events stamped earlier, as one message. */
export function postEvents(events: StampedEvent[]): void {
  if (events.length === 0) return;
  const msg: WorkerMessage = { type: 'events', events };
  parentPort!.postMessage(msg);
}

export function postStopped(report: StoppedReport): void {
  const msg: WorkerMessage = { type: 'stopped', report };
  parentPort!.postMessage(msg);
}
