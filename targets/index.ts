// Targets: one suite, many stacks. The registry of target names (`vmm:kvm`, `qemu:<accel>`) and
// the targets a run selects (BOOTGATE_TARGETS), plus the public surface of targets/: the Target
// interface and the request and result every target shares. On a host without /dev/kvm the own
// VMM runs inside the nested lab and is named `vmm:kvm@lab`; any target named `<inner>@lab`
// (`vmm:kvm@lab`, `qemu:kvm@lab`) boots inside the lab in batches (targets/vmm/lab-target.ts).

import { LAB_SUFFIX, labInnerTarget } from '../lab/target.js';
import { labBatchTarget, labOwnVmmTarget, ownVmmNeedsLab } from './vmm/lab-target.js';
import { qemuTarget } from './qemu/target.js';
import type { Target } from './target.js';
import { ownVmmTarget } from './vmm/target.js';

export type { BootResult, BootEvent, Rerun } from './boot-result.js';
export { consoleTimeOf, eventsOf } from './boot-result.js';
export type { BootRequest, LinuxBoot, Observation, Target } from './target.js';
export { CANNOT_RUN_HERE } from './target.js';
export { ownVmmTarget } from './vmm/target.js';
export { labGateLeavesOut } from './vmm/lab-target.js';

const REGISTRY = new Map<string, Target>([[ownVmmTarget.name, ownVmmTarget]]);
for (const accel of ['tcg', 'kvm']) registerTarget(qemuTarget(accel));

/** One instance per lab target name, so every suite's prefetch lands in the same batches. */
const labTargets = new Map<string, Target>();

/** `<inner>@lab` for a known inner target; the own VMM's instance is shared with `vmm:kvm` on a host without /dev/kvm. */
function labTargetNamed(inner: Target): Target {
  const name = `${inner.name}${LAB_SUFFIX}`;
  let t = labTargets.get(name);
  if (!t) labTargets.set(name, (t = inner.name === ownVmmTarget.name ? labOwnVmmTarget(inner.observes) : labBatchTarget(inner.name, inner.observes)));
  return t;
}

function innerTarget(n: string): Target | undefined {
  // qemu:<accel> passes any accelerator name through to -accel (nvmm, whpx, hvf, ...).
  return REGISTRY.get(n) ?? (n.startsWith('qemu:') ? qemuTarget(n.slice('qemu:'.length)) : undefined);
}

/** Targets named by BOOTGATE_TARGETS (comma-separated), default the own VMM. */
export function selectedTargets(env: NodeJS.ProcessEnv = process.env): Target[] {
  const names = (env.BOOTGATE_TARGETS ?? 'vmm:kvm')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return names.map((n) => {
    if (n === ownVmmTarget.name && ownVmmNeedsLab()) return labTargetNamed(ownVmmTarget);
    const inner = labInnerTarget(n);
    const t = innerTarget(inner ?? n);
    if (!t) throw new Error(`unknown target ${JSON.stringify(n)} in BOOTGATE_TARGETS (known: ${[...REGISTRY.keys()].join(', ')}, qemu:<accel>, and each of them with @lab)`);
    return inner !== undefined ? labTargetNamed(t) : t;
  });
}

export function registerTarget(t: Target): void {
  REGISTRY.set(t.name, t);
}
