// Sync-reads suite: the sync-reads probe (guests/probes/sync-reads.asm) boots as firmware and reads
// the ACPI PM timer and COM1's LSR 4,000 times each, back to back, from the boot vCPU; it checks
// every value itself (suites/harness/sync-reads-check.ts): the PM timer never steps back and moves,
// LSR reads THRE | TEMT. These are the registers firmware and Linux poll hardest (SeaBIOS and OVMF
// time their delays on the PM timer, Linux calibrates the TSC against it, every console byte polls
// LSR), and the ones a VMM is tempted to answer outside its device model: the own VMM's vCPU threads
// answer both themselves at SMP > 1 (docs/vcpu-layer.md), from their own clock and a published
// value. On the own VMM the exit profile is judged too: every read counted, and at SMP > 1 none
// waited for the device owner; on QEMU those assertions are skipped with the reason.
// Known-bad: `pm-timer-two-clocks` (SMP 2) answers the PM timer from two clocks 2 ms apart, the bug
// of a VMM whose threads each keep their own timer; the guest must see the count step back.

import { beforeAll, describe, expect, it } from 'vitest';
import { SYNC_READS_DONE, syncReadsProbe } from '../guests/sync-reads-probe.js';
import { type BootRequest, selectedTargets } from '../targets/index.js';
import { formatFailures, teethProperties } from './harness/failures.js';
import type { SkippedAssertion } from './harness/meta.js';
import { bootMeta, type CaseId, skipAs } from './harness/properties.js';
import { checkSyncReads, SYNC_READS_CHECK } from './harness/sync-reads-check.js';

const SUITE = 'sync-reads';
const SMPS = [1, 2, 8];
const TIMEOUT_S = 60;
const QUIRK = 'pm-timer-two-clocks';
const QUIRK_SMP = 2;
/** No seed report shows this bug; the quirk reproduces a class of bug this suite exists for. */
const QUIRK_SEED = 'none: one register answered from two clocks (docs/vcpu-layer.md)';

const request = (image: string, smp: number, quirks: string[] = []): BootRequest => ({
  firmwareFile: image,
  smp,
  timeoutS: TIMEOUT_S,
  until: SYNC_READS_DONE,
  ...(quirks.length > 0 ? { quirks } : {}),
});

for (const target of selectedTargets()) {
  describe(`sync reads: PM timer and LSR read back to back on ${target.name}`, () => {
    const vmmView = target.observes.has('exit-profile');
    const skippedHere: SkippedAssertion[] = vmmView
      ? []
      : [SYNC_READS_CHECK.counted, SYNC_READS_CHECK.notHandedOver].map((assertion) => ({ assertion, reason: `${target.name} reports no exit profile of its own` }));
    beforeAll(async () => {
      if (!target.prefetch || (await target.unavailable())) return;
      const image = await syncReadsProbe();
      const quirk = target.observes.has('quirks') ? [request(image, QUIRK_SMP, [QUIRK])] : [];
      await target.prefetch([...SMPS.map((smp) => request(image, smp)), ...quirk]);
    }, 3_600_000);

    for (const smp of SMPS) {
      it(`smp${smp}: the PM timer never steps back and moves, LSR reads idle, on every read`, async ({ task, skip }) => {
        const id: CaseId = { suite: SUITE, target: target.name, guest: 'probe-sync-reads', smp };
        const why = await target.unavailable();
        if (why) skipAs(task, id, skip, why);
        const r = await target.boot(request(await syncReadsProbe(), smp));
        const failures = checkSyncReads(r, { smp, vmmView });
        task.meta.bootgate = bootMeta(id, r, smp === 1 && vmmView ? [{ assertion: SYNC_READS_CHECK.notHandedOver, reason: 'at SMP 1 the device owner runs vCPU 0 itself: nothing is handed over' }] : skippedHere);
        expect(failures, formatFailures(failures)).toEqual([]);
      });
    }

    it(`known-bad: --quirk ${QUIRK} fails "${SYNC_READS_CHECK.pmMonotonic}" (what the guest saw)`, async ({ task, skip }) => {
      const id: CaseId = { suite: SUITE, target: target.name, guest: 'probe-sync-reads', smp: QUIRK_SMP, quirks: [QUIRK] };
      const why = (await target.unavailable()) ?? (target.observes.has('quirks') ? undefined : `${target.name} has no quirk switches`);
      if (why) skipAs(task, id, skip, why);
      const r = await target.boot(request(await syncReadsProbe(), QUIRK_SMP, [QUIRK]));
      const failures = checkSyncReads(r, { smp: QUIRK_SMP, vmmView });
      task.meta.bootgate = bootMeta(id, r, skippedHere, { 'expected.failure': true, ...teethProperties(QUIRK_SEED, SYNC_READS_CHECK.pmMonotonic, failures) });
      expect(failures.map((f) => f.assertion), formatFailures(failures)).toContain(SYNC_READS_CHECK.pmMonotonic);
    });
  });
}
