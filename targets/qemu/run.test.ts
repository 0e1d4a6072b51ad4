// One QEMU boot's bookkeeping without a QEMU: console chunks, --until matching, QMP events.

import type { Result } from 'execa';
import { describe, expect, test } from 'vitest';
import type { BootResult } from '../boot-result.js';
import { eventsOf } from '../boot-result.js';
import { exitOutcome, QemuRun, shutdownOutcome } from './run.js';

const BOOT_ATTEMPT = 'Booting from|No bootable device';

describe('console bookkeeping', () => {
  test('an --until match waits for the end of its line, so the milestone on that line is whole', async () => {
    const run = new QemuRun('qemu:tcg', { smp: 1, timeoutS: 10, until: BOOT_ATTEMPT });
    run.console('debugcon', 'SeaBIOS (version 1.16.2-debian-1.16.2-1)\n');
    run.console('com1', '\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\nBooting from');
    expect(run.status, 'the line is not finished yet').toBeUndefined();
    run.console('com1', ' Hard Disk...\n');
    expect(run.status).toBe('until-matched');
    expect(eventsOf({ events: run.events } as BootResult, 'milestone').map((e) => [e.name, e.detail])).toEqual([
      ['firmware-banner', 'SeaBIOS (version 1.16.2-debian-1.16.2-1)'],
      ['boot-attempt', 'Booting from Hard Disk...'],
    ]);
    expect(run.serial).toContain('Booting from Hard Disk...');
    expect(run.debugcon).toBe('SeaBIOS (version 1.16.2-debian-1.16.2-1)\n');
  });

  test('a line that never ends (a prompt) still stops the run', async () => {
    const run = new QemuRun('qemu:tcg', { smp: 1, timeoutS: 10, until: 'login: ' });
    run.console('com1', 'debian login: ');
    expect(run.status).toBeUndefined();
    await run.settled;
    expect(run.status).toBe('until-matched');
  });

  test('QMP RESET events count as resets; a firmware panic ends the run with the line', () => {
    const run = new QemuRun('qemu:tcg', { smp: 1, timeoutS: 10 });
    run.qmpEvent({ event: 'RESET', data: { guest: true, reason: 'guest-reset' } });
    run.qmpEvent({ event: 'RESET', data: { guest: true, reason: 'guest-reset' } });
    expect(run.resets).toBe(2);
    expect(run.milestones).toHaveProperty('reset');
    expect(eventsOf({ events: run.events } as BootResult, 'reset').map((e) => e.count)).toEqual([1, 2]);
    run.console('debugcon', 'PCI: out of 32bit address space\n');
    expect(run.status).toBe('error');
    expect(run.error?.message).toBe('firmware panicked: "PCI: out of 32bit address space" (on debugcon); it halts there for good');
  });
});

describe('guest shutdown under -no-shutdown (QEMU stays up, paused)', () => {
  const exited = { exitCode: 0, signal: undefined } as unknown as Result;

  test("the guest's SHUTDOWN marks the run for the reads; QEMU's exit after our quit makes it a power-off at the event's time", async () => {
    const run = new QemuRun('qemu:tcg', { smp: 1, timeoutS: 10 });
    run.qmpEvent({ event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } });
    await run.guestShutdown;
    expect(run.status, 'not ended yet: the console may still hold the last line').toBeUndefined();
    const at = run.shutdownAt!;
    run.qmpEvent({ event: 'SHUTDOWN', data: { guest: false, reason: 'host-qmp-quit' } });
    exitOutcome(run, exited, '');
    expect([run.status, run.exitCode, run.milestones['power-off']]).toEqual(['power-off', 0, at]);
  });

  test('the --until line drained after SHUTDOWN still wins; a reset under -no-reboot is a power-off with its reason', () => {
    const run = new QemuRun('qemu:tcg', { smp: 1, timeoutS: 10, until: 'done' });
    run.qmpEvent({ event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } });
    run.console('com1', 'probe done\n');
    exitOutcome(run, exited, '');
    expect(run.status).toBe('until-matched');
    const reset = new QemuRun('qemu:tcg', { smp: 1, timeoutS: 10 });
    reset.qmpEvent({ event: 'SHUTDOWN', data: { guest: true, reason: 'guest-reset' } });
    shutdownOutcome(reset, 'guest-reset');
    expect([reset.status, reset.reason]).toEqual(['power-off', 'guest reset with -no-reboot']);
  });

  test('a quit we sent is not the guest shutting down; a panic is not a power-off', () => {
    const run = new QemuRun('qemu:tcg', { smp: 1, timeoutS: 10 });
    run.qmpEvent({ event: 'SHUTDOWN', data: { guest: false, reason: 'host-qmp-quit' } });
    expect(run.shutdownAt).toBeUndefined();
    const panic = new QemuRun('qemu:tcg', { smp: 1, timeoutS: 10 });
    shutdownOutcome(panic, 'guest-panic');
    expect(panic.status).toBe('error');
  });
});

describe('timing', () => {
  test("the reset-vector milestone from QEMU's trace counts from the spawn, on the wall clock", () => {
    const run = new QemuRun('qemu:kvm', { smp: 1, timeoutS: 10, timeResetVector: true });
    run.startClock();
    run.firstExit(run.epochAtT0 + 412.34, 2);
    expect(run.milestones['reset-vector']).toBe(412.3);
    expect(eventsOf({ events: run.events } as BootResult, 'milestone')[0]).toMatchObject({ name: 'reset-vector', t: 412.3, detail: expect.stringMatching(/first KVM_RUN exit .*reason 2/) });
  });
});
