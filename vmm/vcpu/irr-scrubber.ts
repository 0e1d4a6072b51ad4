// The scrub-irr-live-vector quirk, vCPU side: before each guest entry, clear from this vCPU's local
// APIC IRR the vector the device owner published for IOAPIC pin 14 (vmm/machine/irq-path.ts). It
// reproduces a scrubber written to drop stale firmware vectors before an AP's first entry that ran
// on every entry and cleared a fixed vector Linux had given the ATA interrupt: an interrupt that
// reached the IRR while the vCPU was out of the guest is gone before KVM can inject it. At SMP 1
// every device interrupt is raised while vCPU 0 is out of the guest (its own thread serves the
// devices), so every disk interrupt is eaten; at SMP > 1 those raised while the target vCPU waits on
// a hand-over are.

import type { Vcpu, VcpuIntrospection } from '../accel/types.js';
import type { QuirkName } from '../quirks.js';

/** Vectors 0-15 are reserved: 0 is "nothing published yet". */
const FIRST_DEVICE_VECTOR = 0x10;

export type EntryHook = (vcpu: Vcpu) => void;

/** The runner's hook before each entry under the quirk, or undefined without it. */
export function irrScrubber(control: { readonly scrubVector: number }, quirks: readonly QuirkName[]): EntryHook | undefined {
  if (!quirks.includes('scrub-irr-live-vector')) return undefined;
  return (vcpu) => {
    const vector = control.scrubVector;
    if (vector < FIRST_DEVICE_VECTOR) return;
    // openRegistered refused a backend without it.
    (vcpu as Vcpu & VcpuIntrospection).clearIrrVector(vector);
  };
}
