import { describe, expect, it } from 'vitest';
import { firstAttempt, retryableInLab } from './lab-batch.js';

describe('lab retries after an unrequested triple fault', () => {
  it('retries plain boots only: not reboot=triple, not quirk boots (their failure is the point)', () => {
    expect(retryableInLab({ guest: 'debian-irqtest', smp: 2, timeoutS: 300 })).toBe(true);
    expect(retryableInLab({ guest: 'debian-probe', smp: 2, timeoutS: 300, reboot: 'bios' })).toBe(true);
    expect(retryableInLab({ guest: 'debian-probe', smp: 2, timeoutS: 300, reboot: 'triple' })).toBe(false);
    expect(retryableInLab({ guest: 'debian-irqtest', smp: 2, timeoutS: 300, quirks: ['irq-to-bsp-only'] })).toBe(false);
  });

  it('says which vCPU faulted and when in the first attempt', () => {
    const first = [
      JSON.stringify({ event: 'milestone', t: 0, name: 'vmm-start' }),
      JSON.stringify({ event: 'triple-fault', t: 22519.2, vcpu: 1, registers: { rip: '0xfff0', 'cs.base': '0xffff0000' } }),
    ].join('\n');
    expect(firstAttempt(first)).toBe(
      'second attempt: in the first, vCPU 1 triple-faulted 22.5 s into the boot (unrequested; the nested lab\'s emulated SVM), so the lab ran the boot again',
    );
  });
});
