import { describe, expect, it } from 'vitest';
import { firstAttempt, requestedTripleFaults } from './lab-batch.js';

describe('lab retries after an unrequested triple fault', () => {
  it('allows reboot=triple its requested faults, plain boots none, and never retries quirk boots (their failure is the point)', () => {
    expect(requestedTripleFaults({ guest: 'debian-irqtest', smp: 2, timeoutS: 300 })).toBe(0);
    expect(requestedTripleFaults({ guest: 'debian-probe', smp: 2, timeoutS: 300, reboot: 'bios' })).toBe(0);
    expect(requestedTripleFaults({ guest: 'debian-probe', smp: 2, timeoutS: 300, reboot: 'triple' })).toBe(1);
    expect(requestedTripleFaults({ guest: 'debian-probe', smp: 2, timeoutS: 300, reboot: 'triple', reboots: 2 })).toBe(2);
    expect(requestedTripleFaults({ guest: 'debian-irqtest', smp: 2, timeoutS: 300, quirks: ['irq-to-bsp-only'] })).toBeUndefined();
  });

  it('says which vCPU faulted and when in the first attempt', () => {
    const first = [
      JSON.stringify({ event: 'milestone', t: 0, name: 'vmm-start' }),
      JSON.stringify({ event: 'triple-fault', t: 22519.2, vcpu: 1, registers: { rip: '0xfff0', 'cs.base': '0xffff0000' } }),
    ].join('\n');
    expect(firstAttempt(first)).toBe(
      'second attempt: in the first, vCPU 1 triple-faulted 22.5 s into the boot (more than requested; the nested lab\'s emulated SVM), so the lab ran the boot again',
    );
  });

  it('lists every fault of the first attempt when there were several (a reboot=triple boot with one too many)', () => {
    const first = [
      JSON.stringify({ event: 'triple-fault', t: 28185.5, vcpu: 0, registers: {} }),
      JSON.stringify({ event: 'triple-fault', t: 36806.9, vcpu: 1, registers: {} }),
    ].join('\n');
    expect(firstAttempt(first)).toMatch(/in the first, vCPU 0 triple-faulted 28\.2 s into the boot, then vCPU 1 triple-faulted 36\.8 s into the boot \(more than requested/);
  });
});
