// The uefi-boot suite's verdict on one boot: OVMF from pflash started the Debian kernel through
// its EFI stub (direct kernel boot through fw_cfg, as QEMU does it for OVMF), the probe reached
// init with every vCPU online, and nothing went wrong on the way. Pure: a console transcript and
// the run's status in, named failures out (failures.ts), so each assertion has a failing test.

import { type BootResult, eventsOf } from '../../targets/boot-result.js';
import type { Failure } from './failures.js';
import { type ProbeEvent, troubleLines } from './probe.js';

export const UEFI = {
  init: 'OVMF starts the kernel and the probe reaches init',
  efi: 'the kernel was started by UEFI firmware (EFI stub, /sys/firmware/efi)',
  cpus: 'every vCPU is online',
  trouble: 'no trouble lines in the kernel log',
  done: 'the probe finishes and powers off through ACPI',
  flash: "flash MMIO exits stay within what OVMF's flash commands need; array reads never exit",
  romd: '0xfffffff0 is served at reset by the whole pflash code image in ROMD mode, read-only',
  written: 'the guest creates its UEFI variable',
  reboot: 'the variable is read back after a reboot',
  freshStart: 'the variable is read back by a fresh VM on the saved variable store',
} as const;

/** One flash device's counters from the own VMM's final `flash` event (vmm/devices/flash/cfi01.ts). */
export interface FlashCounts {
  commands: number;
  programs: number;
  erases: number;
  arrayReadsTrapped: number;
  exits: number;
  budget: number;
}

/** "0-7" for 8 CPUs, "0" for one: what /sys/devices/system/cpu/online says when all are up. */
export function onlineListFor(smp: number): string {
  return smp === 1 ? '0' : `0-${smp - 1}`;
}

export function checkUefiBoot(status: string, events: readonly ProbeEvent[], smp: number): Failure[] {
  const failures: Failure[] = [];
  const init = events.find((e) => e.event === 'init');
  if (!init) {
    failures.push({ assertion: UEFI.init, message: `no init line from the probe (the run ended: ${status})` });
    return failures;
  }
  if (init.efi !== true) failures.push({ assertion: UEFI.efi, message: `the probe reports efi=${JSON.stringify(init.efi)}: the kernel did not come up through UEFI` });
  if (Number(init.cpus) !== smp || init.online !== onlineListFor(smp)) {
    failures.push({ assertion: UEFI.cpus, message: `${String(init.cpus)} CPUs, online ${JSON.stringify(init.online)}; expected ${smp}, online "${onlineListFor(smp)}"` });
  }
  const trouble = troubleLines([...events]);
  if (trouble.length > 0) failures.push({ assertion: UEFI.trouble, message: trouble.slice(0, 5).join(' | ') });
  if (!events.some((e) => e.event === 'done') || status !== 'power-off') {
    failures.push({ assertion: UEFI.done, message: `the probe ${events.some((e) => e.event === 'done') ? 'finished' : 'did not finish'}; the run ended: ${status}` });
  }
  return failures;
}

/**
 * The flash exit budget: every MMIO exit on a flash slot must be explained by the commands the
 * firmware issued (a command write, a data cycle, a status read: the device's budget is two
 * exits per command, program and erase plus a small slack), and no read in read-array mode may
 * exit (the array is mapped ROMD; a trap there is the exit storm of a flash never mapped back).
 * `flash` is undefined when the boot reported none (no pflash, or the VMM died first).
 */
/** A boot's flash counters (the own VMM's `flash` event), per slot; undefined when the stack reports none. */
export type FlashReport = { code?: FlashCounts; vars?: FlashCounts } | undefined;

export function flashReportOf(r: BootResult): FlashReport {
  return eventsOf(r, 'flash')[0] as unknown as FlashReport;
}

