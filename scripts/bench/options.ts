// `npm run bench` options: parsed strictly, a bad value is an E_CONFIG naming the option and the
// value received.

import { parseArgs } from 'node:util';
import { DEFAULT_PIO_ITERATIONS } from '../../guests/bench/build.js';
import { BootgateError, configError } from '../../vmm/errors.js';
import { COMPARISONS, type ComparisonName } from './plan.js';

const COMPARISON_NAMES = Object.keys(COMPARISONS) as ComparisonName[];

/** Port-0x80 writes per PIO run inside the nested lab, where one exit costs ~10x a native one. */
export const LAB_PIO_ITERATIONS = 10_000;
/** The least samples per stack for the own/QEMU Debian comparison at SMP 1. */
export const LINUX_MIN_SAMPLES = 3;

export const USAGE = `usage: node dist/scripts/bench.js [--json FILE] [--only LIST] [--runs N] [--linux-runs N] [--iterations N] [--seabios FILE] [--baseline REF]
  --json FILE       also write every figure as [{name, value, unit, target}]
  --only LIST       only these comparisons, comma-separated: ${COMPARISON_NAMES.join(', ')} (the lab's own
                    start is then not measured); default all
  --runs N          runs per stack of the PIO and reset-vector comparisons, alternating (default 3)
  --linux-runs N    runs per stack of the Debian reset-to-init comparisons (own VMM and QEMU at
                    SMP 1 and SMP 8 through SeaBIOS, the AP hand-over figures; SMP 1 through OVMF,
                    in the nested lab under its patched QEMU; the debian-disk image to its login
                    prompt at SMP 1 and 8, in the nested lab under its patched QEMU); default ${LINUX_MIN_SAMPLES}, the
                    least the own/QEMU SMP 1 ratio takes; 0 leaves them out
  --iterations N    port-0x80 writes in the PIO guest (default ${DEFAULT_PIO_ITERATIONS}, ${LAB_PIO_ITERATIONS} in the nested lab)
  --seabios FILE    SeaBIOS image for the reset-vector boots of both stacks (default: fixture
                    seabios-256k); must be visible inside the lab (not below /tmp)
  --baseline REF    also build the own VMM at git REF (a worktree under reports/out/bench/, this
                    checkout's node_modules, tsc) and run its Debian SMP 8 boots beside this
                    tree's in the same place: hand-over latency and reset-to-init before/after
All boots of a run share one /dev/kvm: this host's when it runs Linux guests, else one nested lab
VM (QEMU TCG, kvm-amd inside) holds the own VMM, QEMU and the C loop alike.`;

export interface BenchOptions {
  help: boolean;
  json: string | null;
  /** null: the default for where the boots run. */
  iterations: number | null;
  runs: number;
  seabios: string | null;
  /** Runs of the Debian comparison; 0 leaves it out. */
  linuxRuns: number;
  /** --baseline REF, or null. */
  baseline: string | null;
  /** --only: these comparisons; null, every one. */
  only: ComparisonName[] | null;
}

function onlyOption(raw: string | undefined): ComparisonName[] | null {
  if (raw === undefined) return null;
  const names = raw.split(',').map((n) => n.trim());
  const bad = names.filter((n) => !(COMPARISON_NAMES as string[]).includes(n));
  if (names.length === 0 || bad.length > 0) throw configError('--only', raw, `comparisons from ${COMPARISON_NAMES.join(', ')}, comma-separated`);
  return [...new Set(names as ComparisonName[])];
}

function intOption(option: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) throw configError(option, raw, `an integer in [${min}, ${max}]`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'string' },
        only: { type: 'string' },
        iterations: { type: 'string' },
        runs: { type: 'string' },
        seabios: { type: 'string' },
        'linux-runs': { type: 'string' },
        baseline: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    throw new BootgateError('E_CONFIG', (err as Error).message, { hint: USAGE.split('\n')[0]!, cause: err });
  }
  const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
  const iterations = str(values.iterations);
  const baseline = str(values.baseline);
  if (baseline !== undefined && (baseline === '' || baseline.startsWith('-'))) throw configError('--baseline', baseline, 'a git ref (branch, tag or commit)');
  const linuxRuns = intOption('--linux-runs', str(values['linux-runs']), LINUX_MIN_SAMPLES, 0, 20);
  if (baseline !== undefined && linuxRuns === 0) {
    throw new BootgateError('E_CONFIG', `--baseline ${baseline} compares the Debian SMP 8 boots, which --linux-runs 0 leaves out`, { hint: 'drop --linux-runs 0, or --baseline' });
  }
  const only = onlyOption(str(values.only));
  if (baseline !== undefined && only !== null && !only.includes('linux')) {
    throw new BootgateError('E_CONFIG', `--baseline ${baseline} compares the Debian SMP 8 boots, which --only ${only.join(',')} leaves out`, { hint: 'add linux to --only, or drop --baseline' });
  }
  return {
    help: values.help === true,
    json: str(values.json) ?? null,
    iterations: iterations === undefined ? null : intOption('--iterations', iterations, 0, 2, 0xffff_ffff),
    runs: intOption('--runs', str(values.runs), 3, 1, 100),
    seabios: str(values.seabios) ?? null,
    linuxRuns,
    baseline: baseline ?? null,
    only,
  };
}
