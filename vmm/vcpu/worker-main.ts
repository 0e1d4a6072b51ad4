// Entry point of every vCPU worker thread: picks the role from workerData. A failure while
// setting up (no /dev/kvm, bad firmware image) is reported as a `stopped` message with the error.

import { parentPort, workerData } from 'node:worker_threads';
import { BootgateError } from '../errors.js';
import { emptySnapshot } from '../metrics/exit-accounting.js';
import { ApWorker } from './ap-worker.js';
import { BspWorker } from './bsp-worker.js';
import type { WorkerData, WorkerMessage } from './messages.js';

const data = workerData as WorkerData;
let worker: BspWorker | ApWorker | undefined;
try {
  worker = data.role === 'bsp' ? new BspWorker(data) : new ApWorker(data);
} catch (e) {
  const err = e instanceof BootgateError ? e : new BootgateError('E_INTERNAL', (e as Error).message);
  const vcpu = data.role === 'bsp' ? 0 : data.vcpu;
  const msg: WorkerMessage = {
    type: 'stopped',
    report: {
      vcpu,
      snapshot: emptySnapshot(vcpu),
      outcome: { status: 'error', resets: 0 },
      error: { code: err.code, message: err.message, hint: err.hint },
    },
  };
  parentPort!.postMessage(msg);
}
worker?.start();
