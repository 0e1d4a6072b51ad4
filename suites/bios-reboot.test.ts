// BIOS-based reboot, Linux guest (Debian 6.1 + the probe), on every selected target
// (BOOTGATE_TARGETS): the own VMM and qemu:<accel>.
// For each reboot method the probe boots, reboots through the kernel's reboot= method (bios: the
// kernel jumps back into SeaBIOS, which copies its pristine image from the high copy and resets;
// pci: 0xCF9; kbd: the i8042; acpi: the FADT reset register; triple: a triple fault), SeaBIOS runs
// again and the probe reports boot 2 (its boot count lives in CMOS); reboot=bios goes round twice
// (boot 3). Each reboot must reset the machine once through its own method, as the VMM saw it
// (reboot-check.ts: 0xCF9 <- 0x0e from the kernel for pci, the i8042 pulse for kbd, the FADT reset
// register 0xCF9 <- 0x06 from the kernel for acpi, a triple fault on the reboot CPU for triple,
// 0xCF9 <- 0x06 from SeaBIOS's own reboot code for bios; measured in the lab: written at 0xefaac
// by bios-256k.bin, 0xf29a6 by bios.bin, the kernel's writes at 0xffffffff8...), with no triple
// fault nobody asked for:
// Linux falls back from one method to the next, so a broken method still resets somehow. The high
// BIOS copy must still be byte-identical to the file afterwards. bios and triple run at SMP 2 (the
// APs are reset too), bios once more at SMP 8 (seven APs back in wait-for-SIPI, SeaBIOS counting
// them again), the others at SMP 1; bios also with the 128 KiB image at SMP 1, the good run of
// the quirk below.
// Teeth: --quirk vmd-low-bios-only (OpenBSD vmd's layout: the BSP starts at CS base 0xf0000 and the
// firmware is mapped only below 1 MiB), same configuration as the 128 KiB bios run: the guest
// reports boot 1 and never boot 2 (SeaBIOS's reboot path reads its pristine image from the high
// copy that is not there; on vmd an unhandled page-fault exit ends the VM: the seed's bug).
// On QEMU the reset's cause is not observable (QMP's RESET says `guest-reset` for every path, and
// comes more than once per reboot): there each reset is judged by what it meant, from the console
// before it (targets/reset-attribution.ts): one after each probe reboot line, none nobody asked
// for; "resets through its own method" and "no unrequested triple fault" are recorded as skipped
// with the reason. QEMU's `pc` keeps no CMOS checksum; the probe stores one so its boot count works.
// The own VMM runs where Linux can run: natively on VT-x/SVM, else in the nested lab (one lab VM
// for all its boots).

import { beforeAll, describe, expect, it, type TaskMeta } from 'vitest';
import type { RebootMethod } from '../guests/catalog.js';
import { type BootRequest, type BootResult, eventsOf, selectedTargets } from '../targets/index.js';
import { loadFirmware } from './harness/firmware.js';
import { linuxTargetOf } from './harness/linux-runner.js';
import type { SkippedAssertion } from './harness/meta.js';
import { formatFailures, SEEDS, teethProperties } from './harness/failures.js';
import { parseProbeEvents, probeBoots } from './harness/probe.js';
import { bootMeta, type CaseId, skipAs } from './harness/properties.js';
import { checkReboot, describeReset, REBOOT, RESET_PATH_ASSERTIONS, type ResetEvent } from './harness/reboot-check.js';

