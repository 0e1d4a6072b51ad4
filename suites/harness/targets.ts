// Targets: one suite, many stacks. A suite asks for the targets of this run and gets the same
// interface back for each: can it run here, what can it observe, boot one machine. An assertion a
// target cannot observe is reported as skipped with the reason, never as passed.

import type { BootResult } from './boot-result.js';
import { labOwnVmmTarget, ownVmmNeedsLab } from './lab-vmm-target.js';
import { qemuTarget } from './qemu-target.js';
import { bootOnOwnVmm, type BootRequest } from './vmm-target.js';

/** Things a suite may want to assert that not every target can show. */
export type Observation =
  | 'reset-vector-step' // the VMM single-steps the first instruction and reports where it landed
  | 'exit-profile' // exits counted by kind/port/region, time shares
  | 'firmware-high-hash' // hash of the high firmware copy after the run
  | 'rom-write-trap' // guest writes to ROM reported as trapped accesses
  | 'debugcon' // the 0x402 debug console
  | 'reset-vector-mapping' // which region serves 0xfffffff0 at reset, and whether it is read-only
  | 'bar-readback' // PCI test devices placed on the machine, their BARs read back after firmware (pci-bars, machine events)
  | 'quirks' // the VMM quirk switches (known-bad configurations)
  | 'ovmf'; // boots OVMF from pflash at least to its first instruction (the nested lab's QEMU cannot)

export interface Target {
  readonly name: string;
  readonly observes: ReadonlySet<Observation>;
  /** Why this target cannot run on this host, or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  boot(req: BootRequest): Promise<BootResult>;
  /**
   * Every boot a suite will ask for, announced up front (in beforeAll) so a target that pays a
   * start-up per batch (the own VMM inside the lab) can run them together; `boot` then returns
   * the prepared result. Targets that boot directly do not implement it.
   */
  prefetch?(reqs: readonly BootRequest[]): Promise<void>;
}

export const ownVmmTarget: Target = {
  name: 'vmm:kvm',
  observes: new Set<Observation>(['reset-vector-step', 'reset-vector-mapping', 'exit-profile', 'firmware-high-hash', 'rom-write-trap', 'debugcon', 'bar-readback', 'quirks', 'ovmf']),
  async unavailable() {
    return undefined;
  },
  boot: bootOnOwnVmm,
};

const REGISTRY = new Map<string, Target>([[ownVmmTarget.name, ownVmmTarget]]);
for (const accel of ['tcg', 'kvm']) registerTarget(qemuTarget(accel));

let labOwnVmm: Target | undefined;

/**
 * Targets named by BOOTGATE_TARGETS (comma-separated), default the own VMM. On a host without
 * /dev/kvm the own VMM runs inside the nested lab and is named `vmm:kvm@lab`.
 */
export function selectedTargets(env: NodeJS.ProcessEnv = process.env): Target[] {
  const names = (env.BOOTGATE_TARGETS ?? 'vmm:kvm')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return names.map((n) => {
    // qemu:<accel> passes any accelerator name through to -accel (nvmm, whpx, hvf, ...).
    if (n === ownVmmTarget.name && ownVmmNeedsLab()) return (labOwnVmm ??= labOwnVmmTarget(ownVmmTarget.observes));
    const t = REGISTRY.get(n) ?? (n.startsWith('qemu:') ? qemuTarget(n.slice('qemu:'.length)) : undefined);
    if (!t) throw new Error(`unknown target ${JSON.stringify(n)} in BOOTGATE_TARGETS (known: ${[...REGISTRY.keys()].join(', ')}, qemu:<accel>)`);
    return t;
  });
}

export function registerTarget(t: Target): void {
  REGISTRY.set(t.name, t);
}
