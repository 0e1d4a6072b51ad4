// The device owner's worker, started before the VMM is asked to run. A Node worker costs about
// 0.6 s to start in the nested lab and its modules about 0.4 s more (docs/vcpu-layer.md, "Worker
// start-up"), while the CLI's own modules load on the main thread for longer than that: started
// first, the worker loads its code meanwhile, on the other CPU, and waits for the VM's
// description (OwnerWorkerData) in a message. runVm takes it if there is one and starts a worker
// as before if not. A boot that ends before runVm (a bad option) releases it: waits until its
// code is loaded and then ends it. Ending the process while the worker still loads its native
// addon (koffi) aborts Node (a fatal error in napi_throw, seen on this host), so no exit path may
// skip the release.

import { Worker } from 'node:worker_threads';
import { PREWARM_ROLE, PREWARMED_MESSAGE } from './owner-prewarm-role.js';
import type { OwnerWorkerData } from './vcpu/messages.js';
import { workerEntry } from './worker-entry.js';

let waiting: { worker: Worker; loaded: Promise<void> } | undefined;

/** How long a release waits for the code to load before it ends the worker anyway. */
const LOAD_WAIT_MS = 60_000;

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
  // The listener goes once the code is loaded: every event message the owner posts later would pass it.
  const loaded = new Promise<void>((resolve) => {
    const onMessage = (m: { type?: string }): void => {
      if (m?.type !== PREWARMED_MESSAGE) return;
      w.off('message', onMessage);
      resolve();
    };
    w.on('message', onMessage);
    w.once('exit', () => resolve());
  });
  // One that failed before it was taken is dropped; runVm starts its own.
  const drop = (): void => {
    if (waiting?.worker === w) waiting = undefined;
  };
  w.once('error', drop);
  w.once('exit', drop);
  waiting = { worker: w, loaded };
}

/** End a worker prewarmOwner started that nobody took, once its code has loaded (see the header). */
export async function releasePrewarmedOwner(): Promise<void> {
  const w = waiting;
  if (!w) return;
  waiting = undefined;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([w.loaded, new Promise<void>((r) => (timer = setTimeout(r, LOAD_WAIT_MS)))]);
  clearTimeout(timer);
  await w.worker.terminate();
}

/** Whether a worker started early waits to be taken (tests, diagnostics). */
export function ownerWaiting(): boolean {
  return waiting !== undefined;
}

/** The worker prewarmOwner started, handed `data` and kept alive from now on; undefined if none is waiting. */
export function takePrewarmedOwner(data: OwnerWorkerData): Worker | undefined {
  const w = waiting?.worker;
  if (!w) return undefined;
  waiting = undefined;
  w.ref();
  w.postMessage(data);
  return w;
}
