// Reset-vector suite, SeaBIOS part, on every selected target (BOOTGATE_TARGETS, default vmm:kvm;
// `npm test` runs vmm:kvm and qemu:tcg). Checks, at SMP 1, 2 and 8 (and for both the 256 KiB and
// 128 KiB images):
// - the reset vector 0xFFFFFFF0 is served at reset by the whole firmware image, read-only, ending
//   at 4 GiB (own VMM: its memory map; QEMU: `info mtree -f` while paused at reset);
// - the first guest instruction is fetched at CS base 0xFFFF0000 / IP 0xFFF0 from the firmware's
//   high copy (single-stepped by the VMM: the vCPU lands exactly where the image's reset-vector
//   jump says);
// - SeaBIOS prints its banner on the serial console and on the 0x402 debug console, detects the
//   requested CPU count, and reaches its boot attempt;
// - the high copy is still byte-identical to the firmware file afterwards, and a guest write to
//   it traps and changes nothing (probe guest guests/probes/rom-write.asm);
// - no exit storm: POST stays within the exit budget QEMU 7.2 needs for the same work
//   (docs/qemu-7.2-reference.md: 7,390 device accesses).
// OVMF (own VMM): the first instruction is fetched at 0xFFFFFFF0 from the pflash code slot (ROMD,
// read-only) and lands where the image says. Only that step is judged here (a PVM host's OVMF
// stops a few instructions later in SEC, an emulation failure on FNINIT); suites/uefi-boot.test.ts
// boots OVMF to Linux. In the lab it runs under the patched lab QEMU (docs/uefi.md), when built.
// Teeth: --quirk no-high-bios-copy (SeaBIOS, nothing mapped at the top of 4 GiB) and --quirk
// romd-unmapped (OVMF's pflash never mapped as ROMD) each run the good run's step assertion and
// fail it: the vCPU's first fetch at the reset vector finds nothing (the exit the fetch caused).
// Flash in ROMD mode is remapped after a command (probe guest guests/probes/flash-romd.asm, booted
// as pflash CODE + VARS like OVMF, on every target): the guest times reads of the VARS flash before
// a CFI command, in read-status mode (they trap: the yardstick) and after read-array; after must
// cost what before did, not what a trap does (suites/harness/romd-check.ts). Teeth: --quirk romd-never-remapped (the VARS flash never mapped
// back after its first command: every later read traps, the seed's exit storm) fails that same
// guest-timed assertion. Under OVMF (own VMM, which counts its flash exits) the same quirk fails
// the uefi-boot suite's flash budget (every read-array access exiting, suites/harness/uefi-check.ts)
// on the way to OVMF's boot manager, and the run reports its time to the boot manager against the
// good OVMF run's (the seed's slowdown; not reproduced in the nested lab, docs/uefi.md). That pair
// needs OVMF past SEC, so it boots where the uefi-boot suite does (linuxTargetOf: the nested lab on
// a PVM host, whose own reset-vector boots stay on its /dev/kvm).
// What a target cannot observe is recorded as a skipped assertion with the reason (QEMU: the
// single step, the exit profile, trapped ROM writes, quirks).
// This host's /dev/kvm (PVM) runs SeaBIOS slowly (~5 s per boot), so a boot has 120 s.

import { beforeAll, describe, expect, it } from 'vitest';
import { flashRomdProbe } from '../guests/flash-probe.js';
import { assemble } from '../guests/nasm.js';
import { checkRomd, parseRomdProbe, ROMD, type RomdProbe } from './harness/romd-check.js';
import { type BootResult, eventsOf } from '../targets/boot-result.js';
import { type FirmwareImage, loadFirmware } from './harness/firmware.js';
import type { SkippedAssertion } from './harness/meta.js';
import { bootMeta, type CaseId, skipAs } from './harness/properties.js';
import { formatFailures, SEEDS, teethProperties } from './harness/failures.js';
import { RESET_STEP, resetStepFailures } from './harness/reset-jump.js';
import { type BootRequest, type Observation, selectedTargets, type Target } from '../targets/index.js';
import { checkFlashBudget, flashReportOf, UEFI } from './harness/uefi-check.js';
import { linuxTargetOf } from './harness/linux-runner.js';

