import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstAttempt, impossibleStateRerun, LAB_FAULT_RERUN_MIN_SMP, LAB_RESTARTS, labLoss, LAB_TRIPLE_FAULTS_ARE_INFRASTRUCTURE, mayRestartLab, requestedTripleFaults, rerunCondition, rerunOf, rerunPolicy, tripleFaultRerunAbove } from './lab-rerun.js';

const irqtest = { guest: 'debian-irqtest', smp: 2, timeoutS: 300 };
const triple = { guest: 'debian-probe', smp: 2, timeoutS: 300, reboot: 'triple' };
const quirk = { ...irqtest, quirks: ['irq-to-bsp-only'] };

describe('lab batch rerun decisions', () => {
  it('counts the triple faults a boot asks for: one per reboot with reboot=triple, none otherwise', () => {
    expect(requestedTripleFaults(irqtest)).toBe(0);
    expect(requestedTripleFaults({ ...triple, reboot: 'bios' })).toBe(0);
    expect(requestedTripleFaults(triple)).toBe(1);
    expect(requestedTripleFaults({ ...triple, reboots: 2 })).toBe(2);
  });

  it('reruns a boot at SMP 2 or more once after an unrequested triple fault: the QEMU/KVM control faulted in the same lab', () => {
    expect(LAB_TRIPLE_FAULTS_ARE_INFRASTRUCTURE).toBe(true);
    expect(rerunPolicy({}).tripleFaultReruns).toBe(1);
  });

  it('allows a reboot=triple boot its requested faults and a plain boot none; never reruns a quirk boot or an SMP 1 boot', () => {
    const policy = rerunPolicy({}, true);
    expect(policy.tripleFaultReruns).toBe(1);
    expect(tripleFaultRerunAbove(irqtest, policy)).toBe(0);
    expect(tripleFaultRerunAbove({ ...irqtest, smp: 8 }, policy)).toBe(0);
    expect(tripleFaultRerunAbove(triple, policy)).toBe(1);
    expect(tripleFaultRerunAbove(quirk, policy)).toBeUndefined();
    expect(LAB_FAULT_RERUN_MIN_SMP).toBe(2);
    expect(tripleFaultRerunAbove({ ...irqtest, smp: 1 }, policy)).toBeUndefined();
  });

  it('with the policy off, reruns no boot after a triple fault', () => {
    const policy = rerunPolicy({}, false);
    expect(policy.tripleFaultReruns).toBe(0);
    for (const req of [irqtest, triple, quirk]) expect(tripleFaultRerunAbove(req, policy)).toBeUndefined();
  });

  it('replaces wedged lab VMs at most LAB_RESTARTS times', () => {
    const policy = rerunPolicy({});
    expect(policy.labRestarts).toBe(LAB_RESTARTS);
    expect(Array.from({ length: LAB_RESTARTS + 2 }, (_, attempt) => mayRestartLab(attempt, policy))).toEqual([
      ...Array.from({ length: LAB_RESTARTS }, () => true),
      false,
      false,
    ]);
  });

  it('reruns nothing with BOOTGATE_NO_RERUN=1: no fresh lab after a lockup, no rerun after a triple fault', () => {
    const policy = rerunPolicy({ BOOTGATE_NO_RERUN: '1' }, true);
    expect(policy).toEqual({ labRestarts: 0, tripleFaultReruns: 0, impossibleStateReruns: 0 });
    expect(mayRestartLab(0, policy)).toBe(false);
    expect(tripleFaultRerunAbove(irqtest, policy)).toBeUndefined();
    expect(rerunPolicy({ BOOTGATE_NO_RERUN: '0' }).labRestarts).toBe(LAB_RESTARTS);
  });

  it('marks a boot rerun only when an attempt was lost, with every reason, the first evidence and the attempt count', () => {
    expect(rerunOf([])).toBeUndefined();
    expect(rerunOf([{ reason: 'lab VM 1 wedged while the boot ran (watchdog: BUG: soft lockup - CPU#1 stuck for 22s!)', evidence: '/k/lab-1-console.txt' }])).toEqual({
      reason: 'lab VM 1 wedged while the boot ran (watchdog: BUG: soft lockup - CPU#1 stuck for 22s!)',
      firstAttempt: '/k/lab-1-console.txt',
      attempts: 2,
    });
    const twice = rerunOf([
      { reason: 'lab VM 1 wedged while the boot ran (lab frozen: no heartbeat for 95 s)', evidence: '/k/lab-1-console.txt' },
      { reason: 'lab VM 2 wedged while the boot ran (lab frozen: no heartbeat for 91 s)', evidence: '/k/lab-2-console.txt' },
    ]);
    expect(twice).toEqual({
      reason: 'lab VM 1 wedged while the boot ran (lab frozen: no heartbeat for 95 s); then lab VM 2 wedged while the boot ran (lab frozen: no heartbeat for 91 s)',
      firstAttempt: '/k/lab-1-console.txt',
      attempts: 3,
    });
  });
});

