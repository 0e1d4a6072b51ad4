import { describe, expect, test } from 'vitest';
import type { ProbeEvent } from './probe.js';
import { checkFlashBudget, checkPflashMapping, checkUefiBoot, checkVariablePersists, type FlashCounts, onlineListFor, UEFI, variableAfterFreshStart } from './uefi-check.js';

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

describe('checkFlashBudget', () => {
  // From an own-VMM OVMF 4 MiB boot in the lab: VARS took 30,702 writes for its commands.
  const vars: FlashCounts = { commands: 10_300, programs: 10_200, erases: 2, arrayReadsTrapped: 0, exits: 30_703, budget: 41_068 };
  const code: FlashCounts = { commands: 0, programs: 0, erases: 0, arrayReadsTrapped: 0, exits: 0, budget: 64 };

  test('exits within the commands budget and no trapped array read pass', () => {
    expect(checkFlashBudget({ code, vars })).toEqual([]);
  });

  test('reads that trapped in read-array mode fail (the flash never mapped back)', () => {
    const f = checkFlashBudget({ code, vars: { ...vars, arrayReadsTrapped: 5000, exits: 35_703 } });
    expect(f.map((x) => x.assertion)).toEqual([UEFI.flash]);
    expect(f[0]!.message).toMatch(/vars flash: 5000 reads in read-array mode exited/);
  });

  test('more exits than the commands explain fail, naming the counts', () => {
    const f = checkFlashBudget({ code: { ...code, exits: 65 }, vars });
    expect(f).toEqual([{ assertion: UEFI.flash, message: 'code flash: 65 MMIO exits for 0 commands, 0 programs, 0 erases (budget 64)' }]);
  });

  test('no counters at all is a failure, not a pass', () => {
    expect(checkFlashBudget(undefined).map((x) => x.assertion)).toEqual([UEFI.flash]);
    expect(checkFlashBudget({ code }).map((x) => x.assertion)).toEqual([UEFI.flash]);
  });
});

describe('variables', () => {
  const ev = (boot: number, found: string, wrote: string, mounted = true): ProbeEvent => ({ event: 'efivar', boot, mounted, found, wrote });
  const T = 'bootgate-pflash-1';
  const run1 = [ev(1, '', T), ev(2, T, '')];
  const run2 = [ev(1, T, '')];

  test('created, read back after the reboot and after the fresh start: passes', () => {
    expect(checkVariablePersists(run1, run2, T)).toEqual([]);
  });

  test('each way of losing it fails its own assertion', () => {
    expect(checkVariablePersists([ev(1, '', '')], run2, T).map((f) => f.assertion)).toEqual([UEFI.written, UEFI.reboot]);
    expect(checkVariablePersists([ev(1, '', T), ev(2, '', T)], run2, T).map((f) => f.assertion)).toEqual([UEFI.reboot]);
    expect(checkVariablePersists(run1, [ev(1, '', 'bootgate-pflash-2')], T).map((f) => f.assertion)).toEqual([UEFI.freshStart]);
    expect(checkVariablePersists(run1, [], T)[0]!.message).toMatch(/run 2, boot 1: no efivar line/);
    // A stale store that already held the token: boot 1 finds it and writes nothing.
    expect(checkVariablePersists([ev(1, T, ''), ev(2, T, '')], run2, T).map((f) => f.assertion)).toEqual([UEFI.written]);
  });

  test('-bios mode: lost, kept, or unknown when a run did not get there', () => {
    expect(variableAfterFreshStart([ev(1, '', 'b1')], [ev(1, '', 'b2')], 'b1').verdict).toBe('lost');
    expect(variableAfterFreshStart([ev(1, '', 'b1')], [ev(1, 'b1', '')], 'b1').verdict).toBe('kept');
    expect(variableAfterFreshStart([ev(1, '', '')], [ev(1, '', 'b2')], 'b1').verdict).toBe('unknown');
    expect(variableAfterFreshStart([ev(1, '', 'b1')], [], 'b1')).toEqual({ verdict: 'unknown', detail: expect.stringContaining('run 2: no efivar line') });
    expect(variableAfterFreshStart([ev(1, '', 'b1')], [ev(1, '', '', false)], 'b1').verdict).toBe('unknown');
  });
});

describe('checkPflashMapping', () => {
  const good = { region: 'system.flash0', kind: 'romd', readOnly: true, firmware: true };
  test('the pflash code image in romd mode at the reset vector passes', () => {
    expect(checkPflashMapping(good)).toEqual([]);
  });
  test('nothing mapped, a flash in command mode (i/o), a partial or writable mapping, or no report fail', () => {
    expect(checkPflashMapping(undefined)[0]!.assertion).toBe(UEFI.romd);
    expect(checkPflashMapping({ ...good, region: null })[0]!.message).toBe('nothing is mapped at 0xfffffff0');
    expect(checkPflashMapping({ ...good, kind: 'i/o', readOnly: false })[0]!.message).toBe('system.flash0: mapped as i/o, not romd; writable');
    expect(checkPflashMapping({ ...good, firmware: false })[0]!.message).toMatch(/not the whole code image/);
    expect(checkPflashMapping({ ...good, kind: 'rom' })[0]!.message).toMatch(/mapped as rom, not romd/);
  });
});
