// Which of a boot's low-memory snapshots (vmm/machine/memory-snapshot.ts) belongs to the shutdown
// L1 KVM's trace caught: the trace stops at the first shutdown its filter lets through (every
// vCPU, or every vCPU but 0 when the boot asks for triple faults), so it is the first snapshot
// taken for a triple fault of that vCPU.

import { tripleFaultSource } from '../../vmm/machine/memory-snapshot.js';
import type { BootEvent } from '../boot-result.js';

export { tripleFaultSource };

/** The snapshot file of `vcpu`'s first triple fault in `events`, or undefined. */
export function shutdownSnapshot(events: readonly BootEvent[], vcpu: number): string | undefined {
  const want = tripleFaultSource(vcpu);
  const snap = events.find((e) => e.event === 'memory-snapshot' && e.source === want);
  return typeof snap?.file === 'string' ? snap.file : undefined;
}
