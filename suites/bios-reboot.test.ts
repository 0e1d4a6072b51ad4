// BIOS-based reboot, Linux guest (Debian 6.1 + the probe) on the own VMM.
// For each reboot method the probe boots, reboots through the kernel's reboot= method (bios: the
// kernel jumps back into SeaBIOS, which copies its pristine image from the high copy and resets;
// pci: 0xCF9; kbd: the i8042; acpi: the FADT reset register; triple: a triple fault), SeaBIOS runs
// again and the probe reports boot 2 (its boot count lives in CMOS); reboot=bios goes round twice
// (boot 3). The VMM must count exactly one reset per reboot, and the high BIOS copy must still be
// byte-identical to the file afterwards. bios and triple run at SMP 2 (the APs are reset too),
// the others at SMP 1.
// Teeth: --quirk vmd-low-bios-only (OpenBSD vmd's layout: the BSP starts at CS base 0xf0000 and the
// firmware is mapped only below 1 MiB) boots once, then reboot=bios never comes back: SeaBIOS's
// reboot path reads its pristine image from the high copy that is not there, which on vmd is an
// unhandled page-fault exit that ends the VM (the seed's bug).
// Runs where Linux can run: natively on VT-x/SVM, else in the nested lab (one lab VM for all
// boots).

import { beforeAll, describe, expect, it } from 'vitest';
import type { RebootMethod } from '../guests/catalog.js';
import { type BootResult, eventsOf } from './harness/boot-result.js';
import { loadFirmware } from './harness/firmware.js';
import type { LabBoot } from './harness/lab-batch.js';
import { type LinuxRun, planLinuxRun, runLinuxBoots } from './harness/linux-runner.js';
import { parseProbeEvents, probeBoots } from './harness/probe.js';
import { bootMeta } from './harness/properties.js';

const SUITE = 'bios-reboot';
const GUEST = 'debian-probe';
const PLAN = planLinuxRun();
const CASES: ReadonlyArray<{ method: RebootMethod; smp: number; reboots: number }> = [
  { method: 'bios', smp: 2, reboots: 2 },
  { method: 'pci', smp: 1, reboots: 1 },
  { method: 'kbd', smp: 1, reboots: 1 },
  { method: 'acpi', smp: 1, reboots: 1 },
  { method: 'triple', smp: 2, reboots: 1 },
];
const SMP = 1;
const DONE = '@@bootgate \\{"event":"done"';
/** Long enough for the kernel to be well past SeaBIOS, natively and in the lab (x4 there). */
const HUNG_TIMEOUT_S = 15;

function boots(): LabBoot[] {
  const base = { guest: GUEST, smp: SMP, reboots: 1, timeoutS: 150, until: DONE };
  return [
    ...CASES.map(({ method, smp, reboots }) => ({ id: method, req: { ...base, smp, reboots, reboot: method } })),
    // vmd ships a 128 KiB SeaBIOS: bios-256k.bin keeps its init code in the high copy only.
    { id: 'vmd-low-bios-only', req: { ...base, firmware: 'seabios', reboot: 'bios', quirks: ['vmd-low-bios-only'], timeoutS: 60 } },
    // The probe hangs before its init line: the harness's timeout path on a real Linux guest.
    { id: 'hung-before-init', req: { guest: GUEST, smp: 2, append: 'bootgate.hang=1', timeoutS: HUNG_TIMEOUT_S, until: DONE } },
  ];
}

let run: LinuxRun | undefined;
beforeAll(async () => {
  if (!PLAN.unavailable) run = await runLinuxBoots(boots(), 3000);
}, 3_300_000);

function result(id: string): BootResult {
  const r = run!.results.get(id);
  if (!r) throw new Error(`no result for boot ${id}`);
  return r;
}

describe(`BIOS-based reboot: ${GUEST} on ${PLAN.target}`, () => {
  for (const { method, smp, reboots } of CASES) {
    const boots = Array.from({ length: reboots + 1 }, (_, i) => i + 1);
    it(`reboot=${method} at SMP ${smp}: SeaBIOS runs again and the probe comes back as boot ${boots.slice(1).join(', then ')}`, async ({ task, skip }) => {
      if (PLAN.unavailable) skip(PLAN.unavailable);
      const r = result(method);
      const events = parseProbeEvents(r.serial);
      const image = await loadFirmware('seabios-256k');
      task.meta.bootgate = bootMeta({ suite: SUITE, target: PLAN.target, guest: `${GUEST} reboot=${method}`, smp }, r, [], {
        'reboot.method': method,
        'probe.boots': probeBoots(events).join(','),
        'lab.lockups': run!.lockups.join(' | ') || 'none',
      });
      expect(r.status, r.error?.message ?? r.diagnostic?.reason).toBe('until-matched');
      expect(probeBoots(events), `the probe must report boots ${boots.join(', ')}, one per reboot`).toEqual(boots);
      expect(events.find((e) => e.event === 'reboot')?.method).toBe(method.charAt(0));
      expect(events.find((e) => e.event === 'init' && e.boot === reboots + 1)?.cpus, 'every vCPU back after the last reboot').toBe(smp);
      expect(r.resets, 'the VMM must see exactly one machine reset per reboot').toBe(reboots);
      expect(r.serial.match(/SeaBIOS \(version/g)?.length ?? 0, 'SeaBIOS must run again after each reset').toBeGreaterThanOrEqual(reboots + 1);
      const high = eventsOf(r, 'firmware-high')[0] as unknown as { sha256: string } | undefined;
      expect(high?.sha256, 'the high BIOS copy must stay byte-identical to the file').toBe(image.sha256);
    });
  }

  it('known-bad: --quirk vmd-low-bios-only boots once, then reboot=bios never comes back', ({ task, skip }) => {
    if (PLAN.unavailable) skip(PLAN.unavailable);
    const r = result('vmd-low-bios-only');
    const events = parseProbeEvents(r.serial);
    task.meta.bootgate = bootMeta({ suite: SUITE, target: PLAN.target, guest: `${GUEST} reboot=bios`, smp: SMP, quirks: ['vmd-low-bios-only'] }, r, [], {
      'expected.failure': true,
    });
    expect(probeBoots(events), 'the first boot works from the low copy, as on vmd').toEqual([1]);
    expect(events.some((e) => e.event === 'reboot'), 'the probe asked for the reboot').toBe(true);
    expect(r.status, 'the guest must not come back after reboot=bios').toBe('error');
    expect(r.error?.message).toMatch(/in the firmware's high copy .*which vmd-low-bios-only does not map/);
    const step = eventsOf(r, 'milestone').find((e) => e.name === 'reset-vector') as unknown as { gpa: number; expected: number } | undefined;
    expect(step?.gpa, 'vmd starts the BSP below 1 MiB, not at the reset vector').toBe(0xffff0);
  });

  it('a guest that never reaches init fails on the timeout with the serial tail and every vCPU register set, and leaves nothing running', ({ task, skip }) => {
    if (PLAN.unavailable) skip(PLAN.unavailable);
    const r = result('hung-before-init');
    task.meta.bootgate = bootMeta({ suite: SUITE, target: PLAN.target, guest: `${GUEST} bootgate.hang=1`, smp: 2 }, r, [], { 'expected.failure': true });
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
