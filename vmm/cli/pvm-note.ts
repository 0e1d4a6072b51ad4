// What `bootgate boot` says on a host whose /dev/kvm is PVM (kvm_pvm: a software nested mode whose
// instruction emulator runs SeaBIOS but not what OVMF and Linux execute; docs/host-and-lab.md).
// Not a refusal: the reset-vector suite runs OVMF's first instruction there on purpose. One line
// before the boot when the firmware or kernel will hit it, and a fix attached to the accelerator's
// internal-error exit instead of leaving a bare register dump to decode.

import type { KvmCapability } from '../../lab/capability.js';
import type { VmConfig } from '../config.js';

const LAB_FIX = 'boot it with --target vmm:kvm@lab (the nested lab gives real KVM semantics)';

/** The line to print before booting `config` on this host, or undefined. */
export function pvmBootNote(config: Pick<VmConfig, 'firmware' | 'kernel' | 'flashVarsTemplate'>, kvm: Pick<KvmCapability, 'module'>): string | undefined {
  if (kvm.module !== 'kvm_pvm') return undefined;
  const what = config.kernel ? 'Linux' : config.firmware?.startsWith('ovmf') ? 'OVMF' : undefined;
  if (!what) return undefined;
  return `bootgate: note: /dev/kvm is PVM here: ${what} stops at the first instruction PVM's emulator cannot run (KVM internal error); ${LAB_FIX}`;
}

/** The fix for an error the run ended with, when it is PVM's emulator giving up. */
export function pvmErrorHint(error: { message: string; hint?: string }, kvm: Pick<KvmCapability, 'module'>): string | undefined {
  if (kvm.module !== 'kvm_pvm' || error.hint || !/exit InternalError/.test(error.message)) return error.hint;
  return `this host's /dev/kvm is PVM, whose instruction emulator gave up here; ${LAB_FIX}`;
}
