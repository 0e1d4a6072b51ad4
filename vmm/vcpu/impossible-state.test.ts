import { describe, expect, it } from 'vitest';
import { impossibleCpuState, impossibleReason, impossibleStates } from './impossible-state.js';

// The hung lab boot's vCPU 0 (docs/lab-fault-rate.md): the lab kernel's rip and CR0, EFER 0.
const LAB_KERNEL_IN_GUEST = { rip: '0xffffffffc041a13c', 'cs.sel': '0x10', cr0: '0x80050033', cr4: '0x0', efer: '0x0' };

describe('impossibleCpuState', () => {
  it('finds a 64-bit rip outside long mode, the state the hung lab boot read back', () => {
    expect(impossibleCpuState(LAB_KERNEL_IN_GUEST)).toMatch(/rip 0xffffffffc041a13c is above 4 GiB while EFER\.LMA is 0/);
  });

  it('finds paging without protection, and long mode active without paging or LME', () => {
    expect(impossibleCpuState({ rip: '0xfff0', cr0: '0x80000000', efer: '0x0' })).toMatch(/CR0\.PG is set without CR0\.PE/);
    expect(impossibleCpuState({ rip: '0x1000', cr0: '0x11', efer: '0x500' })).toMatch(/EFER\.LMA is set without CR0\.PG/);
    expect(impossibleCpuState({ rip: '0x1000', cr0: '0x80000011', efer: '0x400' })).toMatch(/EFER\.LMA is set without CR0\.PG and EFER\.LME/);
  });

  it('passes the states real guests are in: reset, SeaBIOS 32-bit, a long-mode kernel, and unreadable registers', () => {
    expect(impossibleCpuState({ rip: '0xfff0', cr0: '0x60000010', efer: '0x0' })).toBeUndefined();
    expect(impossibleCpuState({ rip: '0xf1234', cr0: '0x60000011', efer: '0x0' })).toBeUndefined();
    expect(impossibleCpuState({ rip: '0xffffffff81000000', cr0: '0x80050033', efer: '0xd01' })).toBeUndefined();
    expect(impossibleCpuState({ error: 'KVM_GET_REGS: EBADF' })).toBeUndefined();
  });

  it('lists only the vCPUs whose state is impossible', () => {
    const states = impossibleStates([
      { vcpu: 0, regs: LAB_KERNEL_IN_GUEST },
      { vcpu: 1, regs: { rip: '0xfff0', cr0: '0x60000010', efer: '0x0' } },
    ]);
    expect(states).toEqual([{ vcpu: 0, why: expect.stringMatching(/EFER\.LMA is 0/) }]);
    expect(impossibleReason(states)).toMatch(/^; the accelerator returned a CPU state no x86 CPU can be in: vCPU 0: rip 0xffffffffc041a13c/);
    expect(impossibleReason([])).toBe('');
  });
});
