// `npm run fuzz -- [--ops N] [--seed S] [--device NAME]... [--max-steps K]`: property-based fuzzing
// of every device model of the own VMM through its bus (vmm/fuzz/), N ops per device, and a line
// per device with its ops/s and what was found. A failing sequence is shrunk and printed as the
// guest instructions that reproduce it, with the seed and path that replay it.
// Exits 1 on any finding (escape, out-of-bounds, state), 2 for bad options.

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEVICE_MODELS } from '../vmm/fuzz/models.js';
import { fuzzModel, type ModelReport } from '../vmm/fuzz/run.js';

const DEFAULT_OPS = 100_000;
const DEFAULT_MAX_STEPS = 256;

export const USAGE = `usage: npm run fuzz -- [--ops N] [--seed S] [--device NAME]... [--max-steps K]
  --ops N         guest operations per device model (default ${DEFAULT_OPS})
  --seed S        fast-check seed (default: random, printed so the run can be replayed)
  --device NAME   only this model; repeatable. Models: ${DEVICE_MODELS.map((m) => m.name).join(', ')}
  --max-steps K   longest generated sequence in steps (default ${DEFAULT_MAX_STEPS}; a step is one op or a short protocol sequence)
Exit 1 on any escape, out-of-bounds access or state finding.`;

export interface FuzzCliOptions {
  help: boolean;
  ops: number;
  seed: number;
  devices: string[];
  maxSteps: number;
}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number, example: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || n < min || n > max) throw new TypeError(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)} (fix: ${name} ${example})`);
  return n;
}

/** Throws a TypeError naming the bad option and its fix. */
export function parseFuzzArgs(argv: string[], randomSeed = () => Math.floor(Math.random() * 2 ** 31)): FuzzCliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ops: { type: 'string' },
        seed: { type: 'string' },
        device: { type: 'string', multiple: true },
        'max-steps': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (e) {
    throw new TypeError(`${(e as Error).message} (fix: see --help)`);
  }
  const v = parsed.values;
  const known = new Set(DEVICE_MODELS.map((m) => m.name));
  const devices = (v.device ?? []).flatMap((d) => d.split(',')).map((d) => d.trim()).filter(Boolean);
  for (const d of devices) {
    if (!known.has(d)) throw new TypeError(`unknown device model ${JSON.stringify(d)} (fix: one of ${[...known].join(', ')})`);
  }
  return {
    help: v.help ?? false,
    ops: integer('--ops', v.ops, DEFAULT_OPS, 1, 1e9, '1000000'),
    seed: integer('--seed', v.seed, randomSeed(), -(2 ** 31), 2 ** 31 - 1, '42'),
    devices,
    maxSteps: integer('--max-steps', v['max-steps'], DEFAULT_MAX_STEPS, 1, 100_000, '256'),
  };
}

function n(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

export function formatReport(r: ModelReport): string {
  const found = r.escapes + r.outOfBounds + r.stateFindings;
  return (
    `${r.device.padEnd(13)} ${n(r.ops).padStart(11)} ops in ${r.seconds.toFixed(1).padStart(6)} s = ${n(r.opsPerSecond).padStart(7)} ops/s; ` +
    `${r.escapes} escapes, ${r.outOfBounds} out-of-bounds, ${r.stateFindings} state; DMA ${n(r.dmaTransfers)} run, ${n(r.dmaRefused)} refused; ${n(r.misuses)} misuse counted` +
    (found ? '  FAILED' : '')
  );
}

export function main(argv: string[]): number {
  let o: FuzzCliOptions;
  try {
    o = parseFuzzArgs(argv);
  } catch (e) {
    console.error(`fuzz: ${(e as Error).message}`);
    return 2;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const models = DEVICE_MODELS.filter((m) => o.devices.length === 0 || o.devices.includes(m.name));
  console.log(`fuzz: ${n(o.ops)} ops per device model, seed ${o.seed}, sequences up to ${o.maxSteps} steps`);
  const reports: ModelReport[] = [];
  for (const m of models) {
    const r = fuzzModel(m, { ops: o.ops, seed: o.seed, maxSteps: o.maxSteps });
    reports.push(r);
    console.log(`fuzz: ${formatReport(r)}`);
    if (r.counterexample) console.log(r.counterexample.replace(/^/gm, '    '));
  }
  const failed = reports.filter((r) => r.counterexample !== undefined);
  const total = reports.reduce((s, r) => s + r.ops, 0);
  const seconds = reports.reduce((s, r) => s + r.seconds, 0);
  console.log(
    `fuzz: ${failed.length ? 'FAILED' : 'passed'}: ${reports.length} device models, ${n(total)} ops in ${seconds.toFixed(0)} s; ` +
      `${failed.length ? `findings in ${failed.map((r) => r.device).join(', ')}; ` : ''}replay with --seed ${o.seed}`,
  );
  return failed.length ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
