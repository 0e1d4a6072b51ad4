// Releasing the kvm_run page of a vCPU that a machine reset replaced. Its mapping also keeps the old
// vCPU (and so the old KVM VM, with its page tables and PIT thread) alive, so it must go; but only
// once no kick that read its address from the control block is still writing into it.

import type { KvmVcpu } from '../accel/kvm/kvm-vcpu.js';
import type { ControlBlock } from './control.js';

/** How long to wait for in-flight kicks before leaving the page (and the old VM) mapped instead. */
export const KICK_QUIESCE_MS = 1000;

/** Call after the replacement vCPU is registered. Returns whether the old page was unmapped. */
export function releaseRunPage(control: Pick<ControlBlock, 'waitNoKicks'>, old: Pick<KvmVcpu, 'close'>): boolean {
  if (!control.waitNoKicks(KICK_QUIESCE_MS)) return false;
  old.close();
  return true;
}
