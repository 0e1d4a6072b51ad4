// Where Linux guests run on `vmm:kvm`: directly when this host's /dev/kvm can run native guests
// (VT-x/SVM, or already inside the nested lab), else all of a suite's boots inside one lab VM
// (target `vmm:kvm@lab`). When neither is possible the suite skips with the reason.

import { hostKvmCapability } from '../../lab/capability.js';
import { inLab, labUnavailable } from '../../lab/target.js';
import type { BootResult } from './boot-result.js';
import { bootBatchInLab, type LabBoot } from './lab-batch.js';
import { bootOnOwnVmm } from './vmm-target.js';

export interface LinuxRun {
  target: 'vmm:kvm' | 'vmm:kvm@lab';
  results: Map<string, BootResult>;
  wallMs: number;
}

export interface LinuxRunPlan {
  target: LinuxRun['target'];
  /** Why nothing can run, or undefined. */
  unavailable?: string;
}

/** The Linux suites take many minutes in the lab; they run when asked (npm run test:linux). */
export const LINUX_ENV = 'BOOTGATE_LINUX';

export function planLinuxRun(): LinuxRunPlan {
  if (process.env[LINUX_ENV] !== '1') {
    return {
      target: inLab() || hostKvmCapability().nativeGuests ? 'vmm:kvm' : 'vmm:kvm@lab',
      unavailable: `Linux-guest suites run with npm run test:linux (${LINUX_ENV}=1): in the nested lab they take 10-20 minutes on a 2-core host`,
    };
  }
  if (inLab()) return { target: 'vmm:kvm@lab' };
  const kvm = hostKvmCapability();
  if (kvm.nativeGuests) return { target: 'vmm:kvm' };
  const why = labUnavailable();
  return { target: 'vmm:kvm@lab', unavailable: why ? `${kvm.reason ?? 'no native KVM'}; and the nested lab cannot run: ${why}` : undefined };
}

export async function runLinuxBoots(boots: readonly LabBoot[], labTimeoutS: number): Promise<LinuxRun> {
  const plan = planLinuxRun();
  if (plan.unavailable) throw new Error(plan.unavailable);
  const start = performance.now();
  if (inLab() || plan.target === 'vmm:kvm') {
    const results = new Map<string, BootResult>();
    for (const b of boots) results.set(b.id, await bootOnOwnVmm(b.req));
    return { target: plan.target, results, wallMs: performance.now() - start };
  }
  const batch = await bootBatchInLab(boots, { smp: 2, timeoutS: labTimeoutS });
  return { target: 'vmm:kvm@lab', results: batch.results, wallMs: batch.wallMs };
}
