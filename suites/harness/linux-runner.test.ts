// Where Linux guests run, and what a run that cannot (or may not) run them reports: an explicit
// opt-out and a host without any way to run them are told apart, and both are "not run", never a
// plain skip; a lab that fails fails its boots.

import { describe, expect, test, vi } from 'vitest';
import { hostKvmCapability } from '../../lab/capability.js';
import { labUnavailable } from '../../lab/target.js';
import { failedBoot, linuxTargetOf, planLinuxRun, runLinuxBoots } from './linux-runner.js';
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

vi.mock('../../targets/vmm/lab-batch.js', () => ({
  bootBatchInLab: () => Promise.reject(new Error('runInLab: qemu-system-x86_64 exited 1 before the lab was ready')),
}));

describe('runLinuxBoots', () => {
  const labHost = !hostKvmCapability().nativeGuests && labUnavailable({ ...process.env, BOOTGATE_LAB: undefined }) === undefined;
  test.skipIf(!labHost || process.env.BOOTGATE_LAB === '1' || process.env.BOOTGATE_LINUX === '0')('a lab that should run but fails to start fails every boot with its error', async () => {
    const req = { guest: 'debian-probe', smp: 1, timeoutS: 10 } as const;
    const run = await runLinuxBoots([{ id: 'a', req }, { id: 'b', req }], 60);
    expect([...run.results.keys()]).toEqual(['a', 'b']);
    for (const r of run.results.values()) {
      expect(r.status).toBe('error');
      expect(r.error?.message).toBe('the nested lab failed: runInLab: qemu-system-x86_64 exited 1 before the lab was ready');
    }
  });
});

describe('failedBoot', () => {
  test("a lab that failed to start fails the boot with the lab's error", () => {
    const err = Object.assign(new Error('lab VM did not start: qemu exited 1'), { code: 'E_LAB' });
    expect(failedBoot('vmm:kvm@lab', err)).toMatchObject({ target: 'vmm:kvm@lab', status: 'error', error: { code: 'E_LAB', message: 'lab VM did not start: qemu exited 1' } });
    expect(failedBoot('vmm:kvm', 'boom').error).toEqual({ code: 'E_INTERNAL', message: 'boom' });
  });
});
