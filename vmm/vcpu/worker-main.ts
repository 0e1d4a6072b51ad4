// Entry point of every VMM worker thread: picks the role from workerData. A failure while setting
// up (no /dev/kvm, a bad firmware image) is reported as a `stopped` message with the error.
// Each role loads only its own modules: a vCPU thread never imports the device model (the owner's
// graph: every device, ACPI, fw_cfg), which would make each vCPU thread's start several times
// slower, and the guest starts only once every vCPU thread runs.

import { workerData } from 'node:worker_threads';
import { BootgateError } from '../errors.js';
import { OWNER, postStopped, type WorkerData } from './messages.js';

const data = workerData as WorkerData;
try {
  if (data.role === 'owner') new (await import('./device-owner.js')).DeviceOwner(data).start();
  else await (await import('./vcpu-thread.js')).runVcpuThread(data);
} catch (e) {
  const err = e instanceof BootgateError ? e : new BootgateError('E_INTERNAL', (e as Error).message);
  postStopped({
    vcpu: data.role === 'owner' ? OWNER : data.vcpu,
    ...(data.role === 'owner' ? { outcome: { status: 'error', resets: 0 } } : {}),
    error: { code: err.code, message: err.message, hint: err.hint },
  });
}
