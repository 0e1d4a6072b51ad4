// The device owner's worker, started before the VMM is asked to run. A Node worker costs about
// 0.6 s to start in the nested lab and its modules about 0.4 s more (docs/vcpu-layer.md, "Worker
// start-up"), while the CLI's own modules load on the main thread for longer than that: started
// first, the worker loads its code meanwhile, on the other CPU, and waits for the VM's
// description (OwnerWorkerData) in a message. runVm takes it if there is one and starts a worker
// as before if not. Until taken it is unref'd, so a CLI that ends early (a bad option) is not
// kept alive by it, and the process's end ends it.

import { Worker } from 'node:worker_threads';
import { PREWARM_ROLE } from './owner-prewarm-role.js';
import type { OwnerWorkerData } from './vcpu/messages.js';
import { workerEntry } from './worker-entry.js';

let waiting: Worker | undefined;

/** Start the owner's worker now, once (a missing bundle is left for runVm to report). */
export function prewarmOwner(entry?: URL): void {
  if (waiting) return;
  let url: URL;
  try {
    url = entry ?? workerEntry();
  } catch {
    return;
  }
  const w = new Worker(url, { workerData: { role: PREWARM_ROLE } });
  w.unref();
  // One that failed before it was taken is dropped; runVm starts its own.
  const drop = (): void => {
    if (waiting === w) waiting = undefined;
  };
  w.once('error', drop);
  w.once('exit', drop);
  waiting = w;
}

/** Whether a worker started early waits to be taken (tests, diagnostics). */
export function ownerWaiting(): boolean {
  return waiting !== undefined;
}

/** The worker prewarmOwner started, handed `data` and kept alive from now on; undefined if none is waiting. */
export function takePrewarmedOwner(data: OwnerWorkerData): Worker | undefined {
  const w = waiting;
  if (!w) return undefined;
  waiting = undefined;
  w.ref();
  w.postMessage(data);
  return w;
}
