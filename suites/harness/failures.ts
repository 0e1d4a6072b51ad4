// Named failures: a checker returns every good-run assertion that did not hold, each with its
// message, so the good testcase expects none and a known-bad (quirk) testcase expects exactly the
// assertion named for its bug among them. The teeth properties carry that verdict into JUnit.

export interface Failure {
  /** The good-run assertion that did not hold, e.g. "per round the device raised = fired = handled". */
  assertion: string;
  message: string;
}

export function failuresOf(failures: readonly Failure[], assertion: string): Failure[] {
  return failures.filter((f) => f.assertion === assertion);
}

/** One line per failure, for an expect() message. */
export function formatFailures(failures: readonly Failure[]): string {
  return failures.map((f) => `[${f.assertion}] ${f.message}`).join('\n');
}

/**
 * The JUnit properties of a quirk testcase: which seed the quirk reproduces (listed in
 * docs/seeds.md), the good-run assertion that caught it and its message (the first one
 * when it failed more than once; "did not fail" when the quirk slipped through).
 */
export function teethProperties(seed: string, assertion: string, failures: readonly Failure[]): Record<string, string> {
  const hit = failuresOf(failures, assertion);
  return {
    'teeth.seed': seed,
    'teeth.assertion': assertion,
    'teeth.message': hit.length > 0 ? hit.map((f) => f.message).join(' | ').slice(0, 2000) : 'did not fail',
  };
}

/** The seeds the quirks reproduce (docs/seeds.md). */
export const SEEDS = {
  romd: '000_7147cffb76cb6dcd.txt',
  vmd: '001_b2898562d0f1ef87.txt',
  bhyve: '002_35dec85a0a72e2f0.txt',
  aperture: '004_67ef80f8d65689d0.txt',
} as const;
