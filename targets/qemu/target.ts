// Targets `qemu:<accel>`: the same suites on QEMU with any accelerator (`-accel tcg|kvm|nvmm|
// whpx|hvf|...`), one qemu-system-x86_64 per boot on a machine equivalent to the own VMM's
// (args.ts), producing the same BootResult (boot.ts drives the process, run.ts keeps the books).
// PCI test devices become pci-testdev (one 64-bit prefetchable membar each; other BAR lists are
// refused) and are read back with query-pci at the until match, as the own VMM's `pci-bars` and
// `machine` events.
// Guests by name (`guest`: guests/catalog.ts, as the own VMM resolves them): their firmware and,
// for Linux guests, -kernel/-initrd/-append; the probe's reboot= method runs as on the own VMM.
// debian-irqtest needs the own VMM's interrupt test device and is refused (suites skip it).
// Cannot observe (reported as skipped by the suites): the single-stepped first instruction, the
// exit profile, trapped ROM writes, the own VMM's quirk switches.

import { BootgateError } from '../../vmm/errors.js';
import type { BootRequest, Observation, Target } from '../target.js';
import { ACCEL_NAME } from './args.js';
import { qemuAccelerators, requireQemu } from './binary.js';
import { bootOnQemu } from './boot.js';

export interface QemuBootRequest extends BootRequest {
  /** -no-reboot: a guest reset ends the run (status power-off, a `reset` event) instead of rebooting. */
  noReboot?: boolean;
  /** COM1 text as it arrives (the CLI prints it live). */
  onSerial?: (text: string) => void;
}

/** What QEMU lets the suites see. */
export const QEMU_OBSERVES: ReadonlySet<Observation> = new Set<Observation>(['reset-vector-mapping', 'debugcon', 'firmware-high-hash', 'bar-readback', 'ovmf']);

export function qemuTarget(accel: string, env: NodeJS.ProcessEnv = process.env): Target {
  if (!ACCEL_NAME.test(accel)) {
    throw new BootgateError('E_CONFIG', `invalid target qemu:${accel}: the accelerator must be a name like tcg, kvm, nvmm, whpx or hvf`, {
      hint: 'use qemu:<accel> with a name from `qemu-system-x86_64 -accel help`',
    });
  }
  return {
    name: `qemu:${accel}`,
    observes: QEMU_OBSERVES,
    async unavailable() {
      return undefined; // a selected QEMU target that cannot start fails with QEMU's own words
    },
    boot: (req) => bootOnQemu(accel, req, env),
  };
}

/** Checks a qemu target name against the binary: one line naming the problem and the fix, or undefined. */
export function checkQemuAccelerator(accel: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let binary: string;
  let accels: string[];
  try {
    binary = requireQemu(env);
    accels = qemuAccelerators(binary);
  } catch (e) {
    return e instanceof BootgateError ? `qemu:${accel}: ${e.toLine()}` : String(e);
  }
  if (accels.includes(accel)) return undefined;
  return `unknown accelerator ${JSON.stringify(accel)} in target qemu:${accel}: ${binary} has ${accels.join(', ')} (fix: use ${accels.map((a) => `qemu:${a}`).join(' or ')})`;
}
