// Where Linux guests run on `vmm:kvm`: directly when this host's /dev/kvm can run native guests
// (VT-x/SVM, or already inside the nested lab), else all of a suite's boots inside one lab VM
// (target `vmm:kvm@lab`, which batches what the suite prefetches). When neither is possible the
// suite skips with the reason, marked as a testcase this host cannot run (meta.ts
// NOT_RUN_CANNOT), so the run reports itself incomplete; BOOTGATE_LINUX=0 skips them as an
// explicit opt-out (NOT_RUN_OPT_OUT). A lab that should run but fails to start fails the suite's
// testcases with its error (the prefetch rejects): a broken lab is a failure, not a skip.

import { hostKvmCapability } from '../../lab/capability.js';
import { inLab, labUnavailable } from '../../lab/target.js';
import { NOT_RUN_CANNOT, NOT_RUN_OPT_OUT } from './meta.js';
import { ownVmmTarget } from '../../targets/vmm/target.js';
import { labOwnVmmTarget } from '../../targets/vmm/lab-target.js';
import type { Target } from '../../targets/target.js';

export interface LinuxRunPlan {
  target: 'vmm:kvm' | 'vmm:kvm@lab';
  /** Why nothing can run, or undefined. */
  unavailable?: string;
}

/** BOOTGATE_LINUX=0 leaves the Linux suites out of a run (they run by default: natively, or in the lab). */
export const LINUX_ENV = 'BOOTGATE_LINUX';

export function planLinuxRun(env: NodeJS.ProcessEnv = process.env): LinuxRunPlan {
  if (env[LINUX_ENV] === '0') {
    return {
      target: inLab(env) || hostKvmCapability().nativeGuests ? 'vmm:kvm' : 'vmm:kvm@lab',
      unavailable: `${NOT_RUN_OPT_OUT}Linux-guest suites left out by ${LINUX_ENV}=0`,
    };
  }
  if (inLab(env)) return { target: 'vmm:kvm@lab' };
  const kvm = hostKvmCapability();
  if (kvm.nativeGuests) return { target: 'vmm:kvm' };
  const why = labUnavailable(env);
  return { target: 'vmm:kvm@lab', unavailable: why ? `${NOT_RUN_CANNOT}${kvm.reason ?? 'no native KVM'}; and the nested lab cannot run: ${why}` : undefined };
}

let labOwnVmm: Target | undefined;

/**
 * The target a Linux guest boots on, for suites that go through the Target interface: the own
 * VMM moves into the nested lab where this host's /dev/kvm cannot run Linux (planLinuxRun), and
 * says why it cannot run when neither works or BOOTGATE_LINUX=0 left Linux out; other targets
 * stay as they are.
 */
export function linuxTargetOf(target: Target, env: NodeJS.ProcessEnv = process.env): Target {
  if (target.name !== ownVmmTarget.name) return target;
  const plan = planLinuxRun(env);
  const base = plan.target === 'vmm:kvm@lab' ? (labOwnVmm ??= labOwnVmmTarget(target.observes)) : target;
  if (!plan.unavailable) return base;
  return { ...base, unavailable: async () => plan.unavailable, prefetch: undefined };
}
