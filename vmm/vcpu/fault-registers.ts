// The registers that say where a vCPU was when it triple-faulted (KVM_EXIT_SHUTDOWN): enough to
// find the instruction and the mode (rip, cs, rsp, rflags, the control registers, EFER), not the
// whole dump, so the event stays one short line. On AMD SVM, KVM reinitializes the VMCB when it
// handles the shutdown intercept, so there the registers read back are the INIT state (CS base
// 0xffff0000, RIP 0xfff0), not where the fault happened; `describeFault` says so.

const KEEP = ['rip', 'cs.sel', 'cs.base', 'rsp', 'rflags', 'cr0', 'cr2', 'cr3', 'cr4', 'efer'] as const;

export function faultRegisters(all: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of KEEP) if (all[k] !== undefined) out[k] = all[k];
  return out;
}

/** One line for a report: where the vCPU was, or that the registers were already reset (AMD). */
export function describeFault(vcpu: unknown, regs: Record<string, string>): string {
  if (regs['cs.base'] === '0xffff0000' && regs.rip === '0xfff0') {
    return `vCPU ${String(vcpu)} triple-faulted (its registers read back in the INIT state: on AMD SVM, KVM resets the VMCB at a shutdown)`;
  }
  return `vCPU ${String(vcpu)} triple-faulted at rip ${regs.rip ?? '?'} (cs ${regs['cs.sel'] ?? '?'}, rsp ${regs.rsp ?? '?'}, cr2 ${regs.cr2 ?? '?'}, cr3 ${regs.cr3 ?? '?'})`;
}
