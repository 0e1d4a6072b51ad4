// Can this host's /dev/kvm run native guests (OVMF, Linux)? Answered from the file system alone
// (no ioctl, no koffi), in the order a person would check: the device exists, we may open it
// read-write, and the module behind it is hardware virtualization rather than PVM (kvm_pvm, a
// software nested mode whose instruction emulator cannot run OVMF or Linux; see
// docs/host-and-lab.md). When the answer is no, the reason says what to do instead: run the
// target inside the nested lab (`<target>@lab`).
// Left out: probing CPUID for VMX/SVM (the module list says the same), KVM capability ioctls
// (vmm/accel/ checks those when it opens /dev/kvm).

import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export type KvmModule = 'kvm_intel' | 'kvm_amd' | 'kvm_pvm';

export interface KvmCapability {
  /** True when guests that need hardware virtualization (OVMF, Linux) can run on /dev/kvm. */
  nativeGuests: boolean;
  /** Why not, with what to do instead; undefined when nativeGuests. */
  reason?: string;
  /** The vendor module behind /dev/kvm, when one is loaded. */
  module?: KvmModule;
  /** Whether the device node exists (a host can load kvm_pvm and still have none, as a container). */
  device: boolean;
}

export interface ProbeRoots {
  /** Default `/dev/kvm`. */
  device?: string;
  /** Default `/sys/module`. */
  sysModule?: string;
}

const USE_LAB = 'run targets inside the nested lab instead (e.g. --target vmm:kvm@lab; bootgate lab -- <command>)';

function loadedModules(sysModule: string): KvmModule[] {
  try {
    return readdirSync(sysModule).filter((m): m is KvmModule => m === 'kvm_intel' || m === 'kvm_amd' || m === 'kvm_pvm');
  } catch {
    return [];
  }
}

export function hostKvmCapability(roots: ProbeRoots = {}): KvmCapability {
  const device = roots.device ?? '/dev/kvm';
  const sysModule = roots.sysModule ?? '/sys/module';
  const modules = loadedModules(sysModule);
  const present = existsSync(device);
  // PVM first: it is the one case where /dev/kvm works and still cannot run the guests.
  if (existsSync(join(sysModule, 'kvm_pvm'))) {
    return {
      nativeGuests: false,
      module: 'kvm_pvm',
      device: present,
      reason: present
        ? `${device} is PVM (module kvm_pvm): a software nested mode that runs CPL0 guest code through KVM's instruction emulator, where OVMF and Linux fail; ${USE_LAB}`
        : `${device} does not exist (the kvm_pvm module is loaded, but no device node is here: a container without the device?); ${USE_LAB}`,
    };
  }
  const module = modules.find((m) => m !== 'kvm_pvm');
  if (!present) {
    const why = existsSync(join(sysModule, 'kvm'))
      ? 'the kvm module is loaded but no vendor module (kvm_intel, kvm_amd) created the device: no VT-x/SVM, or it is disabled in firmware'
      : 'no kvm module is loaded (no VT-x/SVM on this machine, or a container without the device)';
    return { nativeGuests: false, module, device: false, reason: `${device} does not exist: ${why}; ${USE_LAB}` };
  }
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch {
    return {
      nativeGuests: false,
      module,
      device: true,
      reason: `no permission to open ${device} read-write; add the user to its group (usually kvm: sudo usermod -aG kvm $USER, then log in again) or ${USE_LAB}`,
    };
  }
  return { nativeGuests: true, module, device: true };
}
