// Lab lanes: a suite's lab boots split over two lab VMs that run at the same time. Why: a lab VM
// running an SMP 1 boot keeps about 1.3 of the host's 2 cores busy (the nested guest's vCPU, the
// VMM's device owner, TCG's own threads), so a second lab VM beside it gets the rest: measured
// 1.25x the boots per minute, each boot about 1.3x as long (docs/host-and-lab.md, "Lab lanes").
// Each lane is a lab batch of its own (lab-batch.ts): its own lab VM, kvm trace, lockup watch,
// and rerun budget.
//
// Boots that share a UEFI variable store (`vars`) stay in one lane, in the suite's order: a
// fresh-start boot reads what the boot before it wrote. Other boots are balanced by their
// timeouts (the suites' own estimate of what a boot costs) and keep the suite's order within a lane.

import { BootgateError } from '../../vmm/errors.js';
import type { BootRequest } from '../target.js';

/** How many lab VMs a suite's lab boots use at once unless BOOTGATE_LAB_LANES says otherwise. */
export const DEFAULT_LAB_LANES = 2;
export const LAB_LANES_ENV = 'BOOTGATE_LAB_LANES';

/** The lane count from the environment: 1 or 2 (more would share 2 cores among more lab VMs than help). */
export function labLanes(env: NodeJS.ProcessEnv = process.env): number {
  const v = env[LAB_LANES_ENV];
  if (v === undefined || v === '') return DEFAULT_LAB_LANES;
  if (v !== '1' && v !== '2') {
    throw new BootgateError('E_CONFIG', `${LAB_LANES_ENV}=${JSON.stringify(v)} is no lane count`, { hint: `set ${LAB_LANES_ENV} to 1 (one lab VM at a time) or 2, or leave it unset (${DEFAULT_LAB_LANES})` });
  }
  return Number(v);
}

/**
 * `boots` split into at most `lanes` lanes, none empty: units (a boot, or every boot sharing a
 * `vars` store) go, heaviest first, to the lane with the least timeout so far; each lane keeps
 * the input order.
 */
export function splitLanes<T extends { req: BootRequest }>(boots: readonly T[], lanes: number): T[][] {
  if (lanes <= 1 || boots.length <= 1) return boots.length > 0 ? [[...boots]] : [];
  const units = new Map<string, number[]>();
  boots.forEach((b, i) => {
    const key = b.req.vars !== undefined ? `vars:${b.req.vars}` : `boot:${i}`;
    units.set(key, [...(units.get(key) ?? []), i]);
  });
  const cost = (unit: number[]) => unit.reduce((t, i) => t + boots[i]!.req.timeoutS, 0);
  const ordered = [...units.values()].sort((a, b) => cost(b) - cost(a) || a[0]! - b[0]!);
  const load = Array.from({ length: Math.min(lanes, units.size) }, () => 0);
  const laneOf = new Map<number, number>();
  for (const unit of ordered) {
    const lane = load.indexOf(Math.min(...load));
    load[lane]! += cost(unit);
    for (const i of unit) laneOf.set(i, lane);
  }
  return load.map((_, lane) => boots.filter((_, i) => laneOf.get(i) === lane));
}
