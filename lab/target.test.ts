import { describe, expect, it } from 'vitest';
import { inLab, labInnerTarget, labUnavailable, reportedTargetName } from './target.js';

describe('lab targets', () => {
  it('strips the @lab suffix, and only that', () => {
    expect(labInnerTarget('vmm:kvm@lab')).toBe('vmm:kvm');
    expect(labInnerTarget('qemu:kvm@lab')).toBe('qemu:kvm');
    expect(labInnerTarget('vmm:kvm')).toBeUndefined();
    expect(labInnerTarget('@lab')).toBeUndefined();
    expect(labInnerTarget('vmm:kvm@lab@lab')).toBeUndefined();
  });

  it('labels results with @lab inside the lab only', () => {
    expect(inLab({ BOOTGATE_LAB: '1' })).toBe(true);
    expect(inLab({})).toBe(false);
    expect(reportedTargetName('vmm:kvm', { BOOTGATE_LAB: '1' })).toBe('vmm:kvm@lab');
    expect(reportedTargetName('vmm:kvm@lab', { BOOTGATE_LAB: '1' })).toBe('vmm:kvm@lab');
    expect(reportedTargetName('vmm:kvm', {})).toBe('vmm:kvm');
  });

  it('is unavailable inside a lab and without QEMU, with the reason', () => {
    expect(labUnavailable({ BOOTGATE_LAB: '1', PATH: process.env.PATH })).toMatch(/already inside the nested lab/);
    expect(labUnavailable({ PATH: '/nonexistent' })).toMatch(/qemu-system-x86_64 is not on PATH/);
    expect(labUnavailable({ QEMU: '/nonexistent/qemu' })).toMatch(/\$QEMU is "\/nonexistent\/qemu"/);
  });
});