const SUITE = 'reset-vector';
const BOOT_TIMEOUT_S = 120;
const BOOT_ATTEMPT = 'Booting from|No bootable device';
/** QEMU 7.2's device accesses for the same SeaBIOS POST (each one an exit on KVM). */
const SEABIOS_POST_EXIT_BUDGET = 7390;
const RESET_VECTOR = 0xffff_fff0;
const OVMF_CODE = 'ovmf-code-4m';
/**
 * OVMF's run is judged by its first instruction only; it ends when OVMF's boot manager starts
 * loading a boot option (no disk: its shell), 13 s into an own-VMM boot in the lab, or at the
 * timeout where OVMF stops earlier (a PVM host: SEC).
 */
const OVMF_AT_BDS = 'BdsDxe: loading';

const CASES: Array<{ firmware: string; smp: number }> = [
  { firmware: 'seabios-256k', smp: 1 },
  { firmware: 'seabios-256k', smp: 2 },
  { firmware: 'seabios-256k', smp: 8 },
  { firmware: 'seabios', smp: 1 },
];

function resetVectorStep(r: BootResult) {
  const ev = eventsOf(r, 'milestone').find((e) => e.name === 'reset-vector');
  return ev as unknown as undefined | { gpa: number; region: string | null; before: { csBase: number; rip: number }; after: { csBase: number; rip: number } };
}

/**
 * What serves the reset vector, the same shape from every target: QEMU reports it from its memory
 * map (targets/qemu/mtree.ts); the own VMM names the region its reset-vector step fetched from, and
 * `firmware-high` is by construction the whole image, read-only, ending at 4 GiB
 * (vmm/machine/memory-map.ts).
 */
function resetVectorMapping(r: BootResult): undefined | { gpa: number; region: string | null; firmware: boolean; readOnly: boolean } {
  const reported = eventsOf(r, 'reset-vector-mapping')[0];
  if (reported) return reported as unknown as { gpa: number; region: string | null; firmware: boolean; readOnly: boolean };
  const step = resetVectorStep(r);
  if (!step) return undefined;
  const high = step.region === 'firmware-high';
  return { gpa: step.gpa, region: step.region, firmware: high, readOnly: high };
}

function firmwareHigh(r: BootResult) {
  return eventsOf(r, 'firmware-high')[0] as unknown as undefined | { mapped: boolean; sha256: string; bytes: number; writesTrapped: number };
}

/** Runs `check` when the target observes `what`, else records it as skipped with the reason. */
function observe(target: Target, what: Observation, assertion: string, skipped: SkippedAssertion[], check: () => void): void {
  if (target.observes.has(what)) check();
  else skipped.push({ assertion, reason: `${target.name} cannot observe ${what}` });
}

const seabiosRequest = (firmware: string, smp: number): BootRequest => ({ firmware, smp, timeoutS: BOOT_TIMEOUT_S, until: BOOT_ATTEMPT });
const romWriteRequest = (image: string): BootRequest => ({ firmwareFile: image, smp: 1, timeoutS: 30 });
const ovmfRequest = (quirks: string[]): BootRequest => ({ firmware: 'ovmf-4m', smp: 1, timeoutS: 20, quirks, until: OVMF_AT_BDS });
/**
 * OVMF with the VARS flash never mapped back after its first command (seed 000's exit storm): every
 * later read of it traps. The seed measured about 14x the good run's time; in the nested lab the
 * boot to the boot manager took about what the good run did (docs/uefi.md), so its timeout has
 * room for the seed's slowdown on a native host, not a lab gate.
 */