const SUITE = 'bios-reboot';
const GUEST = 'debian-probe';
const CASES: ReadonlyArray<{ id: string; method: RebootMethod; smp: number; reboots: number; firmware: 'seabios-256k' | 'seabios' }> = [
  { id: 'bios', method: 'bios', smp: 2, reboots: 2, firmware: 'seabios-256k' },
  { id: 'pci', method: 'pci', smp: 1, reboots: 1, firmware: 'seabios-256k' },
  { id: 'kbd', method: 'kbd', smp: 1, reboots: 1, firmware: 'seabios-256k' },
  { id: 'acpi', method: 'acpi', smp: 1, reboots: 1, firmware: 'seabios-256k' },
  { id: 'triple', method: 'triple', smp: 2, reboots: 1, firmware: 'seabios-256k' },
  { id: 'bios-smp8', method: 'bios', smp: 8, reboots: 1, firmware: 'seabios-256k' },
  // vmd ships a 128 KiB SeaBIOS (bios-256k.bin keeps its init code in the high copy only): the
  // quirk's configuration, without the quirk.
  { id: 'bios-128k', method: 'bios', smp: 1, reboots: 1, firmware: 'seabios' },
];
const VMD = CASES.find((c) => c.id === 'bios-128k')!;
const DONE = '@@bootgate \\{"event":"done"';
/** Native seconds; the lab target scales them (targets/vmm/lab-target.ts). */
const BOOT_TIMEOUT_S = 60;
/**
 * Long enough for the kernel to be past SeaBIOS (x4 in the lab: 32 s, where the probe kernel
 * starts after 5-10 s); every second of it is waited out, since the guest hangs on purpose.
 */
const HUNG_TIMEOUT_S = 8;

const request = (c: { method: RebootMethod; smp: number; reboots: number; firmware: string }, quirks: string[] = []): BootRequest => ({
  guest: GUEST,
  smp: c.smp,
  reboots: c.reboots,
  reboot: c.method,
  firmware: c.firmware,
  timeoutS: quirks.length ? 15 : BOOT_TIMEOUT_S,
  until: DONE,
  ...(quirks.length ? { quirks } : {}),
});
/** The probe hangs before its init line: the harness's timeout path on a real Linux guest. */
const HUNG: BootRequest = { guest: GUEST, smp: 2, append: 'bootgate.hang=1', timeoutS: HUNG_TIMEOUT_S, until: DONE };

function resetPathSkips(target: string): SkippedAssertion[] {
  return RESET_PATH_ASSERTIONS.map((assertion) => ({
    assertion,
    reason: `${target}: QMP's RESET event names no cause (guest-reset for 0xCF9, the i8042, ACPI and a triple fault alike); the resets are judged by what the console says they meant`,
  }));
}

