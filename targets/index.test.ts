// Target names: the registry and BOOTGATE_TARGETS. Nothing boots.

import { describe, expect, test } from 'vitest';
import { selectedTargets } from './index.js';
import { qemuTarget } from './qemu/target.js';
import { ownVmmNeedsLab } from './vmm/lab-target.js';

describe('target names', () => {
  test('qemu:<accel> for any accelerator name; tcg and kvm registered', () => {
    // The own VMM is vmm:kvm@lab on a host without /dev/kvm (vmm/lab-target.ts).
    const own = ownVmmNeedsLab() ? 'vmm:kvm@lab' : 'vmm:kvm';
    expect(selectedTargets({ BOOTGATE_TARGETS: 'vmm:kvm, qemu:tcg,qemu:nvmm' }).map((t) => t.name)).toEqual([own, 'qemu:tcg', 'qemu:nvmm']);
    expect(qemuTarget('whpx').observes.has('reset-vector-mapping')).toBe(true);
    expect(qemuTarget('tcg').observes.has('bar-readback')).toBe(true);
    expect(qemuTarget('hvf').observes.has('reset-vector-step')).toBe(false);
    expect(() => selectedTargets({ BOOTGATE_TARGETS: 'qemu:' })).toThrow(/invalid target qemu:/);
    expect(() => selectedTargets({ BOOTGATE_TARGETS: 'bhyve' })).toThrow(/^unknown target "bhyve" in BOOTGATE_TARGETS \(known: vmm:kvm, .*qemu:tcg, qemu:kvm.*, qemu:<accel>\)$/);
  });
});
