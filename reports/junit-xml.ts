// Case groups to JUnit XML with junit-report-builder: one <testsuite> per (vitest project, file),
// one <testcase> per test. A conformance test (one with `task.meta.bootgate`) is named
// `bootgate.<suite>.<target>` / `<guest> smp<N>[ quirk=...]` (identity.ts) and carries its
// measurements as properties; any other test is named by its file and describe path. Two
// testcases with one (classname, name) are refused: consumers would merge them.
// A testcase whose verdict came from a rerun follows Maven Surefire's rerun convention, which
// Jenkins and GitLab read: a passing one gets a <flakyError> with the first attempt's reason (it
// is flaky, never a plain pass), a failing one a <rerunError>; properties say where the first
// attempt's evidence was kept.

import { stripVTControlCharacters } from 'node:util';
import junitModule, { type Builder, type TestCase } from 'junit-report-builder';
import type { BootgateTestMeta } from '../suites/harness/meta.js';
import { type CaseGroup, type CaseRecord, UNHANDLED_FILE } from './collect.js';
import { testcaseIdentity } from './identity.js';

export interface JunitXmlOptions {
  /** Write system-out for passing conformance tests too (default: only on failure). */
  alwaysOutput: boolean;
}

// The package's CommonJS entry sets `module.exports = builder` while its typings declare a default
// export, so under Node the default import is the builder itself; accept both shapes.
const rootBuilder: Builder = (junitModule as { default?: Builder }).default ?? (junitModule as unknown as Builder);

/** Characters outside XML 1.0's Char production: C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates. */
const NON_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Property names filled from the identity fields; a same-named entry in `properties` is not repeated. */
const IDENTITY_PROPERTIES = new Set(['target', 'guest', 'smp', 'quirks', 'lab']);

export class DuplicateTestcaseError extends Error {
  readonly code = 'E_DUPLICATE_TESTCASE';
  constructor(classname: string, name: string) {
    super(`two testcases are both "${classname}" / "${name}"; consumers keyed by classname and name would merge them (fix: assignIdentities in reports/identity.ts renames and fails the later one)`);
    this.name = 'DuplicateTestcaseError';
  }
}

export function buildJunitXml(groups: CaseGroup[], options: JunitXmlOptions): string {
  const builder = rootBuilder.newBuilder().name('bootgate');
  const written = new Set<string>();
  for (const record of groups.flatMap((g) => g.cases)) {
    const { classname, name } = record.identity ?? testcaseIdentity(record);
    const key = `${classname}\u0000${name}`;
    if (written.has(key)) throw new DuplicateTestcaseError(classname, name);
    written.add(key);
  }
  for (const group of groups) {
    const suite = builder.testSuite().name(suiteName(group)).time(seconds(group.durationMs));
    if (group.project !== '') suite.property('project', group.project);
    if (group.file !== UNHANDLED_FILE) suite.property('file', group.file);
    for (const record of group.cases) addCase(suite.testCase(), record, options);
  }
  return builder.build();
}

function suiteName(group: CaseGroup): string {
  return group.project === '' ? group.file : `[${group.project}] ${group.file}`;
}

function addCase(testCase: TestCase, record: CaseRecord, options: JunitXmlOptions): void {
  const meta = record.bootgate;
  testCase.time(seconds(record.durationMs));
  if (record.origin !== 'unhandled') testCase.file(record.file);
  const { classname, name } = record.identity ?? testcaseIdentity(record);
  testCase.className(classname).name(name);
  if (meta !== undefined) {
    addProperties(testCase, meta, record.result);
    if (meta.flaky !== undefined && record.result !== 'skipped') rerunElement(testCase, record.result === 'passed' ? 'flakyError' : 'rerunError', meta.flaky);
  }

  if (record.result === 'failed') {
    const first = record.errors[0];
    const body = record.errors.map((e) => e.body).join('\n\n');
    if (record.origin === 'test') {
      testCase.failure(first?.firstLine ?? 'failed', first?.name ?? 'Error');
      if (body !== '') testCase.stacktrace(cdataText(body));
    } else {
      testCase.error(first?.firstLine ?? 'error', first?.name ?? 'Error', body === '' ? undefined : cdataText(body));
    }
  } else if (record.result === 'skipped') {
    skippedWithMessage(testCase, record.skipReason ?? 'skip');
  }

  if (meta !== undefined && (record.result === 'failed' || options.alwaysOutput)) {
    const out = systemOut(meta, record.result === 'failed');
    if (out !== '') testCase.standardOutput(cdataText(out));
  }
}

