// A vCPU state no x86 CPU can be in (Intel SDM Vol. 3A 2.5 and 9.8.5, AMD APM Vol. 2 14.6): the
// accelerator returned it, since outside a reset the VMM writes no guest register. Checked on the
// registers a stall diagnostic reads back (hex strings, kvm_regs/kvm_sregs names).
//
// Why: in the nested lab a hung own-VMM boot read back vCPU 0 with rip 0xffffffffc041a13c (the lab
// kernel's module area), CS 0x10, CR0 with paging, EFER 0: the lab kernel's own state, in a guest
// that never left 16/32-bit mode (docs/lab-fault-rate.md). Such a state is evidence against the
// accelerator; the lab batch treats it as the lab's (targets/vmm/lab-rerun.ts).
//
// Left out: segment and descriptor-table consistency, CR4 reserved bits (what KVM_SET_SREGS
// would refuse), which no observed fault has broken.

const CR0_PE = 1n << 0n;
const CR0_PG = 1n << 31n;
const EFER_LME = 1n << 8n;
const EFER_LMA = 1n << 10n;
const FOUR_GIB = 1n << 32n;

function value(regs: Record<string, string>, name: string): bigint | undefined {
  const v = regs[name];
  if (v === undefined || !/^0x[0-9a-f]+$/i.test(v)) return undefined;
  return BigInt(v);
}

/** Why this register set is impossible, or undefined when it is one a CPU can be in (or unreadable). */
export function impossibleCpuState(regs: Record<string, string>): string | undefined {
  const rip = value(regs, 'rip');
  const cr0 = value(regs, 'cr0');
  const efer = value(regs, 'efer');
  if (rip === undefined || cr0 === undefined || efer === undefined) return undefined;
  const lma = (efer & EFER_LMA) !== 0n;
  if (!lma && rip >= FOUR_GIB) return `rip 0x${rip.toString(16)} is above 4 GiB while EFER.LMA is 0 (efer 0x${efer.toString(16)}): outside long mode rip has 32 bits`;
  if ((cr0 & CR0_PG) !== 0n && (cr0 & CR0_PE) === 0n) return `CR0.PG is set without CR0.PE (cr0 0x${cr0.toString(16)})`;
  if (lma && ((cr0 & CR0_PG) === 0n || (efer & EFER_LME) === 0n)) return `EFER.LMA is set without CR0.PG and EFER.LME (cr0 0x${cr0.toString(16)}, efer 0x${efer.toString(16)})`;
  return undefined;
}

/** Every vCPU of a diagnostic whose registers are impossible, with why. */
export function impossibleStates(registers: ReadonlyArray<{ vcpu: number; regs: Record<string, string> }>): Array<{ vcpu: number; why: string }> {
  return registers.flatMap((r) => {
    const why = impossibleCpuState(r.regs);
    return why === undefined ? [] : [{ vcpu: r.vcpu, why }];
  });
}

/** The diagnostic reason's suffix naming them ('' for none). */
export function impossibleReason(states: ReadonlyArray<{ vcpu: number; why: string }>): string {
  if (states.length === 0) return '';
  return `; the accelerator returned a CPU state no x86 CPU can be in: ${states.map((s) => `vCPU ${s.vcpu}: ${s.why}`).join('; ')}`;
}
