// The registers that say where a vCPU was when it triple-faulted (KVM_EXIT_SHUTDOWN): enough to
// find the instruction and the mode (rip, cs, rsp, rflags, the control registers, EFER), not the
// whole dump, so the event stays one short line.

const KEEP = ['rip', 'cs.sel', 'cs.base', 'rsp', 'rflags', 'cr0', 'cr2', 'cr3', 'cr4', 'efer'] as const;

export function faultRegisters(all: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of KEEP) if (all[k] !== undefined) out[k] = all[k];
  return out;
}
