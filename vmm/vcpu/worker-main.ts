// Entry point of every vCPU worker thread: picks the role from workerData. A failure while
// setting up (no /dev/kvm, bad firmware image) is reported as a `stopped` message with the error.
// Each role loads only its own modules: an AP thread never imports the device model (the BSP's
// graph: every device, ACPI, fw_cfg), which made each AP thread's start several times slower
// (the guest starts only once every AP thread runs; seven of them took ~12 s in the nested lab).

import { parentPort, workerData } from 'node:worker_threads';
import { BootgateError } from '../errors.js';
import { emptySnapshot } from '../metrics/exit-accounting.js';
import type { WorkerData, WorkerMessage } from './messages.js';

const data = workerData as WorkerData;
let worker: { start(): void } | undefined;
try {
  worker = data.role === 'bsp' ? new (await import('./bsp-worker.js')).BspWorker(data) : new (await import('./ap-worker.js')).ApWorker(data);
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
