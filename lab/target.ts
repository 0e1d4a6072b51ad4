// `<target>@lab` names and the lab's environment flag. A target named `<inner>@lab` boots its
// stack inside the nested lab (targets/vmm/lab-target.ts batches a suite's boots into one lab VM);
// BOOTGATE_LAB=1 is set inside lab VMs that run bootgate itself (`bootgate boot --target X@lab`,
// the fault-rate rounds), so nothing there starts another lab, and own-VMM timeouts stretch for
// the nested KVM under TCG.

import { hostKvmCapability } from './capability.js';
import { qemuBinary } from './qemu.js';

export const LAB_SUFFIX = '@lab';
/** Set to `1` in the environment of a lab VM that runs bootgate. */
export const LAB_ENV = 'BOOTGATE_LAB';

/** `vmm:kvm@lab` -> `vmm:kvm`; undefined for a name without the suffix. */
export function labInnerTarget(name: string): string | undefined {
  if (!name.endsWith(LAB_SUFFIX)) return undefined;
  const inner = name.slice(0, -LAB_SUFFIX.length);
  return inner === '' || inner.includes('@') ? undefined : inner;
}

/** True inside a lab VM that runs bootgate (and wherever someone sets BOOTGATE_LAB=1). */
export function inLab(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[LAB_ENV] === '1';
}

/** The name results carry: `vmm:kvm@lab` inside the lab, the name itself outside. */
export function reportedTargetName(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return inLab(env) && labInnerTarget(name) === undefined ? `${name}${LAB_SUFFIX}` : name;
}

/** Why no lab can run from here (inside a lab already, no QEMU), or undefined; synchronous for argument checks. */
export function labUnavailable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (inLab(env)) return `already inside the nested lab (${LAB_ENV}=1); a lab does not nest another one`;
  try {
    qemuBinary(env);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** Whether a run of `vmm:kvm` on this host should go to the lab instead, and why. */
export function labAdvice(): string | undefined {
  const cap = hostKvmCapability();
  return cap.nativeGuests ? undefined : cap.reason;
}
