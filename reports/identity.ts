// Every testcase's JUnit identity: the (classname, name) pair that consumers key results by
// (xunit-viewer hashes name + classname inside a testsuite; CI servers keep a testcase's history
// under it). A conformance testcase is `bootgate.<suite>.<target>` / `<guest> smp<N>`, plus
// ` quirk=<a>+<b>` when it runs with quirks: a known-bad run must never share the good run's key.
// Two testcases with one identity would be merged by every such consumer, so the later one is
// renamed `... (duplicate 2)` and failed, naming the first: the gate's own bug shows as a failure
// instead of a silently lost result.

import type { BootgateTestMeta } from '../suites/harness/meta.js';
import type { CaseGroup, CaseRecord } from './collect.js';

export interface TestcaseIdentity {
  classname: string;
  name: string;
}

export const DUPLICATE_IDENTITY_ERROR = 'DuplicateIdentityError';

/** `seabios-256k smp1`, `debian-irqtest smp2 quirk=drop-every-nth-irq`. */
export function conformanceCaseName(meta: Pick<BootgateTestMeta, 'guest' | 'smp' | 'quirks'>): string {
  // Sorted: the same quirk set names the same testcase whatever order a suite listed it in.
  const quirks = [...meta.quirks].sort();
  return `${meta.guest} smp${meta.smp}${quirks.length > 0 ? ` quirk=${quirks.join('+')}` : ''}`;
}

export function testcaseIdentity(record: CaseRecord): TestcaseIdentity {
  const meta = record.bootgate;
  if (meta !== undefined) return { classname: `bootgate.${meta.suite}.${meta.target}`, name: conformanceCaseName(meta) };
  if (record.origin === 'unhandled') return { classname: 'vitest.unhandled', name: record.testName };
  return { classname: [record.file, ...record.describePath].join(' > '), name: record.testName };
}

/**
 * Sets `record.identity` on every record. A record whose identity an earlier one already has is
 * renamed and failed (its own errors kept after the duplicate error); returns one line per
 * duplicate for the reporter to print.
 */
export function assignIdentities(groups: CaseGroup[]): string[] {
  const seen = new Map<string, CaseRecord>();
  const problems: string[] = [];
  for (const record of groups.flatMap((g) => g.cases)) {
    const id = testcaseIdentity(record);
    const key = (i: TestcaseIdentity) => `${i.classname}\u0000${i.name}`;
    const first = seen.get(key(id));
    if (first === undefined) {
      record.identity = id;
      seen.set(key(id), record);
      continue;
    }
    let n = 2;
    while (seen.has(key({ classname: id.classname, name: `${id.name} (duplicate ${n})` }))) n++;
    const renamed = { classname: id.classname, name: `${id.name} (duplicate ${n})` };
    const line = `testcase identity "${id.classname}" / "${id.name}" is already used by ${describe(first)}; ${describe(record)} is reported as "${renamed.name}" and failed (fix: give bootMeta a distinct guest, SMP or quirks)`;
    problems.push(line);
    record.identity = renamed;
    seen.set(key(renamed), record);
    record.result = 'failed';
    record.skipReason = undefined;
    record.errors = [{ name: DUPLICATE_IDENTITY_ERROR, firstLine: line, body: `${DUPLICATE_IDENTITY_ERROR}: ${line}` }, ...record.errors];
    record.error = `${DUPLICATE_IDENTITY_ERROR}: ${line}`;
  }
  return problems;
}

function describe(record: CaseRecord): string {
  return `"${[record.project, record.file, record.name].filter((p) => p !== '').join(' › ')}"`;
}
