// Entry point of every VMM worker thread: picks the role from workerData. A failure while setting
// up (no /dev/kvm, a bad firmware image) is reported as a `stopped` message with the error.
// Each role loads only its own modules: a vCPU thread never imports the device model (the owner's
// graph: every device, ACPI, fw_cfg), which would make each vCPU thread's start several times
// slower, and the guest starts only once every vCPU thread runs. A device owner started early
// (owner-prewarm.ts) loads its modules and then waits for its OwnerWorkerData in a message.

import { parentPort, workerData } from 'node:worker_threads';
import { BootgateError } from '../errors.js';
import { PREWARM_ROLE, PREWARMED_MESSAGE } from '../owner-prewarm-role.js';
import { OWNER, type OwnerWorkerData, postStopped, type WorkerData } from './messages.js';

function reportFailure(e: unknown, vcpu: number): void {
  const err = e instanceof BootgateError ? e : new BootgateError('E_INTERNAL', (e as Error).message);
  postStopped({
    vcpu,
    ...(vcpu === OWNER ? { outcome: { status: 'error', resets: 0 } } : {}),
    error: { code: err.code, message: err.message, hint: err.hint },
  });
}

const data = workerData as WorkerData | { role: typeof PREWARM_ROLE };
if (data.role === PREWARM_ROLE) {
  // Loading can fail too (a missing native library): then the failure is this owner's report.
  const loaded = import('./device-owner.js');
  // Loaded (or failed): the process may end this worker safely from now on (owner-prewarm.ts).
  loaded.then(
    () => parentPort!.postMessage({ type: PREWARMED_MESSAGE }),
    () => parentPort!.postMessage({ type: PREWARMED_MESSAGE }),
  );
  parentPort!.once('message', (owner: OwnerWorkerData) => {
    loaded.then(
      ({ DeviceOwner }) => {
        try {
          new DeviceOwner(owner).start();
        } catch (e) {
          reportFailure(e, OWNER);
        }
      },
      (e: unknown) => reportFailure(e, OWNER),
    );
  });
} else {
  try {
    if (data.role === 'owner') new (await import('./device-owner.js')).DeviceOwner(data).start();
    else await (await import('./vcpu-thread.js')).runVcpuThread(data);
  } catch (e) {
    reportFailure(e, data.role === 'owner' ? OWNER : data.vcpu);
  }
}