for (const target of selectedTargets().map((t) => linuxTargetOf(t))) {
  const resetPath = target.observes.has('reset-path');
  const quirk = target.observes.has('quirks');
  const skipped = resetPath ? [] : resetPathSkips(target.name);

  describe(`BIOS-based reboot: ${GUEST} on ${target.name}`, () => {
    beforeAll(async () => {
      if (!target.prefetch || (await target.unavailable())) return;
      await target.prefetch([...CASES.map((c) => request(c)), ...(quirk ? [request(VMD, ['vmd-low-bios-only'])] : []), HUNG]);
    }, 3_300_000);

    /** Boot `req`, or skip with the testcase's identity recorded when the target is unavailable. */
    async function boot(ctx: { task: { meta: TaskMeta }; skip: (note: string) => void }, id: CaseId, req: BootRequest, extra: Record<string, boolean> = {}): Promise<BootResult> {
      const why = await target.unavailable();
      if (why) skipAs(ctx.task, id, ctx.skip, why, extra);
      return target.boot(req);
    }

    for (const c of CASES) {
      const { method, smp, reboots, firmware } = c;
      const boots = Array.from({ length: reboots + 1 }, (_, i) => i + 1);
      it(`reboot=${method}${firmware === 'seabios' ? ' (128 KiB SeaBIOS)' : ''} at SMP ${smp}: resets through ${method}, SeaBIOS runs again and the probe comes back as boot ${boots.slice(1).join(', then ')}`, async ({ task, skip }) => {
        const id: CaseId = { suite: SUITE, target: target.name, guest: `${GUEST} ${firmware} reboot=${method}`, smp };
        const r = await boot({ task, skip }, id, request(c));
        const events = parseProbeEvents(r.serial);
        const image = await loadFirmware(firmware);
        const failures = checkReboot(r, events, { method, smp, reboots, firmwareSha256: image.sha256, resetPath });
        const checksum = events.find((e) => e.event === 'cmos-checksum');
        task.meta.bootgate = bootMeta(id, r, skipped, {
          'reboot.method': method,
          'reboot.resets': resetsOf(r),
          'probe.boots': probeBoots(events).join(','),
          ...(checksum ? { 'probe.cmos-checksum': `invalid at boot; nvram-setcks exit ${String(checksum.setcks)}` } : {}),
        });
        expect(failures, formatFailures(failures)).toEqual([]);
      });
    }

    if (quirk) {
      it('known-bad: --quirk vmd-low-bios-only boots once, then the guest never reports boot 2 after reboot=bios', async ({ task, skip }) => {
        const id: CaseId = { suite: SUITE, target: target.name, guest: `${GUEST} ${VMD.firmware} reboot=bios`, smp: VMD.smp, quirks: ['vmd-low-bios-only'] };
        const r = await boot({ task, skip }, id, request(VMD, ['vmd-low-bios-only']), { 'expected.failure': true });
        const events = parseProbeEvents(r.serial);
        const image = await loadFirmware(VMD.firmware);
        const failures = checkReboot(r, events, { method: VMD.method, smp: VMD.smp, reboots: VMD.reboots, firmwareSha256: image.sha256 });
        task.meta.bootgate = bootMeta(id, r, [], {
          'expected.failure': true,
          'reboot.resets': resetsOf(r),
          'probe.boots': probeBoots(events).join(','),
          ...teethProperties(SEEDS.vmd, REBOOT.cameBack, failures),
        });
        expect(probeBoots(events), 'the first boot works from the low copy, as on vmd').toContain(1);
        expect(events.some((e) => e.event === 'reboot'), 'the probe asked for the reboot').toBe(true);
        expect(failures.map((f) => f.assertion), formatFailures(failures)).toContain(REBOOT.cameBack);
        const step = eventsOf(r, 'milestone').find((e) => e.name === 'reset-vector') as unknown as { gpa: number; expected: number } | undefined;
        expect(step?.gpa, 'vmd starts the BSP below 1 MiB, not at the reset vector').toBe(0xffff0);
      });
    }

    it('a guest that never reaches init fails on the timeout with the serial tail and every vCPU register set, and leaves nothing running', async ({ task, skip }) => {
      const id: CaseId = { suite: SUITE, target: target.name, guest: `${GUEST} bootgate.hang=1`, smp: 2 };
      const r = await boot({ task, skip }, id, HUNG, { 'expected.failure': true });
      task.meta.bootgate = bootMeta(id, r, [], { 'expected.failure': true });
      expect(r.status, r.error?.message).toBe('timeout');
      expect(r.milestones.init, 'the probe must not have reported init').toBeUndefined();
      expect(r.diagnostic?.reason).toMatch(/timed out after \d+ s/);
      expect(r.diagnostic?.serialTail, 'the serial tail shows how far the guest got').toMatch(/SeaBIOS|Booting from ROM/);
      expect(r.diagnostic?.registers.map((g) => g.vcpu).sort()).toEqual([0, 1]);
      for (const g of r.diagnostic!.registers) expect(g.regs.rip, `vCPU ${g.vcpu} rip`).toMatch(/^0x[0-9a-f]+$/);
      // The VMM process wrote its final event and exited by itself (a hung VMM would leave no final event).
      expect(r.events.some((e) => e.event === 'final')).toBe(true);
      expect(r.exitCode).not.toBe(0);
    });
  });
}

function resetsOf(r: BootResult): string {
  return (eventsOf(r, 'reset') as unknown as ResetEvent[]).map(describeReset).join('; ') || 'none';
}
