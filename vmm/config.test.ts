import { describe, expect, it } from 'vitest';
import { validateVmConfig, vcpuRunners } from './config.js';

describe('what enters the vCPUs', () => {
  it('native threads at SMP > 1 and the device owner at SMP 1 by default; --vcpu-threads overrides', () => {
    expect(vcpuRunners({ smp: 8 })).toBe('native');
    expect(vcpuRunners({ smp: 1 })).toBe('owner');
    expect(vcpuRunners({ smp: 2, vcpuThreads: 'worker' })).toBe('worker');
    expect(vcpuRunners({ smp: 1, vcpuThreads: 'native' })).toBe('native');
    // No worker at SMP 1: the owner runs vCPU 0, as it always did.
    expect(vcpuRunners({ smp: 1, vcpuThreads: 'worker' })).toBe('owner');
  });

  it('the option is kept only when given, and refused when it names nothing', () => {
    expect(validateVmConfig({ smp: 2 }).vcpuThreads).toBeUndefined();
    expect(validateVmConfig({ smp: 2, vcpuThreads: 'worker' }).vcpuThreads).toBe('worker');
    expect(() => validateVmConfig({ vcpuThreads: 'green' })).toThrowError(/invalid --vcpu-threads: "green"; expected native or worker/);
  });
});
