// Flattens vitest's reported test modules into one group per (project, file) holding one record
// per test case, plus a record for errors outside any test (collection, beforeAll/afterAll) and a
// group for unhandled errors. Typed against only the parts of vitest's TestModule/TestCase read
// here, so unit tests can pass small fakes; junit-reporter.ts implements vitest's Reporter with
// these types, which makes the compiler check that vitest's real classes fit them.
//
// Everything read from a test (errors, `meta().bootgate`) crossed a worker boundary as data a test
// wrote, so it is checked field by field rather than trusted.

import { stripVTControlCharacters } from 'node:util';
import type { BootgateTestMeta, SkippedAssertion } from '../suites/harness/meta.js';
import type { TestcaseIdentity } from './identity.js';
import type { SummaryRow } from './summary.js';

/** A serialized error as vitest reports it (TestError / SerializedError); every field unchecked. */
export interface ReportError {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly stack?: unknown;
  readonly diff?: unknown;
  readonly cause?: unknown;
}

export interface ReportModuleRef {
  readonly type: 'module';
}

export interface ReportSuite {
  readonly type: 'suite';
  readonly name: string;
  readonly parent: ReportSuite | ReportModuleRef;
  errors(): ReadonlyArray<ReportError>;
}

export interface ReportCase {
  readonly name: string;
  readonly parent: ReportSuite | ReportModuleRef;
  readonly options: { readonly mode: string };
  result(): { readonly state: string; readonly errors?: ReadonlyArray<ReportError>; readonly note?: string };
  diagnostic(): { readonly duration: number } | undefined;
  meta(): { readonly bootgate?: unknown };
}

export interface ReportModule {
  readonly relativeModuleId: string;
  readonly project: { readonly name: string };
  readonly children: { allTests(): Iterable<ReportCase>; allSuites(): Iterable<ReportSuite> };
  errors(): ReadonlyArray<ReportError>;
  diagnostic(): { readonly duration: number };
}

export interface NormalizedError {
  name: string;
  /** First line of the message (the error name when the message is empty). */
  firstLine: string;
  /** Stack (or name and message), the diff, and the cause chain; no terminal colours. */
  body: string;
}

export interface CaseRecord extends SummaryRow {
  /** `test`: a vitest test case; `module`: errors outside tests; `unhandled`: vitest's unhandled errors. */
  origin: 'test' | 'module' | 'unhandled';
  /** Enclosing describe blocks, outermost first. */
  describePath: string[];
  /** The test's own name. */
  testName: string;
  errors: NormalizedError[];
  /** JUnit classname and name, unique in the run; set by assignIdentities (identity.ts). */
  identity?: TestcaseIdentity;
}

export interface CaseGroup {
  project: string;
  /** The test file, or `(unhandled errors)`. */
  file: string;
  durationMs: number;
  cases: CaseRecord[];
}

export const UNHANDLED_FILE = '(unhandled errors)';
const MAX_CAUSE_DEPTH = 4;

export function collectGroups(modules: ReadonlyArray<ReportModule>, unhandled: ReadonlyArray<ReportError>): CaseGroup[] {
  const groups = modules.map(collectModule);
  if (unhandled.length > 0) {
    groups.push({
      project: '',
      file: UNHANDLED_FILE,
      durationMs: 0,
      cases: unhandled.map((error, i) => errorRecord('unhandled', '', UNHANDLED_FILE, `unhandled error ${i + 1}`, [error])),
    });
  }
  return groups;
}

function collectModule(module: ReportModule): CaseGroup {
  const project = module.project.name;
  const file = module.relativeModuleId;
  const cases: CaseRecord[] = [];
  for (const test of module.children.allTests()) cases.push(collectCase(project, file, test));
  const outside = [...module.errors()];
  for (const suite of module.children.allSuites()) outside.push(...suite.errors());
  if (outside.length > 0) cases.push(errorRecord('module', project, file, '(errors outside tests)', outside));
  return { project, file, durationMs: module.diagnostic().duration, cases };
}

