// `npm run bench`: prepares what the boots need, runs them where the compared stacks share one
// /dev/kvm (where.ts), measures the lab's own start on the host, and prints the figures side by
// side with the failures. Exit 0 when every promised figure is there (targets missed or not),
// 1 when a measurement could not be made (each one named with its reason).

import { writeFile } from 'node:fs/promises';
import { repoRoot } from '../../fixtures/fixtures.js';
import { measureLabFirstOutput } from '../../lab/first-output.js';
import { alternate, failuresOf, guarded, type Part } from './figures.js';
import { type BenchOptions, parseOptions, USAGE } from './options.js';
import { prepare } from './prepare.js';
import { jsonRows, printReport } from './print.js';
import { allFailures, benchFigures, labFigures, promisedFigures } from './report.js';
import { measureWhereKvmRunsLinux, pioWhere, type Where, whereToRun } from './where.js';

const LAB_START = 'bootgate lab start to first output line';

/** `bootgate lab -- echo` from spawn to its first output line, `runs` times (on the host). */
async function benchLabStart(runs: number): Promise<Part> {
  const [lab] = await alternate(runs, [{ label: 'bootgate lab', run: () => measureLabFirstOutput(), show: (s) => `first output line at ${s.firstLineMs.toFixed(0)} ms` }]);
  return { figures: labFigures(lab!.samples.map((s) => s.firstLineMs)), failures: failuresOf([lab!], LAB_START, runs) };
}

/** Prints the report, a missing promised figure included; returns the exit code. */
export function finish(opts: Pick<BenchOptions, 'runs' | 'linuxRuns' | 'baseline' | 'only'>, where: Where, part: Part, pio: Where = where): number {
  const failures = allFailures(promisedFigures(opts), part);
  printReport({ ...opts, where, pio }, part.figures, failures);
  return failures.length > 0 ? 1 : 0;
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const root = repoRoot();
  const where = whereToRun();
  const pio = pioWhere(where);
  const { plan, baseline } = await prepare(root, opts, where, pio);
  try {
    const boots = await guarded('the boots', async () => benchFigures(await measureWhereKvmRunsLinux(root, plan, where, pio), opts, plan.iterations));
    // --only names comparisons of boots; the lab's own start is measured with all of them.
    const lab: Part = opts.only === null ? await guarded(LAB_START, () => benchLabStart(opts.runs)) : { figures: [], failures: [] };
    const part: Part = { figures: [...boots.figures, ...lab.figures], failures: [...boots.failures, ...lab.failures] };
    const code = finish(opts, where, part, pio);
    if (opts.json) await writeFile(opts.json, `${JSON.stringify(jsonRows(part.figures), null, 2)}\n`);
    return code;
  } finally {
    await baseline?.remove();
  }
}
