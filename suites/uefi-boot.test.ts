// UEFI end to end (seeds 000 and 004): OVMF (Debian 12's 2022.11 builds, the 4 MiB and the 2 MiB
// flash layout) boots from pflash, CODE read-only and a per-VM copy of the pinned VARS, and starts
// the probe kernel directly through fw_cfg as QEMU does it for OVMF, at SMP 1, 2 and 8, on every
// selected target. Asserted (suites/harness/uefi-check.ts): the probe reaches init, the kernel came
// up through UEFI, every vCPU is online, no trouble lines, the probe powers off through ACPI. On
// the own VMM also: the first instruction is fetched at 0xfffffff0 from the pflash code slot and
// lands where the image says (single-stepped, suites/harness/reset-jump.ts), and the flash MMIO
// exits stay within what the flash commands OVMF issued need, no read-array access exiting
// (uefi-check.ts checkFlashBudget). Every boot carries
// its exit profile (JUnit properties: exits by kind, hottest ports and MMIO regions).
// In the nested lab the own VMM runs OVMF under the lab's patched QEMU (docs/uefi.md): built on
// first use by runs that may build it (npm run uefi, npm run conformance); a run that may not
// (npm test) and finds it unbuilt reports these testcases as not run on this host (incomplete).

import { beforeAll, describe, expect, it } from 'vitest';
import { type BootRequest, eventsOf, selectedTargets } from '../targets/index.js';
import { formatFailures } from './harness/failures.js';
import { loadFirmware } from './harness/firmware.js';
import { linuxTargetOf } from './harness/linux-runner.js';
import type { SkippedAssertion } from './harness/meta.js';
import { parseProbeEvents } from './harness/probe.js';
import { bootMeta, type CaseId, skipAs } from './harness/properties.js';
import { RESET_STEP, resetStepFailures } from './harness/reset-jump.js';
import { checkFlashBudget, checkUefiBoot, type FlashCounts, UEFI } from './harness/uefi-check.js';

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

for (const target of selectedTargets().map((t) => linuxTargetOf(t))) {
  const stepped = target.observes.has('reset-vector-step');
  const countsExits = target.observes.has('exit-profile');
  describe(`UEFI: OVMF from pflash boots ${GUEST} on ${target.name}`, () => {
    beforeAll(async () => {
      if (!target.prefetch || (await target.unavailable())) return;
      await target.prefetch(FIRMWARES.flatMap(({ firmware }) => SMPS.map((smp) => request(firmware, smp))));
    }, 3_600_000);

    for (const { firmware, code } of FIRMWARES) {
      for (const smp of SMPS) {
        it(`${firmware} smp${smp}: OVMF boots from pflash and starts Linux through its EFI stub; every vCPU online, the probe powers off`, async ({ task, skip }) => {
          const id: CaseId = { suite: SUITE, target: target.name, guest: `${GUEST} ${firmware}`, smp };
          const req = request(firmware, smp);
          const why = (await target.unavailable()) ?? (target.observes.has('ovmf') ? undefined : `${target.name} cannot boot OVMF`) ?? target.cannotBoot?.(req);
          if (why) skipAs(task, id, skip, why);
          const r = await target.boot(req);
          const events = parseProbeEvents(r.serial);
          const failures = checkUefiBoot(r.status, events, smp);
          const skipped: SkippedAssertion[] = [];
          if (stepped) failures.push(...resetStepFailures(r, (await loadFirmware(code)).bytes, 'pflash-code'));
          else skipped.push({ assertion: RESET_STEP, reason: `${target.name} cannot single-step the first instruction (the reset-vector suite reads QEMU's memory tree instead)` });
          const flash = eventsOf(r, 'flash')[0] as unknown as { code?: FlashCounts; vars?: FlashCounts } | undefined;
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
  });
}
