// The uefi-boot suite's verdict on one boot: OVMF from pflash started the Debian kernel through
// its EFI stub (direct kernel boot through fw_cfg, as QEMU does it for OVMF), the probe reached
// init with every vCPU online, and nothing went wrong on the way. Pure: a console transcript and
// the run's status in, named failures out (failures.ts), so each assertion has a failing test.

import type { Failure } from './failures.js';
import { type ProbeEvent, troubleLines } from './probe.js';

export const UEFI = {
  init: 'OVMF starts the kernel and the probe reaches init',
  efi: 'the kernel was started by UEFI firmware (EFI stub, /sys/firmware/efi)',
  cpus: 'every vCPU is online',
  trouble: 'no trouble lines in the kernel log',
  done: 'the probe finishes and powers off through ACPI',
} as const;

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
