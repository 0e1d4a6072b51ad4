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
    expect(() => selectedTargets({ BOOTGATE_TARGETS: 'bhyve' })).toThrow(/^unknown target "bhyve" in BOOTGATE_TARGETS \(known: vmm:kvm, .*qemu:tcg, qemu:kvm.*, qemu:<accel>, and each of them with @lab\)$/);
  });

  test('<target>@lab boots in lab batches, observes what the target observes, and is one instance per name', () => {
    const [ownLab, qemuLab, again] = selectedTargets({ BOOTGATE_TARGETS: 'vmm:kvm@lab,qemu:kvm@lab,qemu:kvm@lab' });
    expect([ownLab!.name, qemuLab!.name]).toEqual(['vmm:kvm@lab', 'qemu:kvm@lab']);
    expect(qemuLab).toBe(again);
    expect(typeof qemuLab!.prefetch).toBe('function');
    expect([...qemuLab!.observes]).toEqual([...qemuTarget('kvm').observes]);
    expect(ownLab!.observes.has('reset-vector-step')).toBe(true);
    if (ownVmmNeedsLab()) expect(selectedTargets({ BOOTGATE_TARGETS: 'vmm:kvm' })[0]).toBe(ownLab);
    expect(() => selectedTargets({ BOOTGATE_TARGETS: 'bhyve@lab' })).toThrow(/^unknown target "bhyve@lab"/);
    expect(() => selectedTargets({ BOOTGATE_TARGETS: 'qemu:@lab' })).toThrow(/invalid target qemu:/);
  });
});
