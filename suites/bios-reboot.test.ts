// BIOS-based reboot, Linux guest (Debian 6.1 + the probe) on the own VMM.
// For each reboot method the probe boots, reboots through the kernel's reboot= method (bios: the
// kernel jumps back into SeaBIOS, which copies its pristine image from the high copy and resets;
// pci: 0xCF9; kbd: the i8042; acpi: the FADT reset register; triple: a triple fault), SeaBIOS runs
// again and the probe reports boot 2 (its boot count lives in CMOS). The VMM must count exactly
// one reset, and the high BIOS copy must still be byte-identical to the file afterwards.
// Teeth: --quirk no-high-bios-copy makes reboot=bios fail (the seed's OpenBSD vmd bug).
// Runs where Linux can run: natively on VT-x/SVM, else in the nested lab (one lab VM for all
// boots). BOOTGATE_LINUX_MATRIX=full runs every method; the default runs bios and pci.

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
const FULL = process.env.BOOTGATE_LINUX_MATRIX === 'full';
const METHODS: RebootMethod[] = FULL ? ['bios', 'pci', 'kbd', 'acpi', 'triple'] : ['bios', 'pci'];
const SMP = 1;
const DONE = '@@bootgate \\{"event":"done"';

function boots(): LabBoot[] {
  const base = { guest: GUEST, smp: SMP, reboots: 1, timeoutS: 900, until: DONE };
  return [
    ...METHODS.map((reboot) => ({ id: reboot, req: { ...base, reboot } })),
    { id: 'no-high-bios-copy', req: { ...base, reboot: 'bios', quirks: ['no-high-bios-copy'], timeoutS: 120 } },
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
  for (const method of METHODS) {
    it(`reboot=${method}: SeaBIOS runs again and the probe comes back as boot 2`, async ({ task, skip }) => {
      if (PLAN.unavailable) skip(PLAN.unavailable);
      const r = result(method);
      const events = parseProbeEvents(r.serial);
      const image = await loadFirmware('seabios-256k');
      task.meta.bootgate = bootMeta({ suite: SUITE, target: PLAN.target, guest: `${GUEST} reboot=${method}`, smp: SMP }, r, [], {
        'reboot.method': method,
        'probe.boots': probeBoots(events).join(','),
      });
      expect(r.status, r.error?.message ?? r.diagnostic?.reason).toBe('until-matched');
      expect(probeBoots(events), 'the probe must report boot 1, then boot 2 after the reboot').toEqual([1, 2]);
      expect(events.find((e) => e.event === 'reboot')?.method).toBe(method.charAt(0));
      expect(r.resets, 'the VMM must see exactly one machine reset').toBe(1);
      expect(r.serial.match(/SeaBIOS \(version/g)?.length ?? 0, 'SeaBIOS must run again after the reset').toBeGreaterThanOrEqual(2);
      const high = eventsOf(r, 'firmware-high')[0] as unknown as { sha256: string } | undefined;
      expect(high?.sha256, 'the high BIOS copy must stay byte-identical to the file').toBe(image.sha256);
    });
  }

  it('known-bad: --quirk no-high-bios-copy makes reboot=bios fail', ({ task, skip }) => {
    if (PLAN.unavailable) skip(PLAN.unavailable);
    const r = result('no-high-bios-copy');
    const events = parseProbeEvents(r.serial);
    task.meta.bootgate = bootMeta({ suite: SUITE, target: PLAN.target, guest: `${GUEST} reboot=bios`, smp: SMP, quirks: ['no-high-bios-copy'] }, r, [], {
      'expected.failure': true,
    });
    expect(r.status).not.toBe('until-matched');
    expect(probeBoots(events)).not.toEqual([1, 2]);
    expect(`${r.error?.message ?? ''} ${r.diagnostic?.reason ?? ''}`).toMatch(/reset vector|nothing is mapped/);
  });
});
