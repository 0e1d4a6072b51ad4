// Opening a vCPU of the VM the device owner last published, the same way on every thread that runs
// one (a vCPU thread, or the owner itself at SMP 1): vmd's CS base for vCPU 0 under the
// vmd-low-bios-only quirk (and a backend check for scrub-irr-live-vector), then registration so that any thread can kick it.

import { gettid } from '../accel/kvm/libc.js';
import type { Vcpu, VcpuBackend, VcpuIntrospection } from '../accel/types.js';
import { BootgateError } from '../errors.js';
import { VMD_RESET_CS_BASE } from '../layout.js';
import type { QuirkName } from '../quirks.js';
import type { ControlBlock } from './control.js';

/** `tid`: the thread that will enter this vCPU (this one, unless a native thread does). */
export function openRegistered(backend: VcpuBackend, control: Pick<ControlBlock, 'vcpuHandle' | 'registerVcpu'>, index: number, quirks: readonly QuirkName[], tid = gettid()): Vcpu {
  const vcpu = backend.open(control.vcpuHandle(index), index);
  if (index === 0 && quirks.includes('vmd-low-bios-only')) {
    const setCsBase = (vcpu as Partial<VcpuIntrospection>).setCsBase;
    if (setCsBase === undefined) throw new BootgateError('E_CONFIG', `the ${backend.name} backend cannot move CS's base`, { hint: 'drop --quirk vmd-low-bios-only' });
    setCsBase.call(vcpu, VMD_RESET_CS_BASE);
  }
  if (quirks.includes('scrub-irr-live-vector') && (vcpu as Partial<VcpuIntrospection>).clearIrrVector === undefined) {
    throw new BootgateError('E_CONFIG', `the ${backend.name} backend cannot edit a vCPU's local APIC IRR`, { hint: 'drop --quirk scrub-irr-live-vector' });
  }
  control.registerVcpu(index, tid, vcpu.kickAddress);
  return vcpu;
}
