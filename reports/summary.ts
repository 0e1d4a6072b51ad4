// The readable half of a run's report (the README's Reports section): summary.md beside junit.xml.
// A header (date, host, totals with the flaky count, and "incomplete: N testcases not run" when
// the run left some out), one table row per conformance testcase, a boot-time bar chart, the
// targets side by side (boot-attempt ms per target for the same suite/guest/SMP, and the ratio to
// the reference target, the own VMM when it ran), the teeth (each known-bad run: quirk, seed, the
// good-run assertion that caught it, its message), the flaky testcases (passed only on a rerun:
// never counted as a plain pass), then the failures and the skipped assertions. Pure: the date
// and host come in `context`, so the same rows always render the same text.

import { cpus, machine, release, type } from 'node:os';
import { type BootgateTestMeta, notRunOf } from '../suites/harness/meta.js';
import type { MilestoneName } from '../vmm/events.js';
import { conformanceCaseName } from './identity.js';

/** One finished vitest test case, as the summary sees it. */
export interface SummaryRow {
  /** vitest project name (`unit`, `conformance`); empty when the config has no projects. */
  project: string;
  /** Test file relative to the project root. */
  file: string;
  /** vitest full name: describe blocks and the test name joined with ` > `. */
  name: string;
  result: 'passed' | 'failed' | 'skipped';
  /** vitest's duration of the test; 0 when it did not run. */
  durationMs: number;
  /** Failed: `<error name>: <first line of the message>` of the first error. */
  error?: string;
  /** Skipped: the note given to `ctx.skip(note)`, else the mode (`skip`, `todo`). */
  skipReason?: string;
  /** Present when the test attached `task.meta.bootgate`; such rows make the table and chart. */
  bootgate?: BootgateTestMeta;
}

export interface SummaryContext {
  date: Date;
  /** uname-like: `Linux 6.8.0-45-generic x86_64`. */
  host: string;
  cpus: number;
}

/** The context of this process: now, this host. */
export function currentSummaryContext(): SummaryContext {
  return { date: new Date(), host: `${type()} ${release()} ${machine()}`, cpus: cpus().length };
}

/** Milestones with their own table column, in boot order. */
const TABLE_MILESTONES: readonly MilestoneName[] = ['reset-vector', 'firmware-banner', 'boot-attempt'];
/** Bars are this many cells wide at the maximum; a cell is split into eighths. */
const CHART_WIDTH = 40;
const PARTIAL_BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const FULL_BLOCK = '█';
const MISSING = '—';

type BootRow = SummaryRow & { bootgate: BootgateTestMeta };

export function renderSummary(rows: SummaryRow[], context: SummaryContext = currentSummaryContext()): string {
  const boot = rows.filter((r): r is BootRow => r.bootgate !== undefined).sort(byIdentity);
  const out: string[] = ['# bootgate run summary', ''];
  out.push(...renderHeader(rows, boot, context), '');
  out.push('## Verdicts by suite, target and SMP', '', ...renderVerdicts(boot), '');
  out.push('## Conformance testcases', '', ...renderTable(boot), '');
  out.push('## Boot time', '', ...renderChart(boot), '');
  out.push('## Targets side by side', '', ...renderComparison(boot), '');
  out.push('## Teeth (known-bad runs)', '', ...renderTeeth(boot), '');
  out.push('## Flaky (passed only on a rerun)', '', ...renderFlaky(boot), '');
  out.push('## Failures', '', ...renderFailures(rows), '');
  out.push('## Skipped assertions', '', ...renderSkipped(boot));
  return `${out.join('\n')}\n`;
}

function renderHeader(rows: SummaryRow[], boot: BootRow[], context: SummaryContext): string[] {
  const other = rows.filter((r) => r.bootgate === undefined);
  const lines = [
    `- date: ${context.date.toISOString()}`,
    `- host: ${context.host}, ${context.cpus} CPU${context.cpus === 1 ? '' : 's'}`,
    `- totals: ${counts(rows)} (conformance testcases: ${counts(boot)}; other tests: ${counts(other)})`,
  ];
  const incomplete = incompleteLine(rows);
  if (incomplete !== undefined) lines.push(`- **${incomplete}**`);
  return lines;
}

