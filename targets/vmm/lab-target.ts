// Target `vmm:kvm` on a host without /dev/kvm (a machine whose kernel is itself a PVM guest has
// the kvm module but no device): the own VMM runs inside the nested lab instead, reported as
// `vmm:kvm@lab`. The same for any other stack named `<inner>@lab` (`qemu:kvm@lab`: QEMU -accel
// kvm on the lab's KVM, the control the own VMM is compared with in the same lab). Starting a lab
// VM costs seconds, so a suite hands over every boot it will make (`prefetch`) and they run one
// after another inside a lab VM, split over two lab VMs running at once (lab-lanes.ts); `boot(req)`
// then returns the prefetched result, or runs a one-boot batch for a request nobody announced.
// The lab's QEMU is the patched build of lab/qemu-build/ (lab/qemu.ts defaultLabQemuKind: its
// fixes keep the emulated SVM from faulting, docs/lab-fault-rate.md; the bootstrap of npm test
// builds it once per machine), for all of a suite's boots (in lanes). Where it cannot be had the
// lab-qemu fixture runs the rest, and the boots it cannot run (targets/target.ts needsPatchedLab:
// OVMF, whose CR8 writes abort it, docs/uefi.md; the debian-disk image at SMP 2 or more, which it
// faults or hangs on) are not run here. OVMF runs in every run; the disk boots at SMP 2+, and
// whatever else a suite keeps out of `npm test`'s budget there (labGateLeavesOut), only in the
// lab's full matrix (BOOTGATE_LAB_MATRIX=full: npm run conformance, npm run uefi).

import { existsSync } from 'node:fs';
import { cachedPatchedQemu, cannotBuildPatchedQemu } from '../../lab/qemu-build/build.js';
import { defaultLabQemuKind, type LabQemuKind, QEMU_ENV } from '../../lab/qemu.js';
import { inLab, labUnavailable } from '../../lab/target.js';
import type { BootResult } from '../boot-result.js';
import { type BootRequest, CANNOT_RUN_HERE, needsPatchedLab, type Observation, type Target } from '../target.js';
import { bootBatchInLab, OWN_VMM } from './lab-batch.js';
import { labLanes, splitLanes } from './lab-lanes.js';

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
 * `full`: the nested lab runs its full matrix: also the debian-disk boots at SMP 2 and more (under
 * the patched QEMU, as OVMF always is) and the testcases suites leave out of `npm test` there
 * (labGateLeavesOut). `npm run conformance` and `npm run uefi` set it. `npm test` does not: it
 * reports what it left out as not run here (the run says incomplete) and names the command that
 * runs it. On a host with VT-x/SVM nothing runs in the lab and this changes nothing.
 */
export const LAB_MATRIX_ENV = 'BOOTGATE_LAB_MATRIX';

function labRunsFullMatrix(env: NodeJS.ProcessEnv): boolean {
  return env[LAB_MATRIX_ENV] === 'full';
}

/** Why `req` cannot run in the lab now (a CANNOT_RUN_HERE reason), or undefined. */
export function patchedLabUnavailable(req: BootRequest, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const needs = needsPatchedLab(req);
  if (needs === undefined || env[QEMU_ENV]) return undefined;
  if (needs === 'OVMF' || labRunsFullMatrix(env)) {
    const why = cachedPatchedQemu(env) ? undefined : cannotBuildPatchedQemu();
    return why ? `${CANNOT_RUN_HERE}${why}` : undefined;
  }
  return (
    `${CANNOT_RUN_HERE}in the nested lab npm test leaves out ${needs} for time (its boots take several times an SMP 1 boot's), ` +
    `and runs the image at SMP 1: npm run conformance runs these boots (docs/debian-disk.md, docs/lab-fault-rate.md)`
  );
}

/**
 * Why a testcase a suite keeps out of `npm test`'s budget on `target` is not run now (a
 * CANNOT_RUN_HERE reason naming `why` and npm run conformance), or undefined: only a lab target
 * outside the full matrix leaves anything out. `why` says what the gate keeps instead.
 */