describe('the rerun of an impossible vCPU state', () => {
  it('applies at any SMP, SMP 1 included, but never to a quirk boot or with reruns off', () => {
    const policy = rerunPolicy({});
    expect(impossibleStateRerun({ ...irqtest, smp: 1 }, policy)).toBe(true);
    expect(impossibleStateRerun({ ...irqtest, smp: 8 }, policy)).toBe(true);
    expect(impossibleStateRerun(quirk, policy)).toBe(false);
    // Its own cause: not switched off with the triple-fault reruns.
    expect(impossibleStateRerun(irqtest, rerunPolicy({}, false))).toBe(true);
    expect(impossibleStateRerun(irqtest, rerunPolicy({ BOOTGATE_NO_RERUN: '1' }))).toBe(false);
  });

  it('is tested by the batch script (run here under sh): a final diagnostic with impossible states reruns, a plain timeout does not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootgate-rerun-condition-'));
    const ev = join(dir, 'boot.jsonl');
    const run = (text: string, above: number | undefined, impossible: boolean) => {
      writeFileSync(ev, text);
      return execFileSync('sh', ['-c', `if ${rerunCondition(`'${ev}'`, above, impossible)}; then echo rerun; else echo keep; fi`], { encoding: 'utf8' }).trim();
    };
    const timeout = JSON.stringify({ event: 'final', status: 'timeout', diagnostic: { reason: 'timed out', registers: [] } });
    const corrupt = JSON.stringify({ event: 'final', status: 'timeout', diagnostic: { reason: 'timed out', registers: [], impossibleStates: [{ vcpu: 0, why: 'x' }] } });
    const fault = JSON.stringify({ event: 'triple-fault', vcpu: 0 });
    expect(run(timeout, 0, true)).toBe('keep');
    expect(run(corrupt, 0, true)).toBe('rerun');
    expect(run(corrupt, undefined, true)).toBe('rerun');
    expect(run(corrupt, 0, false)).toBe('keep');
    expect(run(`${fault}\n${timeout}`, 0, true)).toBe('rerun');
    expect(run(`${fault}\n${timeout}`, 1, true)).toBe('keep');
    expect(run(corrupt, undefined, false)).toBe('keep');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('the first attempt of a triple-fault rerun', () => {
  it('says which vCPU faulted and when', () => {
    const first = [
      JSON.stringify({ event: 'milestone', t: 0, name: 'vmm-start' }),
      JSON.stringify({ event: 'triple-fault', t: 22519.2, vcpu: 1, registers: { rip: '0xfff0', 'cs.base': '0xffff0000' } }),
    ].join('\n');
    expect(firstAttempt(first)).toBe('in the first attempt vCPU 1 triple-faulted 22.5 s into the boot, more often than the guest asked for');
  });

  it('lists every fault when there were several (a reboot=triple boot with one too many)', () => {
    const first = [
      JSON.stringify({ event: 'triple-fault', t: 28185.5, vcpu: 0, registers: {} }),
      JSON.stringify({ event: 'triple-fault', t: 36806.9, vcpu: 1, registers: {} }),
    ].join('\n');
    expect(firstAttempt(first)).toBe('in the first attempt vCPU 0 triple-faulted 28.2 s into the boot, then vCPU 1 triple-faulted 36.8 s into the boot, more often than the guest asked for');
  });

  it('names the impossible vCPU state of a first attempt the lab\'s KVM handed back', () => {
    const first = [
      JSON.stringify({ event: 'milestone', t: 0, name: 'vmm-start' }),
      JSON.stringify({ event: 'final', t: 600000, status: 'timeout', exitCode: 124, resets: 0, wallMs: 600000, maxRssBytes: 1, profile: {}, milestones: {}, diagnostic: { reason: 'timed out', registers: [], lastExits: [], serialTail: '', impossibleStates: [{ vcpu: 0, why: 'rip 0xffffffffc041a13c is above 4 GiB while EFER.LMA is 0' }] } }),
    ].join('\n');
    expect(firstAttempt(first)).toBe("in the first attempt the lab's KVM returned a CPU state no x86 CPU can be in (vCPU 0: rip 0xffffffffc041a13c is above 4 GiB while EFER.LMA is 0); the boot ended timeout");
  });

  it('counts a lab VM as lost when it locked up or died (its kernel\'s failure named), but not when it ran the batch or timed out', () => {
    const ran = { status: 'exited', consoleTail: '' };
    expect(labLoss(ran, undefined)).toBeUndefined();
    expect(labLoss({ status: 'aborted', consoleTail: '' }, 'watchdog: BUG: soft lockup - CPU#1 stuck')).toMatch(/^wedged \(watchdog/);
    const died = { status: 'vm-died', consoleTail: 'bootgate-lab: ready', error: { message: 'QEMU (pid 7) ended (signal SIGSEGV) before the command reported an exit code\nlab console tail:\n  | ready' } };
    expect(labLoss(died, undefined)).toBe('died (QEMU (pid 7) ended (signal SIGSEGV) before the command reported an exit code)');
    expect(labLoss({ ...died, consoleTail: 'bootgate-lab: ready\n[  12.3] Kernel panic - not syncing: Fatal exception\n[  12.3] ---[ end' }, undefined)).toBe('died, its kernel failed ([  12.3] Kernel panic - not syncing: Fatal exception)');
    expect(labLoss({ status: 'timeout', consoleTail: '' }, undefined)).toBeUndefined();
  });
});
