// Sync-reads checker: judges one boot of the sync-reads probe (guests/probes/sync-reads.asm), a
// guest that reads PCI configuration space, the ACPI PM timer and COM1's LSR back to back, checks
// every value itself and prints one line per register. The guest's evidence: PMBASE read back as
// just written and two scans of bus 0 agreed; the PM timer never stepped back (a 24-bit count that
// runs backwards reads as a wrap, seconds forward) and moved; LSR read THRE | TEMT every time. The
// own VMM's too (`vmmView`): every PM timer and LSR read is in its exit profile, and at SMP > 1 none
// of the reads waited for the device owner (its vCPU threads answer all three themselves:
// docs/vcpu-layer.md), so a table that stopped naming them shows here and not only as a slower boot.

import { SYNC_READS, SYNC_READS_CONFIG_DATA, SYNC_READS_CONFIG_WRITES, SYNC_READS_LSR, SYNC_READS_PM_TMR, SYNC_READS_PMBASE } from '../../guests/sync-reads-probe.js';
import type { BootResult } from '../../targets/boot-result.js';
import type { Failure } from './failures.js';

export const SYNC_READS_CHECK = {
  finished: 'the probe ran to its last line',
  pciConfig: 'PCI configuration reads: PMBASE back as written, two scans of bus 0 alike, functions present',
  pmMonotonic: 'the ACPI PM timer never stepped back and moved, read back to back',
  lsrIdle: 'LSR read THRE | TEMT (0x60) on every read, with nothing sent or received',
  counted: 'every read is in the exit profile (own VMM)',
  notHandedOver: 'at SMP > 1 no PCI configuration, PM timer or LSR read waited for the device owner (own VMM)',
} as const;

const hex = (n: number): string => `0x${n.toString(16)}`;

export interface SyncReadsOptions {
  smp: number;
  /** Judge the own VMM's exit profile too. */
  vmmView: boolean;
}

export function checkSyncReads(r: BootResult, o: SyncReadsOptions): Failure[] {
  const failures: Failure[] = [];
  if (r.status !== 'until-matched') {
    const why = r.error ? ` (${r.error.code}: ${r.error.message})` : '';
    failures.push({ assertion: SYNC_READS_CHECK.finished, message: `the run ended ${r.status}${why} before the probe printed its last line` });
  }
  failures.push(...checkPci(r.serial));
  const pmOk = /sync-reads: pm-timer monotonic: ([0-9a-f]{8}) ticks in ([0-9a-f]{8}) reads/.exec(r.serial);
  const pmBack = /sync-reads: pm-timer went back at read ([0-9a-f]{8}): from ([0-9a-f]{8}) to ([0-9a-f]{8})/.exec(r.serial);
  const pmStuck = /sync-reads: pm-timer stuck at ([0-9a-f]{8})/.exec(r.serial);
  if (pmBack) {
    const [at, from, to] = pmBack.slice(1).map((h) => parseInt(h, 16)) as [number, number, number];
    failures.push({ assertion: SYNC_READS_CHECK.pmMonotonic, message: `read ${at} of ${SYNC_READS} went back from ${hex(from)} to ${hex(to)} (${from - to} ticks)` });
  } else if (pmStuck) {
    failures.push({ assertion: SYNC_READS_CHECK.pmMonotonic, message: `the count stayed at ${hex(parseInt(pmStuck[1]!, 16))} for ${SYNC_READS} reads` });
  } else if (!pmOk) {
    failures.push({ assertion: SYNC_READS_CHECK.pmMonotonic, message: 'the probe printed no PM timer line' });
  } else if (parseInt(pmOk[2]!, 16) !== SYNC_READS) {
    failures.push({ assertion: SYNC_READS_CHECK.pmMonotonic, message: `the probe read the PM timer ${parseInt(pmOk[2]!, 16)} times, not ${SYNC_READS}` });
  }
  const lsrOk = /sync-reads: lsr 00000060 in ([0-9a-f]{8}) reads/.exec(r.serial);
  const lsrBad = /sync-reads: lsr read ([0-9a-f]{8}) was ([0-9a-f]{8})/.exec(r.serial);
  if (lsrBad) {
    failures.push({ assertion: SYNC_READS_CHECK.lsrIdle, message: `read ${parseInt(lsrBad[1]!, 16)} of ${SYNC_READS} was ${hex(parseInt(lsrBad[2]!, 16))}` });
  } else if (!lsrOk || parseInt(lsrOk[1]!, 16) !== SYNC_READS) {
    failures.push({ assertion: SYNC_READS_CHECK.lsrIdle, message: lsrOk ? `the probe read LSR ${parseInt(lsrOk[1]!, 16)} times, not ${SYNC_READS}` : 'the probe printed no LSR line' });
  }
  if (o.vmmView) failures.push(...checkProfile(r, o.smp));
  return failures;
}

function checkPci(serial: string): Failure[] {
  const m = /sync-reads: pci pmbase ([0-9a-f]{8}) scans ([0-9a-f]{8}) ([0-9a-f]{8}) present ([0-9a-f]{8})/.exec(serial);
  if (!m) return [{ assertion: SYNC_READS_CHECK.pciConfig, message: 'the probe printed no PCI line' }];
  const [pmbase, first, second, present] = m.slice(1).map((h) => parseInt(h, 16)) as [number, number, number, number];
  const wrong: string[] = [];
  if (pmbase !== SYNC_READS_PMBASE) wrong.push(`PMBASE read back ${hex(pmbase)} right after the write of ${hex(SYNC_READS_PMBASE)}`);
  if (first !== second) wrong.push(`two scans of bus 0 read differently (checksums ${hex(first)} and ${hex(second)})`);
  if (present < 2) wrong.push(`${present} functions answered on bus 0 (a host bridge and an ISA bridge at least)`);
  return wrong.map((message) => ({ assertion: SYNC_READS_CHECK.pciConfig, message }));
}

function checkProfile(r: BootResult, smp: number): Failure[] {
  const failures: Failure[] = [];
  const profile = r.profile;
  if (!profile) return [{ assertion: SYNC_READS_CHECK.counted, message: 'the run reported no exit profile' }];
  for (const port of [SYNC_READS_PM_TMR, SYNC_READS_LSR]) {
    const count = profile.hottestPorts.find((p) => p.port === port)?.count ?? 0;
    if (count < SYNC_READS) failures.push({ assertion: SYNC_READS_CHECK.counted, message: `port ${hex(port)}: ${count} exits in the profile, the probe read it at least ${SYNC_READS} times` });
  }
  if (smp > 1) {
    // The probe's CONFIG_DATA writes (PMBASE, PMIOSE) go to the owner; its 513 reads must not.
    const waited = (profile.handover?.hottest ?? []).filter(
      (h) =>
        h.target === `port ${hex(SYNC_READS_PM_TMR)}` ||
        h.target === `port ${hex(SYNC_READS_LSR)}` ||
        (h.target === `port ${hex(SYNC_READS_CONFIG_DATA)}` && h.count > SYNC_READS_CONFIG_WRITES),
    );
    if (waited.length > 0) {
      failures.push({ assertion: SYNC_READS_CHECK.notHandedOver, message: `handed to the device owner: ${waited.map((h) => `${h.target} ${h.count} times`).join(', ')}` });
    }
  }
  return failures;
}
