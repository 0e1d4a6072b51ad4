// Reads a junit.xml back (ours, or any Surefire-style file): one entry per testcase with its
// identity, its result as a reader of the report sees it, the skip message and its properties.
// `npm run conformance` reads it to tell a complete run from one that left testcases out, and
// `npm run soak` to count each testcase's passes over many runs.

import { readFileSync } from 'node:fs';
import { notRunOf } from '../suites/harness/meta.js';
import { findAll, parseXml, type XmlElement } from './minixml.js';

export interface JunitCase {
  /** The enclosing <testsuite>'s name. */
  testsuite: string;
  classname: string;
  name: string;
  /** `flaky`: passed, but only on a rerun (Surefire's <flakyFailure>/<flakyError>, or flaky=true). */
  result: 'passed' | 'flaky' | 'failed' | 'skipped';
  /** The failure's, error's or skip's message. */
  message?: string;
  properties: Record<string, string>;
}

const FLAKY_ELEMENTS = new Set(['flakyFailure', 'flakyError']);

export function parseJunit(xml: string): JunitCase[] {
  const root = parseXml(xml);
  const cases: JunitCase[] = [];
  for (const suite of findAll(root, 'testsuite')) {
    for (const tc of elements(suite).filter((e) => e.name === 'testcase')) {
      const kids = elements(tc);
      const properties: Record<string, string> = {};
      for (const p of kids.filter((e) => e.name === 'properties').flatMap((e) => elements(e))) {
        if (p.name === 'property' && p.attributes.name !== undefined) properties[p.attributes.name] = p.attributes.value ?? '';
      }
      const bad = kids.find((e) => e.name === 'failure' || e.name === 'error');
      const skipped = kids.find((e) => e.name === 'skipped');
      const flaky = kids.some((e) => FLAKY_ELEMENTS.has(e.name)) || properties.flaky === 'true';
      const result = bad ? 'failed' : skipped ? 'skipped' : flaky ? 'flaky' : 'passed';
      const message = (bad ?? skipped)?.attributes.message;
      cases.push({
        testsuite: suite.attributes.name ?? '',
        classname: tc.attributes.classname ?? '',
        name: tc.attributes.name ?? '',
        result,
        ...(message === undefined ? {} : { message }),
        properties,
      });
    }
  }
  return cases;
}

export function readJunit(path: string): JunitCase[] {
  return parseJunit(readFileSync(path, 'utf8'));
}

function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

export interface Completeness {
  /** Testcases not run, by reason. */
  notRun: Map<string, number>;
  /** True when every testcase not run was an explicit opt-out. */
  optedOut: boolean;
  failed: number;
}

/** What a run left out (meta.ts NOT_RUN_*) and how many testcases failed. */
export function completeness(cases: readonly JunitCase[]): Completeness {
  const notRun = new Map<string, number>();
  let optedOut = true;
  for (const c of cases) {
    const n = c.result === 'skipped' ? notRunOf(c.message) : undefined;
    if (n === undefined) continue;
    optedOut &&= n.optOut;
    notRun.set(n.reason, (notRun.get(n.reason) ?? 0) + 1);
  }
  return { notRun, optedOut, failed: cases.filter((c) => c.result === 'failed').length };
}
