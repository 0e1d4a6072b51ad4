// UEFI end to end (seeds 000 and 004): OVMF (Debian 12's 2022.11 builds, the 4 MiB and the 2 MiB
// flash layout) boots from pflash, CODE read-only and a per-VM copy of the pinned VARS, and starts
// the probe kernel directly through fw_cfg as QEMU does it for OVMF, at SMP 1, 2 and 8, on every
// selected target. Asserted (suites/harness/uefi-check.ts): the probe reaches init, the kernel came
// up through UEFI, every vCPU is online, no trouble lines, the probe powers off through ACPI.
// The reset vector: on the own VMM the first instruction is fetched at 0xfffffff0 from the pflash
// code slot and lands where the image says (single-stepped, suites/harness/reset-jump.ts); on QEMU
// its memory tree at reset shows the whole code image there in ROMD mode. Own VMM: the flash MMIO
// exits stay within what OVMF's flash commands need, no read-array access exiting. Every boot
// carries its exit profile (JUnit properties: exits by kind, hottest ports and MMIO regions).
// Variables: one the guest writes persists across a reboot and a fresh VM on the saved store; in
// -bios mode (no flash) it is reported lost after a fresh start.
// In the nested lab the own VMM runs OVMF under the lab's patched QEMU (docs/uefi.md), which the
// bootstrap of npm test, npm run conformance and npm run uefi builds once per machine; a host
// that can neither find nor build it reports these testcases as not run here (incomplete).

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BootRequest, eventsOf, labGateLeavesOut, selectedTargets } from '../targets/index.js';
import { formatFailures } from './harness/failures.js';
import { loadFirmware } from './harness/firmware.js';
import { linuxTargetOf } from './harness/linux-runner.js';
import type { SkippedAssertion } from './harness/meta.js';
import { parseProbeEvents } from './harness/probe.js';
import { bootMeta, type CaseId, skipAs } from './harness/properties.js';
import { RESET_STEP, resetStepFailures } from './harness/reset-jump.js';
import { checkFlashBudget, checkPflashMapping, checkUefiBoot, checkVariablePersists, flashReportOf, type ReportedMapping, UEFI, variableAfterFreshStart } from './harness/uefi-check.js';

const SUITE = 'uefi-boot';
const GUEST = 'debian-probe';
const FIRMWARES = [
  { firmware: 'ovmf-4m', code: 'ovmf-code-4m' },
  { firmware: 'ovmf-2m', code: 'ovmf-code-2m' },
] as const;
const SMPS = [1, 2, 8];
/** Native seconds; the lab target scales them (targets/vmm/lab-target.ts). */
const BOOT_TIMEOUT_S = 120;

const request = (firmware: string, smp: number): BootRequest => ({ guest: GUEST, firmware, smp, timeoutS: BOOT_TIMEOUT_S });
/**
 * npm test's share in the nested lab (labGateLeavesOut): the 2 MiB build at SMP 1, the 4 MiB build
 * at SMP 1 and 8. The two builds differ in their flash layout, which the SMP 1 boot covers;
 * bringing up more vCPUs is the same firmware code in both, and SMP 2 the same code as SMP 8 with
 * fewer APs, which the 4 MiB build's SMP 8 boot covers (an OVMF SMP 2 boot costs about a minute
 * there; SeaBIOS's SMP 2 boots stay in bios-reboot and interrupts). npm run conformance and npm run
 * uefi run all six.
 */
const LAB_GATE_KEEPS = 'the 2 MiB build boots at SMP 1, the 4 MiB build at SMP 1 and 8';
const labGateReason = (target: { name: string }, firmware: string, smp: number): string | undefined =>
  (firmware === 'ovmf-2m' && smp > 1) || smp === 2 ? labGateLeavesOut(target, LAB_GATE_KEEPS) : undefined;

/** Where a target's kept variable stores live: inside the repository, which the lab shares writable. */
const varsFile = (target: string, name: string) => join(process.cwd(), 'reports', 'out', 'uefi-vars', target.replaceAll(':', '-'), `${name}.fd`);
/** The probe creates its UEFI variable holding this token when it finds none (guests/probe/init-script.ts). */
const efivar = (token: string) => `bootgate.efivar=${token}`;
/**
 * Variables persist (pflash): run 1 writes the variable, reboots through 0xCF9 and must read it
 * back as boot 2; run 2, a fresh VM on the saved store, must read it again. In -bios mode (the
 * combined image as a ROM, no flash) the same two runs show the variable gone after a fresh start.
 */
const persistRequests = (target: string) => {
  const vars = varsFile(target, 'ovmf-4m');
  return {
    vars,
    written: { guest: GUEST, firmware: 'ovmf-4m', smp: 1, timeoutS: BOOT_TIMEOUT_S, vars, reboot: 'pci', reboots: 1, append: efivar('bootgate-pflash-1') } satisfies BootRequest,
    fresh: { guest: GUEST, firmware: 'ovmf-4m', smp: 1, timeoutS: BOOT_TIMEOUT_S, vars, append: efivar('bootgate-pflash-2') } satisfies BootRequest,
    biosWritten: { guest: GUEST, firmware: 'ovmf-2m-bios', smp: 1, timeoutS: BOOT_TIMEOUT_S, append: efivar('bootgate-bios-1') } satisfies BootRequest,
    biosFresh: { guest: GUEST, firmware: 'ovmf-2m-bios', smp: 1, timeoutS: BOOT_TIMEOUT_S, append: efivar('bootgate-bios-2') } satisfies BootRequest,
  };
};

