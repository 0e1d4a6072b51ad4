import { describe, expect, test } from 'vitest';
import type { ProbeEvent } from './probe.js';
import { checkUefiBoot, onlineListFor, UEFI } from './uefi-check.js';

const init = (over: Partial<ProbeEvent> = {}): ProbeEvent => ({ event: 'init', boot: 1, cpus: 2, online: '0-1', efi: true, ...over });
const good = (): ProbeEvent[] => [init(), { event: 'done' }, { event: 'power-off' }];
const assertions = (status: string, events: ProbeEvent[], smp = 2) => checkUefiBoot(status, events, smp).map((f) => f.assertion);

describe('checkUefiBoot', () => {
  test('a UEFI boot with every CPU online, no trouble, done and powered off passes', () => {
    expect(checkUefiBoot('power-off', good(), 2)).toEqual([]);
    expect(checkUefiBoot('power-off', [init({ cpus: 8, online: '0-7' }), { event: 'done' }], 8)).toEqual([]);
  });

  test('no init line: the boot never got to Linux (and nothing else is judged)', () => {
    const f = checkUefiBoot('timeout', [], 2);
    expect(f).toEqual([{ assertion: UEFI.init, message: expect.stringContaining('timeout') }]);
  });

  test('a kernel started without UEFI (SeaBIOS, or an old probe) fails the EFI assertion', () => {
    expect(assertions('power-off', [init({ efi: false }), { event: 'done' }])).toEqual([UEFI.efi]);
    expect(assertions('power-off', [init({ efi: undefined }), { event: 'done' }])).toEqual([UEFI.efi]);
  });

  test('a vCPU that did not come up fails the CPU assertion', () => {
    expect(assertions('power-off', [init({ cpus: 7, online: '0-6' }), { event: 'done' }], 8)).toEqual([UEFI.cpus]);
    expect(assertions('power-off', [init({ cpus: 2, online: '0' }), { event: 'done' }], 2)).toEqual([UEFI.cpus]);
  });

  test('trouble lines fail; a probe that never finished or a run that did not power off fails', () => {
    expect(assertions('power-off', [init(), { event: 'trouble', line: 'spurious APIC interrupt' }, { event: 'done' }])).toEqual([UEFI.trouble]);
    expect(assertions('timeout', [init()])).toEqual([UEFI.done]);
    expect(assertions('triple-fault', [init(), { event: 'done' }])).toEqual([UEFI.done]);
  });

  test('onlineListFor', () => {
    expect(onlineListFor(1)).toBe('0');
    expect(onlineListFor(8)).toBe('0-7');
  });
});
