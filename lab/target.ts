// `<target>@lab`: a conformance target run inside the nested lab. The whole conformance project
// runs inside ONE lab VM (the lab boot, ~5-7 s here, is paid once, not per test): the host runs
// `vitest run --project conformance` inside the lab with BOOTGATE_TARGETS=<inner target> and
// BOOTGATE_LAB=1; the inner run's reporters write reports/out/ through the writable repository
// share, so the JUnit and summary land on the host as after a host run. Inside, BOOTGATE_LAB=1
// tells the harness to label results `<target>@lab` with `lab=true` and tells suites that boot
// a lab themselves (suites/lab.test.ts) not to nest one more.
// Left out: splitting the project over several lab VMs, per-test lab VMs.

import { join } from 'node:path';
import { hostKvmCapability } from './capability.js';
import { projectRoot } from './project.js';
import { qemuBinary } from './qemu.js';
import { type LabResult, type LabRunOptions, runInLab } from './run.js';

export const LAB_SUFFIX = '@lab';
/** Set to `1` in the lab's environment by runConformanceInLab. */
export const LAB_ENV = 'BOOTGATE_LAB';
/** The whole project in one VM: generous, the suites inside run on nested KVM under TCG. */
export const LAB_CONFORMANCE_TIMEOUT_S = 4 * 3600;

/** `vmm:kvm@lab` -> `vmm:kvm`; undefined for a name without the suffix. */
export function labInnerTarget(name: string): string | undefined {
  if (!name.endsWith(LAB_SUFFIX)) return undefined;
  const inner = name.slice(0, -LAB_SUFFIX.length);
  return inner === '' || inner.includes('@') ? undefined : inner;
}

/** True inside a lab VM started by runConformanceInLab (and by anyone who sets BOOTGATE_LAB=1). */
export function inLab(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[LAB_ENV] === '1';
}

/** The name results carry: `vmm:kvm@lab` inside the lab, the name itself outside. */
export function reportedTargetName(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return inLab(env) && labInnerTarget(name) === undefined ? `${name}${LAB_SUFFIX}` : name;
}

export interface LabConformanceOptions extends Pick<LabRunOptions, 'smp' | 'memMiB' | 'timeoutS' | 'onOutput' | 'onConsole' | 'signal'> {
  /** vitest file filters (`reset-vector`). */
  filters?: readonly string[];
  /** The host environment to pass in (default process.env); BOOTGATE_TARGETS and BOOTGATE_LAB are set on top. */
  env?: NodeJS.ProcessEnv;
}

export interface LabTarget {
  /** `vmm:kvm@lab`. */
  readonly name: string;
  /** `vmm:kvm`: what runs inside. */
  readonly inner: string;
  /** Why the lab cannot run here (no QEMU, already inside a lab), or undefined. */
  unavailable(): Promise<string | undefined>;
  /** `vitest run --project conformance [filters]` inside one lab VM; resolves when the VM is gone. */
  runConformance(opts?: LabConformanceOptions): Promise<LabResult>;
}

/** The argv the lab runs: this Node, the repository's vitest, the conformance project. */
export function conformanceCommand(filters: readonly string[] = []): string[] {
  const vitest = join(projectRoot(), 'node_modules', 'vitest', 'vitest.mjs');
  return [process.execPath, vitest, 'run', '--project', 'conformance', ...filters];
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

export function labTarget(inner: string): LabTarget {
  const name = `${inner}${LAB_SUFFIX}`;
  return {
    name,
    inner,
    async unavailable() {
      return labUnavailable();
    },
    runConformance(opts = {}) {
      const root = projectRoot();
      return runInLab({
        command: conformanceCommand(opts.filters),
        cwd: root,
        // This lab runs the lab-qemu fixture: the own VMM inside refuses OVMF boots (targets/vmm/target.ts).
        env: { ...(opts.env ?? process.env), BOOTGATE_TARGETS: inner, [LAB_ENV]: '1', BOOTGATE_LAB_QEMU: 'fixture' },
        rw: [root],
        smp: opts.smp,
        memMiB: opts.memMiB,
        timeoutS: opts.timeoutS ?? LAB_CONFORMANCE_TIMEOUT_S,
        onOutput: opts.onOutput,
        onConsole: opts.onConsole,
        signal: opts.signal,
      });
    },
  };
}

/** Whether a run of `vmm:kvm` on this host should go to the lab instead, and why. */
export function labAdvice(): string | undefined {
  const cap = hostKvmCapability();
  return cap.nativeGuests ? undefined : cap.reason;
}
