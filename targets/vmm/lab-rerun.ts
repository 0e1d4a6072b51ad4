// What a lab batch (lab-batch.ts) reruns, and why. Pure decisions, unit-tested (lab-rerun.test.ts).
//
// - A lab VM that wedges: the outer QEMU TCG sometimes locks up under a nested guest (both lab
//   CPUs report soft lockups, or the lab freezes silently: its TCG vCPUs spin, its kernel prints
//   nothing). A lockup line on the lab console, or a batch heartbeat (a line the batch script
//   prints every few seconds on the lab's virtio-serial stdout; files on the 9p share show up
//   late, through the lab's page cache) that stops, kills the lab; the boots that had not finished
//   run in a fresh lab VM, at most LAB_RESTARTS times. A boot that was running when its lab
//   wedged is a rerun: its result carries `rerun` (reason, attempts) and the wedged lab's console
//   tail and partial event stream are kept under reports/out/lab/kept/ as the first attempt's
//   evidence. Boots that had not started yet run for the first time in the fresh lab.
// - A lab VM that dies (its QEMU ends before the batch reported its exit code: QEMU crashed, a lab
//   vCPU triple-faulted, or the lab kernel oopsed or panicked) is lost the same way and handled the
//   same way: the outer QEMU TCG's emulated SVM breaks the lab's own CPU state under both stacks
//   (docs/lab-fault-rate.md); its exit, stderr, reset log verdict and console are the kept evidence.
// - A triple fault the guest did not ask for (more than a reboot=triple boot's one per reboot) in
//   an own-VMM boot at SMP 2 or more is rerun once, as the lab's: QEMU/KVM, run as a control in the same
//   lab, faulted the same way there (docs/lab-fault-rate.md). The first attempt's event stream is
//   kept, the result carries `rerun`, and the testcase is reported flaky (JUnit, summary, the
//   run's last lines), never as a plain pass; a rerun that faults again fails. At SMP 1 neither
//   stack has faulted unasked in the lab, so a fault there is the boot's failure, not rerun.
//   Under the lab's patched QEMU, whose fixes removed the fault found in the outer QEMU, neither
//   stack faulted in 32 SMP 8 boots (docs/lab-fault-rate.md): a flaky lab testcase is now a lead.
//   QEMU reports no triple fault as such (a reset is a reset), so its boots are never rerun for one.
// - A boot whose vCPU state read back impossible at its stop (rip above 4 GiB outside long mode,
//   and the like: vmm/vcpu/impossible-state.ts) is rerun once at any SMP, the same way: the own
//   VMM writes no register outside resets, and a hung QEMU/KVM boot in the same lab showed the
//   same lab-kernel address (docs/lab-fault-rate.md). Native targets report it as the failure it is.
// - Evidence of a shutdown: the batch traces the lab kernel's KVM (lab/kvm-trace.ts; off with
//   BOOTGATE_LAB_KVM_TRACE=0) and stops the trace at the first shutdown exit the boot did not ask
//   for, so the faulting vCPU's last exits and the rip it shut down at (which SVM KVM's reset of
//   the VMCB erases from the registers) are kept beside the first attempt, named in the rerun's
//   reason, and attached to a counted attempt's result (its failure diagnostic). The own VMM saves
//   the guest's first MiB at each triple fault (vmm/machine/memory-snapshot.ts); the traced one's
//   snapshot is kept too, and the bytes at the shutdown rip join the summary.
// - A boot still running OVERRUN_SLACK_S past its own timeout (lab-boot-watch.ts: the stack under
//   test did not end itself, as an own-VMM SMP 8 boot once kept a CI batch waiting 38 minutes)
//   stops its lab VM. That boot fails with the events it left, never rerun (a stack that cannot
//   stop is a finding); the boots behind it run in a fresh lab VM, within LAB_RESTARTS.
// - Quirk boots are never rerun (their failure is the point); BOOTGATE_NO_RERUN=1 reruns nothing
//   (a wedged lab then fails the boots it did not finish).

import { parseEventStream, type Rerun } from '../boot-result.js';
import type { BootRequest } from '../target.js';

/** Fresh lab VMs a batch may start after lab VMs that wedged. */
export const LAB_RESTARTS = 2;
/**
 * Whether an unrequested triple fault inside the lab is the lab's (rerun once) rather than the
 * boot's (a failure). True since the QEMU/KVM control faulted in the same lab at SMP 2 and 8
 * (docs/lab-fault-rate.md); only for boots at LAB_FAULT_RERUN_MIN_SMP or more.
 */
export const LAB_TRIPLE_FAULTS_ARE_INFRASTRUCTURE = true;
/** The smallest SMP whose unrequested lab faults are rerun: where the control stack faulted too. */
export const LAB_FAULT_RERUN_MIN_SMP = 2;
/** Set to 1, nothing is rerun: not a wedged or dead lab, a triple fault, or an impossible vCPU state. */
export const NO_RERUN_ENV = 'BOOTGATE_NO_RERUN';

export interface RerunPolicy {
  /** Fresh lab VMs after wedged ones. */
  labRestarts: number;
  /** Reruns of a non-quirk boot after an unrequested triple fault (0 or 1). */
  tripleFaultReruns: number;
  /** Reruns of a non-quirk boot whose vCPU state read back impossible (0 or 1). */
  impossibleStateReruns: number;
}