for (const target of selectedTargets().map((t) => linuxTargetOf(t))) {
  const stepped = target.observes.has('reset-vector-step');
  const countsExits = target.observes.has('exit-profile');
  describe(`UEFI: OVMF from pflash boots ${GUEST} on ${target.name}`, () => {
    const persist = persistRequests(target.name);
    beforeAll(async () => {
      // A kept store from an earlier run would already hold the variable.
      rmSync(persist.vars, { force: true });
      mkdirSync(join(persist.vars, '..'), { recursive: true });
      if (!target.prefetch || (await target.unavailable())) return;
      // In order: the fresh-start runs read what the runs before them wrote.
      await target.prefetch([
        ...FIRMWARES.flatMap(({ firmware }) => SMPS.filter((smp) => !labGateReason(target, firmware, smp)).map((smp) => request(firmware, smp))),
        persist.written,
        persist.fresh,
        persist.biosWritten,
        persist.biosFresh,
      ]);
    }, 3_600_000);

    for (const { firmware, code } of FIRMWARES) {
      for (const smp of SMPS) {
        it(`${firmware} smp${smp}: OVMF boots from pflash and starts Linux through its EFI stub; every vCPU online, the probe powers off`, async ({ task, skip }) => {
          const id: CaseId = { suite: SUITE, target: target.name, guest: `${GUEST} ${firmware}`, smp };
          const req = request(firmware, smp);
          const why =
            (await target.unavailable()) ?? (target.observes.has('ovmf') ? undefined : `${target.name} cannot boot OVMF`) ?? target.cannotBoot?.(req) ?? labGateReason(target, firmware, smp);
          if (why) skipAs(task, id, skip, why);
          const r = await target.boot(req);
          const events = parseProbeEvents(r.serial);
          const failures = checkUefiBoot(r.status, events, smp);
          const skipped: SkippedAssertion[] = [];
          if (stepped) failures.push(...resetStepFailures(r, (await loadFirmware(code)).bytes, 'pflash-code'));
          else skipped.push({ assertion: RESET_STEP, reason: `${target.name} cannot single-step the first instruction` });
          // QEMU: its memory tree at reset. The own VMM's step above names the slot it fetched from.
          if (!stepped && target.observes.has('reset-vector-mapping')) failures.push(...checkPflashMapping(eventsOf(r, 'reset-vector-mapping')[0] as unknown as ReportedMapping | undefined));
          const flash = flashReportOf(r);
          if (countsExits) failures.push(...checkFlashBudget(flash));
          else skipped.push({ assertion: UEFI.flash, reason: `${target.name} does not count its flash MMIO exits or the commands behind them` });
          const init = events.find((e) => e.event === 'init');
          task.meta.bootgate = bootMeta(id, r, skipped, {
            firmware,
            'probe.efi': init?.efi === true,
            'probe.uptime-at-init': String(init?.uptime ?? ''),
            ...(flash?.vars ? { 'flash.vars.exits': flash.vars.exits, 'flash.vars.budget': flash.vars.budget, 'flash.vars.programs': flash.vars.programs, 'flash.vars.erases': flash.vars.erases } : {}),
          });
          expect(failures, formatFailures(failures)).toEqual([]);
        });
      }
    }

    it('ovmf-4m smp1: a UEFI variable the guest writes persists across a reboot and a fresh start on the saved VARS', async ({ task, skip }) => {
      const id: CaseId = { suite: SUITE, target: target.name, guest: `${GUEST} ovmf-4m efivar`, smp: 1 };
      const why = (await target.unavailable()) ?? target.cannotBoot?.(persist.written);
      if (why) skipAs(task, id, skip, why);
      const written = await target.boot(persist.written);
      const fresh = await target.boot(persist.fresh);
      const failures = checkVariablePersists(parseProbeEvents(written.serial), parseProbeEvents(fresh.serial), 'bootgate-pflash-1');
      task.meta.bootgate = bootMeta(id, fresh, [], { 'efivar.run1': efivarSummary(written), 'efivar.run2': efivarSummary(fresh) });
      expect(failures, formatFailures(failures)).toEqual([]);
    });

    it('ovmf-2m-bios smp1: without flash (-bios), the variable is lost after a fresh start (reported, as the seed says)', async ({ task, skip }) => {
      const id: CaseId = { suite: SUITE, target: target.name, guest: `${GUEST} ovmf-2m-bios efivar`, smp: 1 };
      const why = (await target.unavailable()) ?? target.cannotBoot?.(persist.biosWritten);
      if (why) skipAs(task, id, skip, why);
      const written = await target.boot(persist.biosWritten);
      const fresh = await target.boot(persist.biosFresh);
      const outcome = variableAfterFreshStart(parseProbeEvents(written.serial), parseProbeEvents(fresh.serial), 'bootgate-bios-1');
      task.meta.bootgate = bootMeta(id, fresh, [], { 'efivar.bios-mode': outcome.verdict, 'efivar.run1': efivarSummary(written), 'efivar.run2': efivarSummary(fresh) });
      expect(outcome.verdict, outcome.detail).toBe('lost');
    });
  });
}

function efivarSummary(r: { serial: string; status: string }): string {
  const lines = parseProbeEvents(r.serial).filter((e) => e.event === 'efivar');
  return `${r.status}; ${lines.map((e) => `boot ${String(e.boot)}: found ${JSON.stringify(e.found)}, wrote ${JSON.stringify(e.wrote)}`).join('; ') || 'no efivar line'}`;
}