/**
 * The lines a run ends with on the terminal: the totals, "incomplete" when testcases were not run,
 * each flaky testcase with its first attempt's reason and evidence (a pass on a rerun must be seen
 * where people look, not only in the files), the verdict grid, and where the reports are.
 */
export function runEndLines(rows: SummaryRow[], reportFiles: readonly string[]): string[] {
  const boot = rows.filter((r): r is BootRow => r.bootgate !== undefined).sort(byIdentity);
  const lines = [`bootgate: ${counts(rows)}`];
  const incomplete = incompleteLine(rows);
  if (incomplete !== undefined) lines.push(`bootgate: ${incomplete}`);
  for (const row of boot.filter(isFlaky)) {
    const f = row.bootgate.flaky!;
    lines.push(`bootgate: FLAKY ${identity(row)}: passed on attempt ${f.attempts}; first attempt: ${f.reason}; evidence: ${f.firstAttempt}`);
  }
  const grid = verdictGrid(rows);
  if (grid.length > 0) {
    const widths = grid[0]!.map((_, i) => Math.max(...grid.map((r) => r[i]!.length)));
    lines.push('bootgate: verdicts', ...grid.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}`));
  }
  lines.push(`bootgate: reports: ${reportFiles.join(', ')}`);
  return lines;
}

/**
 * The gate's verdict grid: one row per suite and target, a column per SMP (its good runs: `ok`,
 * `FAILED k/n`, `flaky`, `not run`), the known-bad runs caught, and how many assertions the target
 * could not observe (each listed in the summary's "Skipped assertions").
 */
export function verdictGrid(rows: SummaryRow[]): string[][] {
  const boot = rows.filter((r): r is BootRow => r.bootgate !== undefined);
  if (boot.length === 0) return [];
  const smps = [...new Set(boot.filter((r) => !isKnownBad(r)).map((r) => r.bootgate.smp))].sort((a, b) => a - b);
  const groups = new Map<string, BootRow[]>();
  for (const row of boot) {
    const key = `${row.bootgate.suite}\u0000${row.bootgate.target}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const grid = [['suite', 'target', ...smps.map((n) => `SMP ${n}`), 'known-bad caught', 'not observable']];
  for (const [key, group] of [...groups].sort(([a], [b]) => compare(a, b))) {
    const [suite, target] = key.split('\u0000') as [string, string];
    const good = group.filter((r) => !isKnownBad(r));
    const bad = group.filter(isKnownBad);
    const cells = smps.map((smp) => verdictCell(good.filter((r) => r.bootgate.smp === smp)));
    const ran = bad.filter((r) => r.result !== 'skipped');
    const caught = ran.filter((r) => r.result === 'passed').length;
    // "not run k" for known-bad runs this host could not run; "n/a" when none ran because the target has no such switch (QEMU and quirks).
    const notRun = bad.filter((r) => r.result === 'skipped' && notRunOf(r.skipReason) !== undefined).length;
    const caughtCell = ran.length === 0 ? undefined : caught === ran.length ? `${caught}/${ran.length}` : `MISSED ${ran.length - caught}/${ran.length}`;
    const badCell =
      bad.length === 0 ? MISSING : [caughtCell, notRun > 0 ? `not run ${notRun}` : undefined].filter(Boolean).join(', ') || 'n/a';
    const unobserved = new Set(group.flatMap((r) => r.bootgate.skipped.map((x) => x.assertion)));
    grid.push([suite, target, ...cells, badCell, unobserved.size === 0 ? MISSING : String(unobserved.size)]);
  }
  return grid;
}

function isKnownBad(row: BootRow): boolean {
  return row.bootgate.quirks.length > 0 && truthy(row.bootgate.properties['expected.failure']);
}

function verdictCell(rows: BootRow[]): string {
  if (rows.length === 0) return MISSING;
  const failed = rows.filter((r) => r.result === 'failed').length;
  const flaky = rows.filter(isFlaky).length;
  const skipped = rows.filter((r) => r.result === 'skipped');
  const notRun = skipped.filter((r) => notRunOf(r.skipReason) !== undefined).length;
  const ran = rows.length - skipped.length;
  const parts: string[] = [];
  if (failed > 0) parts.push(`FAILED ${failed}/${ran}`);
  else if (ran > 0) parts.push('ok');
  if (flaky > 0) parts.push(`flaky ${flaky}`);
  if (notRun > 0) parts.push(`not run ${notRun}`);
  if (skipped.length - notRun > 0) parts.push(`n/a ${skipped.length - notRun}`);
  return parts.join(', ');
}

function renderVerdicts(boot: BootRow[]): string[] {
  const grid = verdictGrid(boot);
  if (grid.length === 0) return ['_No conformance testcase ran._'];
  return [
    'Per suite and target: each SMP\'s good runs (`ok`, `FAILED k/n`, `flaky`, `not run` on this host, `n/a` where the target cannot build the case), the known-bad runs whose bug was caught, and how many assertions the target could not observe (listed under "Skipped assertions").',
    '',
    tableLine(grid[0]!),
    tableLine(grid[0]!.map(() => '---')),
    ...grid.slice(1).map(tableLine),
  ];
}

/** A flaky testcase passed only on a rerun: counted apart, never as a plain pass. */
export function isFlaky(row: SummaryRow): boolean {
  return row.result === 'passed' && row.bootgate?.flaky !== undefined;
}

function counts(rows: SummaryRow[]): string {
  const n = (result: SummaryRow['result']) => rows.filter((r) => r.result === result && !isFlaky(r)).length;
  return `${n('passed')} passed, ${rows.filter(isFlaky).length} flaky, ${n('failed')} failed, ${n('skipped')} skipped`;
}

/**
 * `incomplete: N testcases not run (reason; ...)` when the run left out testcases a complete run
 * has (meta.ts NOT_RUN_*), with `(opted out)` when every one was an explicit opt-out.
 */
export function incompleteLine(rows: SummaryRow[]): string | undefined {
  const reasons = new Map<string, number>();
  let optedOut = true;
  for (const row of rows) {
    const notRun = row.result === 'skipped' ? notRunOf(row.skipReason) : undefined;
    if (notRun === undefined) continue;
    optedOut &&= notRun.optOut;
    reasons.set(notRun.reason, (reasons.get(notRun.reason) ?? 0) + 1);
  }
  if (reasons.size === 0) return undefined;
  const total = [...reasons.values()].reduce((a, b) => a + b, 0);
  const why = reasons.size === 1 ? [...reasons.keys()][0]! : [...reasons].map(([reason, n]) => `${n}: ${reason}`).join('; ');
  return `incomplete: ${total} testcase${total === 1 ? '' : 's'} not run (${why})${optedOut ? ' (opted out)' : ''}`;
}

function renderTable(boot: BootRow[]): string[] {
  if (boot.length === 0) return ['_No conformance testcases in this run._'];
  const header = [
    'suite',
    'target',
    'guest',
    'SMP',
    'result',
    'wall ms',
    ...TABLE_MILESTONES.map((m) => `${m} ms`),
    'exits',
    'vCPU run %',
    'PIO %',
    'MMIO %',
    'hottest ports',
    'hottest MMIO regions',
    'quirks',
  ];
  const lines = [tableLine(header), tableLine(header.map(() => '---'))];
  for (const row of boot) {
    const m = row.bootgate;
    const p = m.properties;
    lines.push(
      tableLine([
        m.suite,
        m.target,
        m.guest,
        String(m.smp),
        row.result === 'failed' ? '**failed**' : isFlaky(row) ? '**flaky**' : row.result,
        formatMs(p['wall.ms']),
        ...TABLE_MILESTONES.map((name) => formatMs(p[`milestone.${name}.ms`])),
        formatCount(p['exits.total']),
        formatPct(p['time.vcpu-run.pct']),
        formatPct(p['time.pio.pct']),
        formatPct(p['time.mmio.pct']),
        hottestPorts(p),
        hottest(p, 'region'),
        m.quirks.length > 0 ? m.quirks.join(', ') : 'none',
      ]),
    );
  }
  return lines;
}

function tableLine(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|')).join(' | ')} |`;
}

/** `port.1..3` (`0x402:5100:12.3ms`, hottest first) as `0x402×5100, 0x80×12`. */
function hottestPorts(p: BootgateTestMeta['properties']): string {
  return hottest(p, 'port');
}

/** `<kind>.1..3` (`port.1` = `0x402:5100:12.3ms`, `region.1` = `pflash-vars:30703:1.1ms`) as `0x402×5100, ...`. */
function hottest(p: BootgateTestMeta['properties'], kind: 'port' | 'region'): string {
  const out: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const value = p[`${kind}.${i}`];
    if (value === undefined) continue;
    const [name, count] = String(value).split(':');
    out.push(count === undefined ? String(value) : `${name}×${count}`);
  }
  return out.length > 0 ? out.join(', ') : MISSING;
}

