// openAccelerator(): probes the accelerator a target names before any VM is built, so a missing
// or inaccessible device is one clear line (with the fix) rather than a failure deep in a worker.
// Only Linux KVM exists so far; FreeBSD vmm, NVMM and OpenBSD vmm(4) slot in here.

import { BootgateError } from '../errors.js';
import { KvmAccelerator } from './kvm/kvm-vm.js';

export interface AcceleratorProbe {
  name: string;
  device: string;
}

export function probeAccelerator(target: string): AcceleratorProbe {
  if (target !== 'vmm:kvm') {
    throw new BootgateError('E_CONFIG', `no accelerator backend for target ${target}`, { hint: 'use --target vmm:kvm' });
  }
  if (process.platform !== 'linux') {
    throw new BootgateError('E_ACCEL', `vmm:kvm needs Linux; this host is ${process.platform}`, {
      hint: 'use a qemu:<accel> target on this host',
    });
  }
  const kvm = new KvmAccelerator();
  kvm.close();
  return { name: 'kvm', device: process.env.BOOTGATE_KVM_DEVICE ?? '/dev/kvm' };
}