const OVMF_NEVER_REMAPPED: BootRequest = { ...ovmfRequest(['romd-never-remapped']), timeoutS: 60 };
const NO_HIGH_COPY: BootRequest = { firmware: 'seabios-256k', smp: 1, timeoutS: 60, quirks: ['no-high-bios-copy'], until: BOOT_ATTEMPT };
const romdRequest = (probe: { code: string; vars: string }, quirks: string[] = []): BootRequest => ({
  firmwareFile: probe.code,
  flashVars: probe.vars,
  smp: 1,
  timeoutS: 30,
  ...(quirks.length ? { quirks } : {}),
});

/** Whether `t` can judge romd-never-remapped under OVMF: it single-steps, switches quirks and counts flash exits. */
const neverRemappedObservable = (t: Target): boolean =>
  t.observes.has('ovmf') && t.observes.has('reset-vector-step') && t.observes.has('quirks') && t.observes.has('exit-profile');

for (const target of selectedTargets()) {
  /** Where OVMF runs past SEC to its boot manager (the reset vector itself is judged on `target`). */
  const pastSec = linuxTargetOf(target);
  describe(`reset vector: SeaBIOS on ${target.name}`, () => {
    // A target that batches (the own VMM inside the lab) gets every boot below at once; its OVMF
    // boots go to a lab VM of their own under the patched QEMU, or are left out when that cannot run.
    beforeAll(async () => {
      if (!target.prefetch || (await target.unavailable())) return;
      const probe = await flashRomdProbe();
      const reqs = [...CASES.map(({ firmware, smp }) => seabiosRequest(firmware, smp)), romWriteRequest(await assemble('probes/rom-write.asm')), romdRequest(probe)];
      if (target.observes.has('quirks')) reqs.push(NO_HIGH_COPY, romdRequest(probe, ['romd-never-remapped']));
      if (target.observes.has('ovmf') && target.observes.has('reset-vector-step')) {
        reqs.push(ovmfRequest([]), ...(target.observes.has('quirks') ? [ovmfRequest(['romd-unmapped'])] : []));
        if (pastSec === target && neverRemappedObservable(target)) reqs.push(OVMF_NEVER_REMAPPED);
      }
      await target.prefetch(reqs);
    }, 3_600_000);
    // The OVMF pair judged at the boot manager, when it boots elsewhere (a PVM host: the lab).
    beforeAll(async () => {
      if (pastSec === target || !pastSec.prefetch || !neverRemappedObservable(pastSec) || (await pastSec.unavailable())) return;
      await pastSec.prefetch([ovmfRequest([]), OVMF_NEVER_REMAPPED]);
    }, 3_600_000);

    for (const { firmware, smp } of CASES) {
      it(`${firmware} smp${smp}: fetches the reset vector from the high copy and reaches the boot attempt`, async ({ task, skip }) => {
        const id: CaseId = { suite: SUITE, target: target.name, guest: firmware, smp };
        const unavailable = await target.unavailable();
        if (unavailable) skipAs(task, id, skip, unavailable);
        const image: FirmwareImage = await loadFirmware(firmware);
        const r = await target.boot(seabiosRequest(firmware, smp));
        const skipped: SkippedAssertion[] = [];
        const mapping = resetVectorMapping(r);
        task.meta.bootgate = bootMeta(id, r, skipped, {
          'firmware.sha256': image.sha256.slice(0, 16),
          ...(mapping ? { 'reset-vector.region': mapping.region ?? 'unmapped' } : {}),
        });

        expect(r.error, r.stderr).toBeUndefined();
        expect(r.status, `boot ended ${r.status}: ${r.diagnostic?.reason}`).toBe('until-matched');

        observe(target, 'reset-vector-mapping', '0xfffffff0 served at reset by the whole firmware image, read-only, ending at 4 GiB', skipped, () => {
          expect(mapping, `${target.name} reported no reset-vector mapping`).toBeDefined();
          expect(mapping!.gpa).toBe(RESET_VECTOR);
          expect(mapping!.region, 'nothing is mapped at the reset vector').not.toBeNull();
          expect(mapping!.firmware, `the reset vector is served by ${mapping!.region}, not by the firmware image ending at 4 GiB`).toBe(true);
          expect(mapping!.readOnly, `the firmware at the reset vector (${mapping!.region}) must be read-only (ROM or ROMD)`).toBe(true);
        });

        observe(target, 'reset-vector-step', RESET_STEP, skipped, () => {
          const failures = resetStepFailures(r, image.bytes, 'firmware-high');
          expect(failures, formatFailures(failures)).toEqual([]);
        });

        expect(r.serial, 'SeaBIOS banner on COM1 (sercon)').toMatch(/SeaBIOS \(version 1\.16\.2/);
        expect(r.serial).toMatch(new RegExp(BOOT_ATTEMPT));
        observe(target, 'debugcon', 'SeaBIOS log on 0x402: banner, CPU count, no allocation warnings', skipped, () => {
          expect(r.debugcon, 'SeaBIOS log on the 0x402 debug console').toMatch(/SeaBIOS \(version 1\.16\.2/);
          expect(r.debugcon, 'SeaBIOS must detect every vCPU').toContain(`Found ${smp} cpu(s) max supported ${smp} cpu(s)`);
          expect(r.debugcon).not.toMatch(/fw_cfg file etc\/e820 not found|WARNING - Unable to allocate/);
        });
        observe(target, 'firmware-high-hash', 'high copy byte-identical to the firmware file after boot', skipped, () => {
          const high = firmwareHigh(r);
          expect(high?.mapped).toBe(true);
          expect(high?.sha256, 'the high copy must stay byte-identical to the firmware file').toBe(image.sha256);
        });
        expect(r.milestones['firmware-banner']).toBeLessThan(r.milestones['boot-attempt']!);
        observe(target, 'exit-profile', `no exit storm: at most ${SEABIOS_POST_EXIT_BUDGET} exits for POST`, skipped, () => {
          expect(r.profile!.totalExits, 'exit storm: more exits than QEMU needs for the same POST').toBeLessThanOrEqual(SEABIOS_POST_EXIT_BUDGET);
        });
      });
    }

    it('a guest write to the high copy traps and changes nothing (probe guest)', async ({ task, skip }) => {
      // The verdict is the guest's own (on 0x402); the trap is the VMM's view of the same write.
      const id: CaseId = { suite: SUITE, target: target.name, guest: 'probe-rom-write', smp: 1 };
      const why = (await target.unavailable()) ?? (target.observes.has('debugcon') ? undefined : `${target.name} cannot observe debugcon, where the probe reports`);
      if (why) skipAs(task, id, skip, why);
      const image = await assemble('probes/rom-write.asm');
      const r = await target.boot(romWriteRequest(image));
      const skipped: SkippedAssertion[] = [];
      task.meta.bootgate = bootMeta(id, r, skipped);
      expect(r.status, r.stderr).toBe('power-off');
      expect(r.exitCode, 'the probe exits through isa-debug-exit with 0: status (0 << 1) | 1').toBe(1);
      expect(r.debugcon).toContain('rom-write: unchanged');
      observe(target, 'rom-write-trap', 'the write reaches the VMM as one trapped MMIO write in the high copy', skipped, () => {
        const traps = eventsOf(r, 'rom-write');
        expect(traps.length, 'the write must reach the VMM as a trapped MMIO write').toBe(1);
        expect(Number(traps[0]!.gpa)).toBeGreaterThanOrEqual(0xffff_0000);
        expect(firmwareHigh(r)?.writesTrapped).toBe(1);
      });
    });

    it(`flash firmware: after a command and read-array the VARS flash reads as fast as before it (${ROMD.remapped}; probe guest)`, async ({ task, skip }) => {
      const id: CaseId = { suite: SUITE, target: target.name, guest: 'probe-flash-romd', smp: 1 };
      const why = (await target.unavailable()) ?? (target.observes.has('debugcon') ? undefined : `${target.name} cannot observe debugcon, where the probe reports`);
      if (why) skipAs(task, id, skip, why);
      const r = await target.boot(romdRequest(await flashRomdProbe()));
      const probe = parseRomdProbe(r.debugcon);
      const failures = checkRomd(probe);
      task.meta.bootgate = bootMeta(id, r, [], romdProperties(probe));
      expect(r.status, r.error?.message ?? r.stderr).toBe('power-off');
      expect(failures, formatFailures(failures)).toEqual([]);
    });

    it(`known-bad: --quirk romd-never-remapped fails "${ROMD.remapped}" (what the guest timed)`, async ({ task, skip }) => {
      const id: CaseId = { suite: SUITE, target: target.name, guest: 'probe-flash-romd', smp: 1, quirks: ['romd-never-remapped'] };
      const why = (await target.unavailable()) ?? (target.observes.has('quirks') ? undefined : `${target.name} has no VMM quirk switches`);
      if (why) skipAs(task, id, skip, why, { 'expected.failure': true });
      const r = await target.boot(romdRequest(await flashRomdProbe(), ['romd-never-remapped']));
      const probe = parseRomdProbe(r.debugcon);
      const failures = checkRomd(probe);
      task.meta.bootgate = bootMeta(id, r, [], {
        'expected.failure': true,
        ...romdProperties(probe),
        ...teethProperties(SEEDS.romd, ROMD.remapped, failures),
      });
      expect(probe, 'the probe never reported: it did not run to its end').toBeDefined();
      expect(failures.map((f) => f.assertion), formatFailures(failures)).toContain(ROMD.remapped);
    });

    it(`known-bad: --quirk no-high-bios-copy fails "${RESET_STEP}"`, async ({ task, skip }) => {
      const id: CaseId = { suite: SUITE, target: target.name, guest: 'seabios-256k', smp: 1, quirks: ['no-high-bios-copy'] };
      const why = (await target.unavailable()) ?? (target.observes.has('quirks') ? undefined : `${target.name} has no VMM quirk switches`);
      if (why) skipAs(task, id, skip, why, { 'expected.failure': true });
      const image = await loadFirmware('seabios-256k');
      const r = await target.boot(NO_HIGH_COPY);
      const failures = resetStepFailures(r, image.bytes, 'firmware-high');
      task.meta.bootgate = bootMeta(id, r, [], { 'expected.failure': true, ...teethProperties(SEEDS.vmd, RESET_STEP, failures) });
      expect(failures.map((f) => f.assertion), formatFailures(failures)).toContain(RESET_STEP);
      expect(r.serial, 'the firmware never ran').not.toMatch(new RegExp(BOOT_ATTEMPT));
      expect(eventsOf(r, 'config')[0]?.quirks, 'the event stream must name the quirk in use').toEqual(['no-high-bios-copy']);
    });

    // OVMF's reset vector from the pflash code slot: the good run of romd-unmapped.
    const ovmfUnavailable = async (quirk: boolean): Promise<string | undefined> =>
      (await target.unavailable()) ??
      (target.observes.has('reset-vector-step') ? undefined : `${target.name} cannot single-step the first instruction`) ??
      (target.observes.has('ovmf') ? undefined : `${target.name} cannot boot OVMF`) ??
      (quirk && !target.observes.has('quirks') ? `${target.name} has no VMM quirk switches` : undefined) ??
      target.cannotBoot?.(ovmfRequest(quirk ? ['romd-unmapped'] : []));
    const bootOvmf = (quirks: string[]) => target.boot(ovmfRequest(quirks));

    it(`ovmf-4m smp1: ${RESET_STEP} (pflash code, ROMD)`, async ({ task, skip }) => {
      const id: CaseId = { suite: SUITE, target: target.name, guest: 'ovmf-4m', smp: 1 };
      const why = await ovmfUnavailable(false);
      if (why) skipAs(task, id, skip, why);
      const image = await loadFirmware(OVMF_CODE);
      const r = await bootOvmf([]);
      const failures = resetStepFailures(r, image.bytes, 'pflash-code');
      task.meta.bootgate = bootMeta(id, r, [
        { assertion: 'OVMF boots past SEC', reason: 'only the first instruction is judged here; the uefi-boot suite boots OVMF to Linux' },
      ]);
      expect(failures, formatFailures(failures)).toEqual([]);
    });

    it(`known-bad: --quirk romd-unmapped (OVMF) fails "${RESET_STEP}"`, async ({ task, skip }) => {
      const id: CaseId = { suite: SUITE, target: target.name, guest: 'ovmf-4m', smp: 1, quirks: ['romd-unmapped'] };
      const why = await ovmfUnavailable(true);
      if (why) skipAs(task, id, skip, why, { 'expected.failure': true });
      const image = await loadFirmware(OVMF_CODE);
      const r = await bootOvmf(['romd-unmapped']);
      const failures = resetStepFailures(r, image.bytes, 'pflash-code');
      task.meta.bootgate = bootMeta(id, r, [], {
        'expected.failure': true,
        ...teethProperties(SEEDS.romd, RESET_STEP, failures),
      });
      expect(failures.map((f) => f.assertion), formatFailures(failures)).toContain(RESET_STEP);
    });

    it(`known-bad: --quirk romd-never-remapped (OVMF) fails "${UEFI.flash}", and its slowdown to the boot manager is reported`, async ({ task, skip }) => {
      const id: CaseId = { suite: SUITE, target: pastSec.name, guest: 'ovmf-4m', smp: 1, quirks: ['romd-never-remapped'] };
      const why =
        (await pastSec.unavailable()) ??
        (neverRemappedObservable(pastSec) ? undefined : `${pastSec.name} cannot single-step, switch quirks or count its flash MMIO exits under OVMF`) ??
        pastSec.cannotBoot?.(OVMF_NEVER_REMAPPED);
      if (why) skipAs(task, id, skip, why, { 'expected.failure': true });
      const good = await pastSec.boot(ovmfRequest([]));
      const bad = await pastSec.boot(OVMF_NEVER_REMAPPED);
      const failures = checkFlashBudget(flashReportOf(bad));
      // VMM start to OVMF's boot manager; a bad run that never got there says "at least".
      const reached = (r: BootResult) => r.status === 'until-matched';
      const slowdown = reached(good) ? `${reached(bad) ? '' : '>= '}${(bad.wallMs / Math.max(good.wallMs, 1)).toFixed(1)}x` : 'the good run did not reach the boot manager';
      task.meta.bootgate = bootMeta(id, bad, [], {
        'expected.failure': true,
        ...teethProperties(SEEDS.romd, UEFI.flash, failures),
        'romd.slowdown': slowdown,
        'romd.to-bds-ms.good': good.wallMs,
        'romd.to-bds-ms.bad': bad.wallMs,
      });
      // A budget judged on a boot that never issued OVMF's flash commands says nothing.
      expect(reached(good), `the good OVMF run did not reach its boot manager ("${OVMF_AT_BDS}") on ${pastSec.name}: ${good.status}`).toBe(true);
      expect(failures.map((f) => f.assertion), formatFailures(failures)).toContain(UEFI.flash);
    });
  });
}

/** The probe's timings for the report. */
function romdProperties(p: RomdProbe | undefined): Record<string, string | number> {
  return p ? { 'romd.status': `0x${p.status.toString(16)}`, 'romd.cycles.before': p.before, 'romd.cycles.trapped': p.trapped, 'romd.cycles.after': p.after, 'romd.slowdown': (p.after / Math.max(p.before, 1)).toFixed(2) } : {};
}
