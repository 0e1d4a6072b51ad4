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

declare module 'vitest' {
  interface TaskMeta {
    bootgate?: BootgateTestMeta;
  }
}