function numeric(value: string | number | boolean | undefined): number | undefined {
  if (value === undefined || typeof value === 'boolean' || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function formatMs(value: string | number | boolean | undefined): string {
  const n = numeric(value);
  if (n === undefined) return MISSING;
  return Number.isInteger(n) || n >= 100 ? String(Math.round(n)) : n.toFixed(1);
}

function formatCount(value: string | number | boolean | undefined): string {
  const n = numeric(value);
  return n === undefined ? MISSING : String(Math.round(n));
}

function formatPct(value: string | number | boolean | undefined): string {
  const n = numeric(value);
  return n === undefined ? MISSING : n.toFixed(1);
}

interface BootTime {
  label: string;
  ms: number;
  milestone: string;
}

/**
 * Where a boot is judged to have ended, best first: a Linux system's login prompt, a Linux guest's
 * init, firmware's boot attempt. A boot that reached none is timed to its latest milestone.
 */
export const BOOT_END_MILESTONES = ['login', 'init', 'boot-attempt'] as const;

/** The first of BOOT_END_MILESTONES reached, else the latest milestone reached; undefined with no milestones. */
function bootTime(row: BootRow): BootTime | undefined {
  const p = row.bootgate.properties;
  const label = identity(row);
  for (const milestone of BOOT_END_MILESTONES) {
    const ms = numeric(p[`milestone.${milestone}.ms`]);
    if (ms !== undefined) return { label, ms, milestone };
  }
  let last: BootTime | undefined;
  for (const [key, value] of Object.entries(p)) {
    const match = /^milestone\.(.+)\.ms$/.exec(key);
    const ms = numeric(value);
    if (match && ms !== undefined && (last === undefined || ms >= last.ms)) last = { label, ms, milestone: match[1]! };
  }
  return last;
}

function renderChart(boot: BootRow[]): string[] {
  const times = boot.map(bootTime).filter((t): t is BootTime => t !== undefined);
  if (times.length === 0) return ['_No boot milestones recorded._'];
  const max = Math.max(...times.map((t) => t.ms));
  const labelWidth = Math.max(...times.map((t) => t.label.length));
  const lines = times.map((t) => {
    const note = t.milestone === 'boot-attempt' ? '' : ` (${t.milestone})`;
    return `${t.label.padEnd(labelWidth)} │${bar(t.ms, max)} ${formatMs(t.ms)} ms${note}`;
  });
  return ['Time to `login` (a Linux system), `init` (a Linux guest) or `boot-attempt` (firmware), else the last milestone reached, scaled to the slowest.', '', '```text', ...lines, '```'];
}

function bar(value: number, max: number): string {
  if (max <= 0 || value <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * CHART_WIDTH * 8));
  return FULL_BLOCK.repeat(Math.floor(eighths / 8)) + PARTIAL_BLOCKS[eighths % 8];
}

/** The target the others are compared with: the own VMM on KVM, else any own-VMM target, else the first. */
function referenceTarget(targets: string[]): string {
  return targets.find((t) => t === 'vmm:kvm') ?? targets.find((t) => t.startsWith('vmm:')) ?? targets[0]!;
}

/**
 * One row per suite/guest/SMP/quirks that ran on two or more targets: the time to the boot's end
 * (the best of BOOT_END_MILESTONES any of them reached, the same one for every target) per target,
 * and the ratios to the reference.
 */
function renderComparison(boot: BootRow[]): string[] {
  const groups = new Map<string, Map<string, BootgateTestMeta['properties']>>();
  const keys = new Map<string, BootgateTestMeta>();
  for (const row of boot) {
    const m = row.bootgate;
    const key = JSON.stringify([m.suite, m.guest, m.smp, m.quirks]);
    keys.set(key, m);
    const byTarget = groups.get(key) ?? new Map<string, BootgateTestMeta['properties']>();
    if (!byTarget.has(m.target)) byTarget.set(m.target, m.properties);
    groups.set(key, byTarget);
  }
  const ends = new Map<string, { milestone: string; byTarget: Map<string, number | undefined> }>();
  for (const [key, byTarget] of groups) {
    const milestone = BOOT_END_MILESTONES.find((name) => [...byTarget.values()].some((p) => numeric(p[`milestone.${name}.ms`]) !== undefined)) ?? 'boot-attempt';
    ends.set(key, { milestone, byTarget: new Map([...byTarget].map(([t, p]) => [t, numeric(p[`milestone.${milestone}.ms`])])) });
  }
  const compared = [...ends]
    .map(([key, e]) => [key, e.byTarget, e.milestone] as const)
    .filter(([, byTarget]) => byTarget.size >= 2 && [...byTarget.values()].some((ms) => ms !== undefined))
    .sort(([a], [b]) => {
      const x = keys.get(a)!;
      const y = keys.get(b)!;
      return compare(x.suite, y.suite) || compare(x.guest, y.guest) || x.smp - y.smp || compare(a, b);
    });
  if (compared.length === 0) return ['_No suite, guest and SMP reached a boot attempt on more than one target in this run._'];
  const all = [...new Set(compared.flatMap(([, byTarget]) => [...byTarget.keys()]))].sort(compare);
  const ref = referenceTarget(all);
  const others = all.filter((t) => t !== ref);
  const header = ['suite', 'guest', 'SMP', 'to', ...[ref, ...others].map((t) => `${t} ms`), ...others.map((t) => `${ref} ÷ ${t}`)];
  const lines = [
    `Time to the boot's end (\`login\`, \`init\` or \`boot-attempt\`, the first any target reached) for the same suite, guest and SMP on each target; a ratio below 1 means ${ref} got there faster.`,
    '',
    tableLine(header),
    tableLine(header.map(() => '---')),
  ];
  for (const [key, byTarget, milestone] of compared) {
    const m = keys.get(key)!;
    const refMs = byTarget.get(ref);
    const ratio = (t: string) => {
      const ms = byTarget.get(t);
      return refMs === undefined || ms === undefined || ms <= 0 ? MISSING : (refMs / ms).toFixed(2);
    };
    const guest = m.quirks.length > 0 ? `${m.guest} (${m.quirks.join(', ')})` : m.guest;
    lines.push(tableLine([m.suite, guest, String(m.smp), milestone, ...[ref, ...others].map((t) => formatMs(byTarget.get(t))), ...others.map(ratio)]));
  }
  return lines;
}

const TEETH_PROPERTIES = ['teeth.seed', 'teeth.assertion', 'teeth.message'] as const;

function truthy(value: string | number | boolean | undefined): boolean {
  return value === true || value === 'true';
}

/**
 * One row per known-bad run (a testcase marked `expected.failure` that runs a quirk): its quirk,
 * the seed it reproduces, the good-run assertion that caught it and that assertion's message. A
 * row whose teeth properties are missing, or whose quirk "did not fail", is flagged: it proves
 * nothing. The harness's own negative tests (a hung guest, a lab timeout) expect a failure too but
 * reproduce no seed, so they are not teeth.
 */
function renderTeeth(boot: BootRow[]): string[] {
  const bad = boot.filter((r) => truthy(r.bootgate.properties['expected.failure']) && r.bootgate.quirks.length > 0);
  if (bad.length === 0) return ['_No known-bad runs in this run._'];
  const header = ['testcase', 'quirk', 'seed', 'failing assertion', 'message', 'result', 'flag'];
  const lines = [tableLine(header), tableLine(header.map(() => '---'))];
  for (const row of bad) {
    const p = row.bootgate.properties;
    const value = (key: (typeof TEETH_PROPERTIES)[number]) => (p[key] === undefined || p[key] === '' ? MISSING : String(p[key]));
    const missing = TEETH_PROPERTIES.filter((key) => value(key) === MISSING);
    const flags = [
      ...(missing.length > 0 ? [`⚠ missing ${missing.join(', ')}`] : []),
      ...(p['teeth.message'] === 'did not fail' ? ['⚠ the quirk was not caught'] : []),
      ...(row.result === 'failed' ? ['⚠ testcase failed'] : []),
    ];
    lines.push(
      tableLine([
        identity(row),
        row.bootgate.quirks.length > 0 ? row.bootgate.quirks.join(', ') : 'none',
        value('teeth.seed'),
        value('teeth.assertion'),
        value('teeth.message'),
        row.result === 'failed' ? '**failed**' : row.result,
        flags.length > 0 ? flags.join('; ') : 'ok',
      ]),
    );
  }
  return lines;
}

function renderFlaky(boot: BootRow[]): string[] {
  const flaky = boot.filter(isFlaky);
  if (flaky.length === 0) return ['_None._'];
  return flaky.map((row) => {
    const f = row.bootgate.flaky!;
    return `- ${identity(row)}: passed on attempt ${f.attempts}; first attempt: ${codeSpan(f.reason)}; evidence: ${codeSpan(f.firstAttempt)}`;
  });
}

function renderFailures(rows: SummaryRow[]): string[] {
  const failed = rows.filter((r) => r.result === 'failed');
  if (failed.length === 0) return ['_None._'];
  return failed.map((r) => `- ${label(r)}: ${codeSpan(r.error ?? 'failed without an error')}`);
}

function renderSkipped(boot: BootRow[]): string[] {
  const lines: string[] = [];
  for (const row of boot) {
    if (row.result === 'skipped') lines.push(`- ${identity(row)}: whole test skipped: ${row.skipReason ?? 'skip'}`);
    for (const s of row.bootgate.skipped) lines.push(`- ${identity(row)}: ${s.assertion}: ${s.reason}`);
  }
  return lines.length > 0 ? lines : ['_None._'];
}

/** The JUnit identity (identity.ts) as one line: quirk runs stay apart from the good run. */
function identity(row: BootRow): string {
  const m = row.bootgate;
  return `${m.suite} ${m.target} ${conformanceCaseName(m)}`;
}

function label(row: SummaryRow): string {
  if (row.bootgate !== undefined) return identity(row as BootRow);
  return [row.project, row.file, row.name].filter((part) => part !== '').join(' › ');
}

function byIdentity(a: BootRow, b: BootRow): number {
  const x = a.bootgate;
  const y = b.bootgate;
  return compare(x.suite, y.suite) || compare(x.target, y.target) || compare(x.guest, y.guest) || x.smp - y.smp || compare(conformanceCaseName(x), conformanceCaseName(y));
}

/** Code-unit order, not locale order: the same rows sort the same on every host. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A Markdown code span that survives backticks inside `text`. */
function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}