export function checkFlashBudget(flash: FlashReport): Failure[] {
  if (!flash?.code || !flash.vars) return [{ assertion: UEFI.flash, message: 'the VMM reported no flash counters (no pflash mapped, or it stopped before its final reports)' }];
  const failures: Failure[] = [];
  for (const [name, c] of [['code', flash.code], ['vars', flash.vars]] as const) {
    const issued = `${c.commands} commands, ${c.programs} programs, ${c.erases} erases`;
    if (c.arrayReadsTrapped > 0) failures.push({ assertion: UEFI.flash, message: `${name} flash: ${c.arrayReadsTrapped} reads in read-array mode exited (the array was not mapped back)` });
    if (c.exits > c.budget) failures.push({ assertion: UEFI.flash, message: `${name} flash: ${c.exits} MMIO exits for ${issued} (budget ${c.budget})` });
  }
  return failures;
}

/** The probe's efivar line of boot `boot` (guests/probe/init-script.ts bootgate.efivar=). */
function efivarOf(events: readonly ProbeEvent[], boot: number): ProbeEvent | undefined {
  return events.find((e) => e.event === 'efivar' && Number(e.boot) === boot);
}

const said = (e: ProbeEvent | undefined): string => (e ? `mounted ${String(e.mounted)}, found ${JSON.stringify(e.found)}, wrote ${JSON.stringify(e.wrote)}` : 'no efivar line');

/**
 * Variables persist: run 1 (reboots once) creates the variable holding `token` in boot 1 and reads
 * it back in boot 2; run 2, a fresh VM on the saved store, reads it in its boot 1.
 */
export function checkVariablePersists(run1: readonly ProbeEvent[], run2: readonly ProbeEvent[], token: string): Failure[] {
  const failures: Failure[] = [];
  const created = efivarOf(run1, 1);
  if (created?.wrote !== token) failures.push({ assertion: UEFI.written, message: `run 1, boot 1: ${said(created)}; expected to create it with ${JSON.stringify(token)}` });
  const rebooted = efivarOf(run1, 2);
  if (rebooted?.found !== token) failures.push({ assertion: UEFI.reboot, message: `run 1, boot 2: ${said(rebooted)}; expected found ${JSON.stringify(token)}` });
  const fresh = efivarOf(run2, 1);
  if (fresh?.found !== token) failures.push({ assertion: UEFI.freshStart, message: `run 2, boot 1: ${said(fresh)}; expected found ${JSON.stringify(token)}` });
  return failures;
}

/**
 * What a fresh start found of the variable run 1 created: `kept`, `lost` (run 2 booted and read
 * nothing), or `unknown` when either run did not get that far (then `detail` says why).
 */
export function variableAfterFreshStart(run1: readonly ProbeEvent[], run2: readonly ProbeEvent[], token: string): { verdict: 'kept' | 'lost' | 'unknown'; detail: string } {
  const created = efivarOf(run1, 1);
  const fresh = efivarOf(run2, 1);
  const detail = `run 1: ${said(created)}; run 2: ${said(fresh)}`;
  if (created?.wrote !== token || fresh === undefined || fresh.mounted !== true) return { verdict: 'unknown', detail };
  return { verdict: fresh.found === token ? 'kept' : 'lost', detail };
}

/** QEMU's reset-vector mapping (targets/qemu/mtree.ts ResetVectorMapping), as the boot reported it. */
export interface ReportedMapping {
  region: string | null;
  kind?: string | null;
  readOnly: boolean;
  firmware: boolean;
}

/**
 * The pflash code device serves the reset vector in ROMD mode: the region is the whole code image
 * ending at 4 GiB (`firmware`), read-only, and QEMU's memory tree prints it `romd` (a flash
 * switched to command mode prints `i/o`; a ROM-only mapping prints `rom`).
 */
export function checkPflashMapping(m: ReportedMapping | undefined): Failure[] {
  if (!m) return [{ assertion: UEFI.romd, message: 'the target reported no reset-vector mapping' }];
  if (m.region === null) return [{ assertion: UEFI.romd, message: 'nothing is mapped at 0xfffffff0' }];
  const wrong: string[] = [];
  if (!m.firmware) wrong.push('not the whole code image ending at 4 GiB');
  if (m.kind !== 'romd') wrong.push(`mapped as ${m.kind ?? 'unknown'}, not romd`);
  if (!m.readOnly) wrong.push('writable');
  return wrong.length ? [{ assertion: UEFI.romd, message: `${m.region}: ${wrong.join('; ')}` }] : [];
}
