// Target `vmm:kvm` on a host without /dev/kvm (a machine whose kernel is itself a PVM guest has
// the kvm module but no device): the own VMM runs inside the nested lab instead, reported as
// `vmm:kvm@lab`. Starting a lab VM costs seconds, so a suite hands over every boot it will make
// (`prefetch`) and they run one after another inside ONE lab VM; `boot(req)` then returns the
// prefetched result, or runs a one-boot batch for a request nobody announced.
// What it cannot do: boot OVMF. The lab's QEMU aborts as soon as a nested guest with an in-kernel
// LAPIC writes CR8 with a virtual interrupt pending, which OVMF does on every interrupt
// (docs/host-and-lab.md), and would take the other boots of the batch with it.

import { existsSync } from 'node:fs';
import { inLab, labUnavailable } from '../../lab/target.js';
import type { BootResult } from '../boot-result.js';
import { type BootRequest, CANNOT_RUN_HERE, type Observation, type Target } from '../target.js';
import { bootBatchInLab } from './lab-batch.js';

/** Suites state timeouts for a native host; firmware inside the lab runs several times slower. */
export const LAB_TIMEOUT_SCALE = 4;
/** Lab start and Node start-up per boot, on top of the boots' own timeouts. */
const LAB_START_S = 120;
const PER_BOOT_SLACK_S = 60;

/** True when this host has no /dev/kvm at all, so vmm:kvm can only run in the lab. */
export function ownVmmNeedsLab(device = '/dev/kvm'): boolean {
  return !inLab() && !existsSync(device);
}

function keyOf(req: BootRequest): string {
  return JSON.stringify(Object.keys(req).sort().map((k) => [k, req[k as keyof BootRequest]]));
}

export function labOwnVmmTarget(observes: ReadonlySet<Observation>): Target & { prefetch(reqs: readonly BootRequest[]): Promise<void> } {
  const results = new Map<string, Promise<BootResult>>();
  const runBatch = (reqs: readonly BootRequest[]): Promise<Map<string, BootResult>> => {
    const boots = reqs.map((req, i) => ({ id: `boot${i}`, req: { ...req, timeoutS: req.timeoutS * LAB_TIMEOUT_SCALE } }));
    const timeoutS = boots.reduce((t, b) => t + b.req.timeoutS + PER_BOOT_SLACK_S, LAB_START_S);
    return bootBatchInLab(boots, { smp: 2, timeoutS }).then((batch) => new Map(reqs.map((req, i) => [keyOf(req), batch.results.get(`boot${i}`)!])));
  };
  const observesHere = new Set([...observes].filter((o) => o !== 'ovmf'));
  return {
    name: 'vmm:kvm@lab',
    observes: observesHere,
    async unavailable() {
      const why = labUnavailable();
      return why ? `${CANNOT_RUN_HERE}no /dev/kvm on this host and the nested lab cannot run: ${why}` : undefined;
    },
    async prefetch(reqs) {
      const todo = [...new Map(reqs.map((r) => [keyOf(r), r])).values()].filter((r) => !results.has(keyOf(r)));
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
