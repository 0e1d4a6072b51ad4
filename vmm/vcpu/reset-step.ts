// The reset-vector observation: vCPU 0 single-steps its first instruction, which must be fetched at
// the reset vector from the firmware's high copy. The step runs on the thread that runs vCPU 0;
// the verdict (which region the fetch hit, the error when nothing is mapped there) is the device
// owner's, which has the memory map. The step travels between them as JSON in the mailbox.

import { ExitKind } from '../accel/exit-info.js';
import type { FetchPoint, Vcpu } from '../accel/types.js';
import { BootgateError } from '../errors.js';
import { RESET_VECTOR } from '../layout.js';
import type { QuirkName } from '../quirks.js';

export interface ResetStep {
  /** False when the backend refused single-stepping. */
  stepped: boolean;
  /** The exit the step ended with (Debug when it completed). */
  exit?: string;
  before: FetchPoint;
  after?: FetchPoint;
}

/** Single-step vCPU 0's first instruction (a kick before the step completes runs it again). */
export function stepResetVector(vcpu: Vcpu): ResetStep {
  const before = vcpu.fetchPoint();
  if (!vcpu.setSingleStep(true)) return { stepped: false, before };
  let kind = vcpu.run();
  while (kind === ExitKind.Interrupted) {
    vcpu.setImmediateExit(false);
    kind = vcpu.run();
  }
  vcpu.setSingleStep(false);
  if (kind !== ExitKind.Debug) return { stepped: true, exit: ExitKind[kind], before };
  return { stepped: true, exit: ExitKind[ExitKind.Debug], before, after: vcpu.fetchPoint() };
}

/**
 * The milestone event for a completed step, or the E_GUEST error naming why the first fetch failed.
 * `regionAt` names what the memory map has at a guest-physical address.
 */
export function judgeResetStep(step: ResetStep, regionAt: (gpa: number) => string | undefined, quirks: readonly QuirkName[]): Record<string, unknown> {
  const gpa = step.before.csBase + step.before.rip;
  const region = regionAt(gpa);
  if (!step.stepped) return { event: 'milestone', name: 'reset-vector', detail: 'single-step unavailable', gpa, region: region ?? null };
  if (step.exit !== ExitKind[ExitKind.Debug]) {
    const what = region ? `region ${region}` : 'nothing is mapped there';
    throw new BootgateError(
      'E_GUEST',
      `first instruction fetch at the reset vector gpa 0x${gpa.toString(16)} failed (exit ${step.exit}): ${what}` +
        (region ? '' : '; the firmware must be mapped so that it ends at 4 GiB'),
      {
        hint: region
          ? undefined
          : quirks.includes('no-high-bios-copy') || quirks.includes('vmd-low-bios-only')
            ? 'drop --quirk no-high-bios-copy / vmd-low-bios-only (they remove the high copy on purpose)'
            : quirks.includes('romd-unmapped')
              ? 'drop --quirk romd-unmapped (it leaves the pflash unmapped on purpose)'
              : 'map the firmware image at 4 GiB - size',
      },
    );
  }
  return { event: 'milestone', name: 'reset-vector', gpa, expected: RESET_VECTOR, region: region ?? null, before: step.before, after: step.after };
}
