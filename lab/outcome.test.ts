import { describe, expect, it } from 'vitest';
import { labOutcome, type OutcomeFacts } from './outcome.js';

const base: OutcomeFacts = {
  ending: 'vm-exited',
  status: { ready: true },
  timeoutS: 20,
  qemuPid: 4242,
  qemuStderr: '',
  tails: { console: 'bootgate-lab: [3.1] ready: 2 vCPUs', stdout: 'hanging', stderr: '' },
};

describe('labOutcome', () => {
  it('a reported exit code is the result, whether QEMU powered off or had to be killed', () => {
    expect(labOutcome({ ...base, status: { ready: true, exitCode: 3 } })).toEqual({ status: 'exited', exitCode: 3 });
    expect(labOutcome({ ...base, ending: 'reported', status: { ready: true, exitCode: 0 } })).toEqual({ status: 'exited', exitCode: 0 });
  });

  it('a timeout names the limit, the phase and the killed pid, and carries the console and output tails', () => {
    const o = labOutcome({ ...base, ending: 'timeout' });
    expect(o.status).toBe('timeout');
    expect(o.error?.code).toBe('E_TIMEOUT');
    expect(o.error?.message).toMatch(/^the lab run timed out after 20 s while the command was running; QEMU \(pid 4242\) was killed/);
    expect(o.error?.message).toContain('lab console tail:\n  | bootgate-lab: [3.1] ready: 2 vCPUs');
    expect(o.error?.message).toContain('command stdout tail:\n  | hanging');
    expect(o.error?.message).not.toContain('command stderr tail');
    expect(labOutcome({ ...base, ending: 'timeout', status: { ready: false } }).error?.message).toContain('before the lab finished booting');
  });

  it('a timeout wins over an exit code that arrived too late to be waited for', () => {
    expect(labOutcome({ ...base, ending: 'timeout', status: { ready: true, exitCode: 0 } }).status).toBe('timeout');
  });

  it('a setup failure says what failed', () => {
    const o = labOutcome({ ...base, status: { ready: false, setupFailed: 'insmod kvm.ko' } });
    expect(o.status).toBe('setup-failed');
    expect(o.error?.message).toMatch(/could not be set up: insmod kvm\.ko/);
  });

  it('QEMU ending without an exit code is a dead VM, with how it ended and what QEMU said', () => {
    const o = labOutcome({ ...base, qemuExit: { code: 1, signal: null }, qemuStderr: 'qemu-system-x86_64: -virtfs: bad\n' });
    expect(o.status).toBe('vm-died');
    expect(o.error?.message).toMatch(/QEMU \(pid 4242\) ended \(exit code 1\) before the command reported an exit code\nQEMU stderr: qemu-system-x86_64: -virtfs: bad/);
    expect(labOutcome({ ...base, spawnError: new Error('spawn setpriv ENOENT') }).error?.message).toMatch(/could not start QEMU: spawn setpriv ENOENT/);
  });

  it('a dead VM says whether QEMU logged a triple fault of a lab vCPU (the silent death), and says nothing without a log', () => {
    const died = { ...base, qemuExit: { code: 0, signal: null } };
    const tf = labOutcome({ ...died, qemuLog: 'CPU Reset (CPU 0)\nEAX=00000000\nTriple fault\n' }).error?.message ?? '';
    expect(tf).toMatch(/ended \(exit code 0\) before the command reported an exit code\nQEMU's log: a lab vCPU triple-faulted \("Triple fault"\)/);
    expect(labOutcome({ ...died, qemuLog: 'CPU Reset (CPU 0)\nEAX=00000000\n' }).error?.message).toContain("QEMU's log names no lab triple fault");
    expect(labOutcome(died).error?.message).not.toContain("QEMU's log");
  });

  it('an abort is reported as such', () => {
    expect(labOutcome({ ...base, ending: 'aborted' }).status).toBe('aborted');
  });
});