function collectCase(project: string, file: string, test: ReportCase): CaseRecord {
  const describePath: string[] = [];
  for (let p = test.parent; p.type === 'suite'; p = p.parent) describePath.unshift(p.name);
  const result = test.result();
  const errors = result.state === 'failed' ? (result.errors ?? []).map(normalizeError) : [];
  const record: CaseRecord = {
    origin: 'test',
    project,
    file,
    name: [...describePath, test.name].join(' > '),
    describePath,
    testName: test.name,
    result: result.state === 'passed' || result.state === 'failed' ? result.state : 'skipped',
    durationMs: test.diagnostic()?.duration ?? 0,
    errors,
    bootgate: normalizeMeta(test.meta().bootgate),
  };
  if (record.result === 'failed') record.error = headline(errors);
  if (record.result === 'skipped') {
    // `pending` only survives into the report when the run was interrupted.
    record.skipReason = result.state === 'pending' ? 'not finished (run interrupted)' : (result.note ?? test.options.mode);
  }
  return record;
}

function errorRecord(
  origin: 'module' | 'unhandled',
  project: string,
  file: string,
  testName: string,
  raw: ReportError[],
): CaseRecord {
  const errors = raw.map(normalizeError);
  return {
    origin,
    project,
    file,
    name: testName,
    describePath: [],
    testName,
    result: 'failed',
    durationMs: 0,
    errors,
    error: headline(errors),
  };
}

function headline(errors: NormalizedError[]): string {
  const first = errors[0];
  return first === undefined ? 'failed without an error' : `${first.name}: ${first.firstLine}`;
}

export function normalizeError(error: ReportError): NormalizedError {
  const name = typeof error.name === 'string' && error.name !== '' ? error.name : 'Error';
  const message = typeof error.message === 'string' ? stripVTControlCharacters(error.message) : '';
  const firstLine = message.split('\n', 1)[0]!.trim() || name;
  return { name, firstLine, body: errorBody(error, name, message, 0) };
}

function errorBody(error: ReportError, name: string, message: string, depth: number): string {
  const parts = [typeof error.stack === 'string' && error.stack !== '' ? error.stack : `${name}: ${message}`];
  if (typeof error.diff === 'string' && error.diff !== '') parts.push(error.diff);
  const cause = error.cause;
  if (cause !== null && typeof cause === 'object' && depth < MAX_CAUSE_DEPTH) {
    const c = cause as ReportError;
    const causeName = typeof c.name === 'string' && c.name !== '' ? c.name : 'Error';
    const causeMessage = typeof c.message === 'string' ? c.message : '';
    parts.push(`Caused by: ${errorBody(c, causeName, causeMessage, depth + 1)}`);
  }
  return stripVTControlCharacters(parts.join('\n\n'));
}

/** Checks `meta().bootgate` field by field; a missing identity field shows up as `unknown`. */
export function normalizeMeta(raw: unknown): BootgateTestMeta | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const m = raw as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : 'unknown');
  const properties: BootgateTestMeta['properties'] = {};
  if (m.properties !== null && typeof m.properties === 'object') {
    for (const [key, value] of Object.entries(m.properties)) {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') properties[key] = value;
    }
  }
  const skipped: SkippedAssertion[] = [];
  if (Array.isArray(m.skipped)) {
    for (const s of m.skipped) {
      if (s !== null && typeof s === 'object') {
        const { assertion, reason } = s as Record<string, unknown>;
        skipped.push({ assertion: String(assertion), reason: String(reason) });
      }
    }
  }
  return {
    suite: text(m.suite),
    target: text(m.target),
    guest: text(m.guest),
    smp: typeof m.smp === 'number' && Number.isFinite(m.smp) ? m.smp : 0,
    quirks: Array.isArray(m.quirks) ? m.quirks.map(String) : [],
    properties,
    skipped,
    serialTail: typeof m.serialTail === 'string' ? m.serialTail : undefined,
    diagnostic: typeof m.diagnostic === 'string' ? m.diagnostic : undefined,
    flaky: normalizeFlaky(m.flaky),
  };
}

/** A rerun's evidence: kept only when it says why and where; a half-filled one still marks the case. */
function normalizeFlaky(raw: unknown): BootgateTestMeta['flaky'] {
  if (raw === null || typeof raw !== 'object') return undefined;
  const f = raw as Record<string, unknown>;
  return {
    reason: typeof f.reason === 'string' && f.reason !== '' ? f.reason : 'rerun without a recorded reason',
    firstAttempt: typeof f.firstAttempt === 'string' && f.firstAttempt !== '' ? f.firstAttempt : 'not kept',
    attempts: typeof f.attempts === 'number' && Number.isInteger(f.attempts) && f.attempts >= 2 ? f.attempts : 2,
  };
}