export function labGateLeavesOut(target: { name: string }, why: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!target.name.endsWith('@lab') || labRunsFullMatrix(env)) return undefined;
  return `${CANNOT_RUN_HERE}in the nested lab npm test leaves this out for time (${why}); npm run conformance runs it`;
}

function keyOf(req: BootRequest): string {
  return JSON.stringify(Object.keys(req).sort().map((k) => [k, req[k as keyof BootRequest]]));
}

/**
 * Builds the named guests the boots need (the probe initramfs, the irqtest module) here before any
 * lab VM starts, so the lab only reads them: two lab lanes would otherwise build the same files
 * at once, each through its own 9p client's cache, and a build inside the lab (QEMU TCG) takes a
 * minute or more where the host takes seconds. The build writes under guests/build/, which the
 * lab sees through its share; a guest's files are named by the hash of what went into them.
 */
export async function buildGuestsOnHost(reqs: readonly BootRequest[]): Promise<void> {
  const names = [...new Set(reqs.flatMap((r) => (r.guest ? [r.guest] : [])))];
  if (names.length === 0) return;
  const { resolveGuest } = await import('../../guests/catalog.js');
  for (const name of names) await resolveGuest(name);
}

export function labOwnVmmTarget(observes: ReadonlySet<Observation>): Target & { prefetch(reqs: readonly BootRequest[]): Promise<void> } {
  return labBatchTarget(OWN_VMM, observes);
}

/** `<inner>@lab`: `inner` (a selectedTargets name) booted in lab batches; it observes what `inner` observes. */
export function labBatchTarget(inner: string, observes: ReadonlySet<Observation>): Target & { prefetch(reqs: readonly BootRequest[]): Promise<void> } {
  const results = new Map<string, Promise<BootResult>>();
  // The boots split over lab lanes (lab-lanes.ts), each lane its own lab VM, all at once.
  const runGroup = async (reqs: readonly BootRequest[], qemu: LabQemuKind): Promise<Map<string, BootResult>> => {
    await buildGuestsOnHost(reqs);
    const boots = reqs.map((req, i) => ({ id: `boot${i}`, req: { ...req, timeoutS: req.timeoutS * LAB_TIMEOUT_SCALE }, key: keyOf(req) }));
    const lanes = splitLanes(boots, labLanes());
    const batches = await Promise.all(
      lanes.map((lane, i) => {
        const timeoutS = lane.reduce((t, b) => t + b.req.timeoutS + PER_BOOT_SLACK_S, LAB_START_S);
        return bootBatchInLab(lane, { smp: 2, timeoutS, qemu, inner, lane: lanes.length > 1 ? `${i + 1}/${lanes.length}` : undefined });
      }),
    );
    return new Map(lanes.flatMap((lane, i) => lane.map((b) => [b.key, batches[i]!.results.get(b.id)!] as const)));
  };
  const cannotBoot = (req: BootRequest): string | undefined => patchedLabUnavailable(req);
  // One group per QEMU, one after the other: all in one under the patched build, which runs every
  // boot; the fixture (where the build cannot be had) only the rest. Each group in lanes.
  const runBatch = async (reqs: readonly BootRequest[]): Promise<Map<string, BootResult>> => {
    const out = new Map<string, BootResult>();
    const rest = defaultLabQemuKind();
    const patched = reqs.filter((r) => rest === 'patched' || needsPatchedLab(r) !== undefined);
    const others = reqs.filter((r) => !patched.includes(r));
    if (others.length > 0) for (const [k, v] of await runGroup(others, 'fixture')) out.set(k, v);
    if (patched.length > 0) for (const [k, v] of await runGroup(patched, 'patched')) out.set(k, v);
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
      const wanted = [...new Map(reqs.map((r) => [keyOf(r), r])).values()].filter((r) => cannotBoot(r) === undefined);
      const todo = wanted.filter((r) => !results.has(keyOf(r)));
      if (todo.length > 0) {
        const batch = runBatch(todo);
        for (const req of todo) {
          const result = batch.then((m) => m.get(keyOf(req))!);
          // Handled here so a failed batch is no unhandled rejection before its testcases ask; each still rejects for them.
          result.catch(() => undefined);
          results.set(keyOf(req), result);
        }
      }
      await Promise.all(wanted.map((r) => results.get(keyOf(r))));
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
