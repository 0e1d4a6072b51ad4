// Target `vmm:kvm` on a host without /dev/kvm (a machine whose kernel is itself a PVM guest has
// the kvm module but no device): the own VMM runs inside the nested lab instead, reported as
// `vmm:kvm@lab`. The same for any other stack named `<inner>@lab` (`qemu:kvm@lab`: QEMU -accel
// kvm on the lab's KVM, the control the own VMM is compared with in the same lab). Starting a lab
// VM costs seconds, so a suite hands over every boot it will make (`prefetch`) and they run one
// after another inside ONE lab VM; `boot(req)` then returns the prefetched result, or runs a
// one-boot batch for a request nobody announced.
// OVMF boots run in a lab VM of their own, under the lab's patched QEMU (lab/qemu-build/, built on
// first use): the lab-qemu fixture aborts as soon as a nested guest with an in-kernel LAPIC writes
// CR8 with a virtual interrupt pending, which OVMF does on every interrupt (docs/uefi.md). Every
// other boot keeps the fixture's lab, so their verdicts do not depend on a local build.

import { existsSync } from 'node:fs';
import { cachedPatchedQemu, cannotBuildPatchedQemu } from '../../lab/qemu-build/build.js';
import { QEMU_ENV } from '../../lab/qemu.js';
import { inLab, labUnavailable } from '../../lab/target.js';
import type { BootResult } from '../boot-result.js';
import { type BootRequest, bootsOvmf, CANNOT_RUN_HERE, type Observation, type Target } from '../target.js';
import { bootBatchInLab, OWN_VMM } from './lab-batch.js';

/** Suites state timeouts for a native host; firmware inside the lab runs several times slower. */
export const LAB_TIMEOUT_SCALE = 4;
/** Lab start and Node start-up per boot, on top of the boots' own timeouts. */
const LAB_START_S = 120;
const PER_BOOT_SLACK_S = 60;

/** True when this host has no /dev/kvm at all, so vmm:kvm can only run in the lab. */
export function ownVmmNeedsLab(device = '/dev/kvm'): boolean {
  return !inLab() && !existsSync(device);
}

/**
 * Set to 1, a run may build the lab's patched QEMU (about 6 min on 2 cores) when it needs it:
 * `npm run uefi` and `npm run conformance` set it. `npm test` does not, so its time does not
 * depend on a build; it runs the OVMF lab boots when the binary is already built.
 */
export const BUILD_LAB_QEMU_ENV = 'BOOTGATE_BUILD_LAB_QEMU';

/** Why an OVMF boot cannot run in the lab now (a CANNOT_RUN_HERE reason), or undefined. */
export function uefiLabUnavailable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[QEMU_ENV] || cachedPatchedQemu(env)) return undefined;
  if (env[BUILD_LAB_QEMU_ENV] === '1') {
    const why = cannotBuildPatchedQemu();
    return why ? `${CANNOT_RUN_HERE}${why}` : undefined;
  }
  return `${CANNOT_RUN_HERE}the lab boots OVMF under a patched QEMU built on this host (lab/qemu-build/, about 6 min), and it is not built: npm run uefi builds it and runs the OVMF suite (docs/uefi.md)`;
}

function keyOf(req: BootRequest): string {
  return JSON.stringify(Object.keys(req).sort().map((k) => [k, req[k as keyof BootRequest]]));
}

export function labOwnVmmTarget(observes: ReadonlySet<Observation>): Target & { prefetch(reqs: readonly BootRequest[]): Promise<void> } {
  return labBatchTarget(OWN_VMM, observes);
}

/** `<inner>@lab`: `inner` (a selectedTargets name) booted in lab batches; it observes what `inner` observes. */
export function labBatchTarget(inner: string, observes: ReadonlySet<Observation>): Target & { prefetch(reqs: readonly BootRequest[]): Promise<void> } {
  const results = new Map<string, Promise<BootResult>>();
  const runGroup = (reqs: readonly BootRequest[], qemu: 'fixture' | 'uefi'): Promise<Map<string, BootResult>> => {
    const boots = reqs.map((req, i) => ({ id: `boot${i}`, req: { ...req, timeoutS: req.timeoutS * LAB_TIMEOUT_SCALE } }));
    const timeoutS = boots.reduce((t, b) => t + b.req.timeoutS + PER_BOOT_SLACK_S, LAB_START_S);
    return bootBatchInLab(boots, { smp: 2, timeoutS, qemu, inner }).then((batch) => new Map(reqs.map((req, i) => [keyOf(req), batch.results.get(`boot${i}`)!])));
  };
  const cannotBoot = (req: BootRequest): string | undefined => (bootsOvmf(req) ? uefiLabUnavailable() : undefined);
  // One lab VM per QEMU, one after the other (the lab takes both host CPUs).
  const runBatch = async (reqs: readonly BootRequest[]): Promise<Map<string, BootResult>> => {
    const out = new Map<string, BootResult>();
    const uefi = reqs.filter(bootsOvmf);
    const rest = reqs.filter((r) => !bootsOvmf(r));
    if (rest.length > 0) for (const [k, v] of await runGroup(rest, 'fixture')) out.set(k, v);
    if (uefi.length > 0) for (const [k, v] of await runGroup(uefi, 'uefi')) out.set(k, v);
    return out;
  };
  return {
    name: `${inner}@lab`,
    observes,
    async unavailable() {
      const why = labUnavailable();
      return why ? `${CANNOT_RUN_HERE}no /dev/kvm on this host and the nested lab cannot run: ${why}` : undefined;
    },
    cannotBoot,
    async prefetch(reqs) {
      const todo = [...new Map(reqs.map((r) => [keyOf(r), r])).values()].filter((r) => !results.has(keyOf(r)) && cannotBoot(r) === undefined);
      if (todo.length === 0) return;
      const batch = runBatch(todo);
      for (const req of todo) results.set(keyOf(req), batch.then((m) => m.get(keyOf(req))!));
      await batch;
    },
    boot(req) {
      const key = keyOf(req);
      let pending = results.get(key);
      if (!pending) {
        pending = runBatch([req]).then((m) => m.get(key)!);
        results.set(key, pending);
      }
      return pending;
    },
  };
}