function addProperties(testCase: TestCase, meta: BootgateTestMeta, result: CaseRecord['result']): void {
  for (const [key, value] of Object.entries(meta.properties)) {
    if (!IDENTITY_PROPERTIES.has(key)) testCase.property(key, String(value));
  }
  if (meta.flaky !== undefined) {
    // `flaky=true` only on a pass: a failed rerun is a failure, not a flake.
    const prefix = result === 'passed' ? 'flaky' : 'rerun';
    if (result === 'passed') testCase.property('flaky', 'true');
    testCase
      .property(`${prefix}.reason`, meta.flaky.reason)
      .property(`${prefix}.first-attempt`, meta.flaky.firstAttempt)
      .property(`${prefix}.attempts`, String(meta.flaky.attempts));
  }
  testCase
    .property('target', meta.target)
    .property('guest', meta.guest)
    .property('smp', String(meta.smp))
    .property('quirks', meta.quirks.length > 0 ? meta.quirks.join(',') : 'none')
    .property('lab', String(meta.properties.lab ?? false));
  meta.skipped.forEach((s, i) => {
    testCase.property(`skipped.${i + 1}`, `${s.assertion}: ${s.reason}`);
  });
}

/** The serial tail (always named on failure, even when empty), then the diagnostic. */
function systemOut(meta: BootgateTestMeta, failed: boolean): string {
  const parts: string[] = [];
  if (meta.serialTail !== undefined && meta.serialTail !== '') parts.push(`--- serial tail ---\n${meta.serialTail}`);
  else if (failed) parts.push('--- serial tail ---\n(no serial output captured)');
  if (meta.diagnostic !== undefined && meta.diagnostic !== '') parts.push(`--- diagnostic ---\n${meta.diagnostic}`);
  return parts.join('\n');
}

/**
 * Surefire's <flakyError>/<rerunError>, which junit-report-builder does not know: added right after
 * <properties>, before <system-out>, as Surefire writes it (xunit-viewer takes a testcase's first
 * child that is not a known status as its status, so a flaky one shows as `flakyError`).
 */
function rerunElement(testCase: TestCase, element: 'flakyError' | 'rerunError', flaky: NonNullable<BootgateTestMeta['flaky']>): void {
  // buildNode (properties) is protected in the typings; build() calls it before the status elements.
  interface Node {
    ele(name: string, attributes?: Record<string, string>): Node;
    cdata(text: string): Node;
  }
  const open = testCase as unknown as { buildNode(element: Node): Node };
  const buildNode = open.buildNode.bind(testCase);
  open.buildNode = (testcaseNode) => {
    const node = buildNode(testcaseNode);
    node
      .ele(element, { message: flaky.reason, type: 'rerun' })
      .ele('system-out')
      .cdata(cdataText(`first attempt's evidence: ${flaky.firstAttempt}\nattempts: ${flaky.attempts}`));
    return node;
  };
}

/**
 * junit-report-builder's <skipped/> takes no message; set it on the element as the case builds.
 * The builder still counts the case as skipped, so the suite's `skipped` attribute stays right.
 */
function skippedWithMessage(testCase: TestCase, message: string): void {
  testCase.skipped();
  const build = testCase.build.bind(testCase);
  testCase.build = (parent) => {
    const element = build(parent);
    for (const child of element.children) {
      const node = child as unknown as { name?: unknown; attribute(name: string, value: string): unknown };
      if (node.name === 'skipped') node.attribute('message', message);
    }
    return element;
  };
}

/**
 * Text for a CDATA section. xmlbuilder 15 escapes only the first `]]>` (String.replace with a
 * string) and drops characters XML cannot hold only after that, so: drop terminal escapes and
 * non-XML characters first, then split every `]]>` but the first, which xmlbuilder splits itself.
 */
export function cdataText(text: string): string {
  const clean = stripVTControlCharacters(text).replace(NON_XML_CHARS, '');
  const [head, ...rest] = clean.split(']]>');
  if (rest.length === 0) return clean;
  return `${head}]]>${rest.join(']]]]><![CDATA[>')}`;
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}
