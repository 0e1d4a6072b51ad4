// What a conformance test attaches to its vitest task (`task.meta.bootgate`) so the JUnit
// reporter can write one testcase per (suite, target, guest, SMP) with its properties.

export interface SkippedAssertion {
  /** The assertion that could not be observed, e.g. "exact injected interrupt count". */
  assertion: string;
  reason: string;
}

export interface BootgateTestMeta {
  suite: string; // e.g. "reset-vector"
  target: string; // e.g. "vmm:kvm", "qemu:tcg", "vmm:kvm@lab"
  guest: string; // e.g. "seabios-256k"
  smp: number;
  quirks: string[];
  /** Flat properties: milestones (`milestone.<name>.ms`), exit profile (`exits.*`, `time.*.pct`), ports. */
  properties: Record<string, string | number | boolean>;
  skipped: SkippedAssertion[];
  /** Serial console tail; written to system-out on failure. */
  serialTail?: string;
  /** Diagnostic text (registers, last exits) on failure. */
  diagnostic?: string;
  /**
   * The verdict comes from a rerun after an infrastructure fault: JUnit marks the testcase flaky
   * (with the first attempt's reason and evidence) and the summary lists it.
   */
  flaky?: { reason: string; firstAttempt: string; attempts: number };
}

/**
 * Skip notes that mean the run left a testcase out that a complete run has: `ctx.skip(note)` with
 * one of these prefixes. The summary calls such a run incomplete and `npm run conformance` exits
 * non-zero for it, unless every one was an explicit opt-out. Any other skip note means the target
 * cannot observe the thing (qemu:tcg has no quirk switches): not applicable, not missing.
 */
export const NOT_RUN_OPT_OUT = 'opted out: ';
export const NOT_RUN_CANNOT = 'cannot run on this host: ';

export interface NotRun {
  /** An explicit opt-out (BOOTGATE_LINUX=0), as opposed to a host that cannot run the testcase. */
  optOut: boolean;
  reason: string;
}

/** The not-run verdict a skip note carries, or undefined for an ordinary skip. */
export function notRunOf(note: string | undefined): NotRun | undefined {
  if (note?.startsWith(NOT_RUN_OPT_OUT)) return { optOut: true, reason: note.slice(NOT_RUN_OPT_OUT.length) };
  if (note?.startsWith(NOT_RUN_CANNOT)) return { optOut: false, reason: note.slice(NOT_RUN_CANNOT.length) };
  return undefined;
}

declare module 'vitest' {
  interface TaskMeta {
    bootgate?: BootgateTestMeta;
  }
}
