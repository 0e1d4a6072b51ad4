// Where the VMM gets its accelerator backend. probeAccelerator(): checks the accelerator a target
// names before any VM is built, so a missing or inaccessible device is one clear line (with the
// fix) rather than a failure deep in a worker. openVcpuBackend(): what a vCPU thread opens its vCPU
// with; it loads only the backend's vCPU module (a vCPU thread's start time is on the boot path).
// Only Linux KVM exists so far; FreeBSD vmm, NVMM and OpenBSD vmm(4) slot in here.

import { BootgateError } from '../errors.js';
import { KvmAccelerator } from './kvm/kvm-vm.js';
import type { Accelerator, VcpuBackend, VcpuBackendParams } from './types.js';

/** The accelerator the device owner builds the VM with. */
export function openAccelerator(name: string): Accelerator {
  if (name !== 'kvm') throw new BootgateError('E_CONFIG', `no accelerator backend named ${name}`, { hint: 'the only backend so far is kvm' });
  return new KvmAccelerator();
}

export async function openVcpuBackend(name: string, params: VcpuBackendParams): Promise<VcpuBackend> {
  if (name !== 'kvm') throw new BootgateError('E_CONFIG', `no vCPU backend named ${name}`, { hint: 'the only backend so far is kvm' });
  return (await import('./kvm/kvm-vcpu.js')).kvmVcpuBackend(params.mmapSize);
}

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
