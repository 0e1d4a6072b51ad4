// Hostile-guest checker: judges one boot of the port-fuzz probe (guests/probes/port-fuzz.asm).
// The guest's own evidence comes first: after OPS random accesses to every device it still prints
// on COM1, and the reset it then asks for through 0xCF9 comes back (the probe prints again after
// it). Then the VMM's: exactly that one reset, the firmware image byte-identical although the
// probe wrote to it (the high copy stays ROM), and a report of what the VMM refused.

import { portFuzzDoneLine, PORT_FUZZ_BACK } from '../../guests/port-fuzz-probe.js';
import { type BootResult, eventsOf } from '../../targets/boot-result.js';
import type { Failure } from './failures.js';

export const HOSTILE = {
  survived: 'after the fuzz the machine still prints on COM1',
  resetBack: 'the reset the probe asks for afterwards comes back',
  oneReset: 'exactly one reset: the fuzz itself reset nothing',
  romIntact: 'the firmware image is byte-identical afterwards although the probe wrote to it',
  refusals: 'the VMM reports what it refused the guest',
} as const;

export interface HostileExpectation {
  seed: number;
  ops: number;
  /** sha256 of the probe image: the high copy must still hash to it. */
  imageSha256: string;
  /** The target reports the VMM's view (own VMM): resets, the high copy's hash, refusals. */
  vmmView: boolean;
}

export function checkHostileGuest(r: BootResult, e: HostileExpectation): Failure[] {
  const failures: Failure[] = [];
  const done = portFuzzDoneLine(e.seed, e.ops);
  const doneAt = r.serial.indexOf(done);
  if (doneAt < 0) {
    failures.push({ assertion: HOSTILE.survived, message: `no "${done}" on COM1; the boot ended ${r.status}${r.diagnostic ? `: ${r.diagnostic.reason}` : ''}${r.error ? ` (${r.error.code}: ${r.error.message})` : ''}` });
  }
  if (r.status !== 'until-matched' || r.serial.indexOf(PORT_FUZZ_BACK, Math.max(doneAt, 0)) < 0) {
    failures.push({ assertion: HOSTILE.resetBack, message: `no "${PORT_FUZZ_BACK}" after the fuzz; the boot ended ${r.status}` });
  }
  if (!e.vmmView) return failures;
  if (r.resets !== 1) failures.push({ assertion: HOSTILE.oneReset, message: `${r.resets} resets, expected the probe's one (0xCF9)` });
  const high = eventsOf(r, 'firmware-high')[0] as unknown as undefined | { sha256: string; writesTrapped: number };
  if (!high) failures.push({ assertion: HOSTILE.romIntact, message: 'the VMM reported no firmware-high event' });
  else if (high.sha256 !== e.imageSha256) failures.push({ assertion: HOSTILE.romIntact, message: `the high copy hashes to ${high.sha256.slice(0, 16)}…, the image to ${e.imageSha256.slice(0, 16)}…: a guest write changed the ROM` });
  const refusals = eventsOf(r, 'guest-refusals')[0] as unknown as undefined | { misuse: number };
  if (!refusals) failures.push({ assertion: HOSTILE.refusals, message: 'the VMM reported no guest-refusals event' });
  else if (refusals.misuse === 0) failures.push({ assertion: HOSTILE.refusals, message: 'the VMM counted no guest misuse after thousands of random accesses' });
  return failures;
}