export function rerunPolicy(env: NodeJS.ProcessEnv = process.env, tripleFaultsAreInfrastructure = LAB_TRIPLE_FAULTS_ARE_INFRASTRUCTURE): RerunPolicy {
  if (env[NO_RERUN_ENV] === '1') return { labRestarts: 0, tripleFaultReruns: 0, impossibleStateReruns: 0 };
  return { labRestarts: LAB_RESTARTS, tripleFaultReruns: tripleFaultsAreInfrastructure ? 1 : 0, impossibleStateReruns: 1 };
}

/** How many triple faults a boot asks for: one per reboot with reboot=triple, else none. */
export function requestedTripleFaults(req: BootRequest): number {
  return req.reboot === 'triple' ? (req.reboots ?? 1) : 0;
}

/**
 * The triple-fault count above which the batch reruns the boot once, or undefined when a triple
 * fault never leads to a rerun (policy, a quirk boot, or a boot below LAB_FAULT_RERUN_MIN_SMP).
 */
export function tripleFaultRerunAbove(req: BootRequest, policy: RerunPolicy): number | undefined {
  if (policy.tripleFaultReruns === 0 || (req.quirks?.length ?? 0) > 0 || req.smp < LAB_FAULT_RERUN_MIN_SMP) return undefined;
  return requestedTripleFaults(req);
}

/**
 * Whether a boot is rerun once when its vCPU state read back impossible (vmm/vcpu/impossible-state.ts):
 * at any SMP, since no guest can cause it, but never a quirk boot, and not when reruns are off.
 */
export function impossibleStateRerun(req: BootRequest, policy: RerunPolicy): boolean {
  return policy.impossibleStateReruns > 0 && (req.quirks?.length ?? 0) === 0;
}

/**
 * The batch script's test (sh) whether a finished first attempt, its event stream at `ev` (shell-
 * quoted), is rerun: more triple faults than `above`, or (with `impossible`) an impossible state.
 */
export function rerunCondition(ev: string, above: number | undefined, impossible: boolean): string {
  const conditions = [
    ...(above !== undefined ? [`[ "$(grep -c '${TRIPLE_FAULT_EVENT}' ${ev})" -gt ${above} ]`] : []),
    ...(impossible ? [`grep -q '${IMPOSSIBLE_STATE}' ${ev}`] : []),
  ];
  return conditions.length > 0 ? conditions.join(' || ') : 'false';
}

/** Lab console lines of a kernel that failed, not of a QEMU that died under it. */
const KERNEL_FAULT = /Kernel panic|BUG: |Oops|general protection fault|kernel BUG/;

/**
 * Why a batch lost its lab VM, or undefined when the lab ran the batch to its end: a lockup or a
 * stalled heartbeat (`lockup`), or a VM that died (QEMU ended before the batch's exit code).
 */
export function labLoss(lab: { status: string; error?: { message: string }; consoleTail: string }, lockup: string | undefined): string | undefined {
  if (lockup !== undefined) return `wedged (${lockup})`;
  if (lab.status !== 'vm-died') return undefined;
  // A lab kernel that oopsed or panicked and took its VM down is lost like a lab that died: the
  // lab's kernel runs on the outer QEMU's emulated SVM, which was seen to break its CPU state
  // under both stacks (silent lab deaths where QEMU logged a lab vCPU's triple fault, the lab
  // kernel's rip in a nested guest's registers: docs/lab-fault-rate.md). Its first line names it.
  const fault = lab.consoleTail.split('\n').find((l) => KERNEL_FAULT.test(l));
  if (fault !== undefined) return `died, its kernel failed (${fault.trim()})`;
  return `died (${(lab.error?.message ?? 'QEMU ended').split('\nlab console tail:')[0]!.trim()})`;
}

/** Whether a batch whose lab VM number `attempt` (0-based) was lost may start another one. */
export function mayRestartLab(attempt: number, policy: RerunPolicy): boolean {
  return attempt < policy.labRestarts;
}

/** One earlier attempt of a boot that did not count: its reason and its kept evidence. */
export interface LostAttempt {
  reason: string;
  evidence: string;
}

/** The `rerun` a result gets from its lost attempts (undefined when the first attempt counted). */
export function rerunOf(lost: readonly LostAttempt[]): Rerun | undefined {
  if (lost.length === 0) return undefined;
  return { reason: lost.map((l) => l.reason).join('; then '), firstAttempt: lost[0]!.evidence, attempts: lost.length + 1 };
}

const TRIPLE_FAULT_EVENT = '"event":"triple-fault"';
/** In the final event's diagnostic: vCPUs whose registers read back in a state no CPU can be in. */
const IMPOSSIBLE_STATE = '"impossibleStates":';

/** What ended the first attempt of a boot rerun after an unrequested triple fault or an impossible vCPU state, for the report. */
export function firstAttempt(text: string): string {
  const parsed = parseEventStream('vmm:kvm@lab', text, '');
  const impossible = parsed.diagnostic?.impossibleStates ?? [];
  if (impossible.length > 0) {
    return `in the first attempt the lab's KVM returned a CPU state no x86 CPU can be in (${impossible.map((i) => `vCPU ${i.vcpu}: ${i.why}`).join('; ')}); the boot ended ${parsed.status}`;
  }
  const faults = parsed.events.filter((e) => e.event === 'triple-fault');
  const at = faults.length > 0 ? faults.map((f) => `vCPU ${String(f.vcpu)} triple-faulted ${(f.t / 1000).toFixed(1)} s into the boot`).join(', then ') : 'it triple-faulted';
  return `in the first attempt ${at}, more often than the guest asked for`;
}
