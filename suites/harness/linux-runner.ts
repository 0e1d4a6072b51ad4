// Where Linux guests run on `vmm:kvm`: directly when this host's /dev/kvm can run native guests
// (VT-x/SVM, or already inside the nested lab), else all of a suite's boots inside one lab VM
// (target `vmm:kvm@lab`). When neither is possible the suite skips with the reason, marked as a
// testcase this host cannot run (meta.ts NOT_RUN_CANNOT), so the run reports itself incomplete;
// BOOTGATE_LINUX=0 skips them as an explicit opt-out (NOT_RUN_OPT_OUT). A lab that should run but
// fails to start, or a boot that throws, fails every boot it took with the error: a broken lab is
// a failure, not a skip.

import { hostKvmCapability } from '../../lab/capability.js';
import { inLab, labUnavailable } from '../../lab/target.js';
import type { BootResult } from '../../targets/boot-result.js';
import { bootBatchInLab, type LabBoot } from '../../targets/vmm/lab-batch.js';
import { NOT_RUN_CANNOT, NOT_RUN_OPT_OUT } from './meta.js';
import { bootOnOwnVmm, ownVmmTarget } from '../../targets/vmm/target.js';
import { labOwnVmmTarget } from '../../targets/vmm/lab-target.js';
import type { Target } from '../../targets/target.js';

export interface LinuxRun {
  target: 'vmm:kvm' | 'vmm:kvm@lab';
  results: Map<string, BootResult>;
  wallMs: number;
  /** Lab VMs that locked up and were replaced (targets/vmm/lab-batch.ts), for the report. */
  lockups: string[];
}

export interface LinuxRunPlan {
  target: LinuxRun['target'];
  /** Why nothing can run, or undefined. */
  unavailable?: string;
}

/** Per boot in a lab batch: Node and the VMM starting, the report being written. */
const PER_BOOT_SLACK_S = 60;
const LAB_START_SLACK_S = 120;

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

/** A boot that never ran because its lab (or its VMM) failed: an error result naming why. */
export function failedBoot(target: string, err: unknown): BootResult {
  const message = err instanceof Error ? err.message : String(err);
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'E_INTERNAL';
  return { target, status: 'error', exitCode: -1, serial: '', debugcon: '', milestones: {}, resets: 0, wallMs: 0, error: { code, message }, events: [], stderr: '' };
}

export async function runLinuxBoots(boots: readonly LabBoot[], labTimeoutS: number): Promise<LinuxRun> {
  const plan = planLinuxRun();
  if (plan.unavailable) throw new Error(plan.unavailable);
  const start = performance.now();
  if (inLab() || plan.target === 'vmm:kvm') {
    const results = new Map<string, BootResult>();
    for (const b of boots) results.set(b.id, await bootOnOwnVmm(b.req).catch((err: unknown) => failedBoot(plan.target, err)));
    return { target: plan.target, results, wallMs: performance.now() - start, lockups: [] };
  }
  // Each boot is bounded by its own VMM timeout: a lab that outlives all of them (plus start-up
  // and reporting per boot) is wedged, whatever the caller allowed.
  const bound = boots.reduce((t, b) => t + b.req.timeoutS + PER_BOOT_SLACK_S, LAB_START_SLACK_S);
  try {
    const batch = await bootBatchInLab(boots, { smp: 2, timeoutS: Math.min(labTimeoutS, bound) });
    return { target: 'vmm:kvm@lab', results: batch.results, wallMs: batch.wallMs, lockups: batch.lockups };
  } catch (err) {
    const why = new Error(`the nested lab failed: ${err instanceof Error ? err.message : String(err)}`);
    return { target: 'vmm:kvm@lab', results: new Map(boots.map((b) => [b.id, failedBoot('vmm:kvm@lab', why)])), wallMs: performance.now() - start, lockups: [] };
  }
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
