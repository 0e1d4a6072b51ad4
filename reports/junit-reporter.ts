// The vitest reporter behind a run's report files: at the end of the run it writes
// `<outputDir>/junit.xml` (junit-report-builder) and `<outputDir>/summary.md` beside it.
// It implements only onInit (for the root outputDir is relative to) and onTestRunEnd, ends the
// run's output with its totals, flaky testcases and the report paths (summary.ts runEndLines), and it
// never fails the run: a reporter error becomes one warning line on stderr (Playwright's
// reporters/multiplexer.ts does the same for the same reason).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Reporter } from 'vitest/node';
import { configError } from '../vmm/errors.js';
import { collectGroups, type ReportError, type ReportModule } from './collect.js';
import { assignIdentities } from './identity.js';
import { buildJunitXml } from './junit-xml.js';
import { renderSummary, runEndLines } from './summary.js';

export interface BootgateJunitOptions {
  /** Where junit.xml and summary.md go; relative paths resolve against vitest's root. Default `reports/out`. */
  outputDir?: string;
  /**
   * Write system-out (serial tail, diagnostic) for passing conformance tests too. Default: on when
   * the BOOTGATE_JUNIT_ALWAYS_OUTPUT environment variable is set to anything but `0`/`false`.
   */
  alwaysOutput?: boolean;
}

export const DEFAULT_OUTPUT_DIR = 'reports/out';
export const ALWAYS_OUTPUT_ENV = 'BOOTGATE_JUNIT_ALWAYS_OUTPUT';

export class BootgateJunitReporter implements Reporter {
  readonly #outputDir: string;
  readonly #alwaysOutput: boolean | undefined;
  #root = process.cwd();

  constructor(options: BootgateJunitOptions = {}) {
    const { outputDir = DEFAULT_OUTPUT_DIR, alwaysOutput } = options;
    if (typeof outputDir !== 'string' || outputDir === '') {
      throw configError('outputDir', outputDir, 'a non-empty directory path');
    }
    if (alwaysOutput !== undefined && typeof alwaysOutput !== 'boolean') {
      throw configError('alwaysOutput', alwaysOutput, 'a boolean');
    }
    this.#outputDir = outputDir;
    this.#alwaysOutput = alwaysOutput;
  }

  onInit(vitest: { readonly config: { readonly root: string } }): void {
    this.#root = vitest.config.root;
  }

  onTestRunEnd(modules: ReadonlyArray<ReportModule>, unhandledErrors: ReadonlyArray<ReportError>): void {
    const dir = resolve(this.#root, this.#outputDir);
    try {
      const groups = collectGroups(modules, unhandledErrors);
      // A duplicate identity is the gate's own bug: fail that testcase in both reports and say so.
      for (const line of assignIdentities(groups)) process.stderr.write(`bootgate junit reporter: ${line}\n`);
      const alwaysOutput = this.#alwaysOutput ?? envFlag(process.env[ALWAYS_OUTPUT_ENV]);
      const xml = buildJunitXml(groups, { alwaysOutput });
      const rows = groups.flatMap((g) => g.cases);
      const summary = renderSummary(rows);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'junit.xml'), xml);
      writeFileSync(join(dir, 'summary.md'), summary);
      process.stdout.write(`${runEndLines(rows, [join(dir, 'junit.xml'), join(dir, 'summary.md')]).join('\n')}\n`);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      process.stderr.write(`bootgate junit reporter: no report written to ${dir}: ${reason.split('\n', 1)[0]}\n`);
    }
  }
}

function envFlag(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

export default BootgateJunitReporter;
