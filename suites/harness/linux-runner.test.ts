// Where Linux guests run, and what a run that cannot (or may not) run them reports: an explicit
// opt-out and a host without any way to run them are told apart, and both are "not run", never a
// plain skip.

import { describe, expect, test } from 'vitest';
import { hostKvmCapability } from '../../lab/capability.js';
import { linuxTargetOf, planLinuxRun } from './linux-runner.js';
import { ownVmmTarget } from '../../targets/vmm/target.js';
import { qemuTarget } from '../../targets/qemu/target.js';
import { notRunOf } from './meta.js';

describe('planLinuxRun', () => {
  test('BOOTGATE_LINUX=0 is an explicit opt-out', () => {
    const plan = planLinuxRun({ ...process.env, BOOTGATE_LINUX: '0' });
    expect(notRunOf(plan.unavailable)).toEqual({ optOut: true, reason: 'Linux-guest suites left out by BOOTGATE_LINUX=0' });
  });

  test.skipIf(hostKvmCapability().nativeGuests)('no native KVM and no QEMU for the lab: this host cannot run them, which is not an opt-out', () => {
    const plan = planLinuxRun({ ...process.env, BOOTGATE_LINUX: undefined, BOOTGATE_LAB: undefined, QEMU: '/nonexistent/qemu' });
    expect(plan.target).toBe('vmm:kvm@lab');
    const notRun = notRunOf(plan.unavailable);
    expect(notRun?.optOut).toBe(false);
    expect(notRun?.reason).toMatch(/the nested lab cannot run: .*\/nonexistent\/qemu/);
  });

  test('inside the lab they run there', () => {
    expect(planLinuxRun({ ...process.env, BOOTGATE_LINUX: undefined, BOOTGATE_LAB: '1' })).toEqual({ target: 'vmm:kvm@lab' });
  });
});

describe('linuxTargetOf', () => {
  test('leaves QEMU targets alone', () => {
    const tcg = qemuTarget('tcg');
    expect(linuxTargetOf(tcg)).toBe(tcg);
  });

  test('moves the own VMM into the lab where /dev/kvm cannot run Linux, and keeps it where it can', () => {
    const t = linuxTargetOf(ownVmmTarget, { ...process.env, BOOTGATE_LINUX: undefined, BOOTGATE_LAB: undefined });
    expect(t.name).toBe(hostKvmCapability().nativeGuests ? 'vmm:kvm' : 'vmm:kvm@lab');
  });

  test('says why the own VMM cannot run Linux when BOOTGATE_LINUX=0 left it out, and prefetches nothing', async () => {
    const t = linuxTargetOf(ownVmmTarget, { ...process.env, BOOTGATE_LINUX: '0' });
    expect(notRunOf(await t.unavailable())).toEqual({ optOut: true, reason: 'Linux-guest suites left out by BOOTGATE_LINUX=0' });
    expect(t.prefetch).toBeUndefined();
  });
});

describe('notRunOf', () => {
  test('an ordinary skip (the target cannot observe it) is not a missing testcase', () => {
    expect(notRunOf('qemu:tcg has no VMM quirk switches')).toBeUndefined();
    expect(notRunOf(undefined)).toBeUndefined();
  });
});
