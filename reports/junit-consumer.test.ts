// junit.xml read back by a real consumer: xunit-viewer's own parser (the package's
// src/cli/parse.js, the code behind its page and console output). It keys a testcase by its
// testsuite and a hash of name + classname, as CI servers key history by classname and name, so
// two testcases with one identity collapse into one (the conformance JUnit showed 28 of 32 there).
// The run below has the shape of a real conformance run: good runs and quirk runs of the same
// guest and SMP, two targets, a flaky pass, a failure, a skip.

import parse, { type XunitViewerTest } from 'xunit-viewer/src/cli/parse.js';
import { describe, expect, test } from 'vitest';
import type { BootgateTestMeta } from '../suites/harness/meta.js';
import type { CaseGroup, CaseRecord } from './collect.js';
import { assignIdentities } from './identity.js';
import { buildJunitXml, DuplicateTestcaseError } from './junit-xml.js';

function meta(suite: string, target: string, guest: string, smp: number, quirks: string[] = [], extra: Partial<BootgateTestMeta> = {}): BootgateTestMeta {
  return { suite, target, guest, smp, quirks, properties: { 'wall.ms': 1000 }, skipped: [], ...extra };
}

function record(file: string, testName: string, result: CaseRecord['result'], bootgate: BootgateTestMeta): CaseRecord {
  return {
    origin: 'test',
    project: 'conformance',
    file,
    name: testName,
    describePath: [],
    testName,
    result,
    durationMs: 1000,
    errors: result === 'failed' ? [{ name: 'AssertionError', firstLine: 'expected 9 to be 10', body: 'AssertionError: expected 9 to be 10' }] : [],
    error: result === 'failed' ? 'AssertionError: expected 9 to be 10' : undefined,
    skipReason: result === 'skipped' ? 'qemu:tcg has no VMM quirk switches' : undefined,
    bootgate,
  };
}

const flaky = { reason: 'lab VM 1 wedged while the boot ran (soft lockup)', firstAttempt: '/x/reports/out/lab/kept/b/smp8.lab-1.jsonl', attempts: 2 };

function conformanceRun(): CaseGroup[] {
  const rv = 'suites/reset-vector.test.ts';
  const irq = 'suites/linux-interrupts.test.ts';
  const resetVector: CaseRecord[] = [];
  for (const target of ['vmm:kvm', 'qemu:tcg']) {
    for (const smp of [1, 2, 8]) resetVector.push(record(rv, `seabios-256k smp${smp}`, 'passed', meta('reset-vector', target, 'seabios-256k', smp)));
    resetVector.push(record(rv, 'seabios smp1', 'passed', meta('reset-vector', target, 'seabios', 1)));
  }
  // The known-bad run: same guest and SMP as the good one; on qemu:tcg it cannot run.
  resetVector.push(record(rv, 'no-high-bios-copy', 'passed', meta('reset-vector', 'vmm:kvm', 'seabios-256k', 1, ['no-high-bios-copy'], { properties: { 'expected.failure': true } })));
  resetVector.push(record(rv, 'no-high-bios-copy', 'skipped', meta('reset-vector', 'qemu:tcg', 'seabios-256k', 1, ['no-high-bios-copy'])));
  const interrupts: CaseRecord[] = [
    record(irq, 'smp1', 'passed', meta('interrupts', 'vmm:kvm@lab', 'debian-irqtest', 1)),
    record(irq, 'smp2', 'failed', meta('interrupts', 'vmm:kvm@lab', 'debian-irqtest', 2, [], { flaky })),
    record(irq, 'smp8', 'passed', meta('interrupts', 'vmm:kvm@lab', 'debian-irqtest', 8, [], { flaky })),
    ...['irq-to-bsp-only', 'drop-every-nth-irq', 'starve-low-priority-irq'].map((q, i) =>
      record(irq, q, i === 1 ? 'failed' : 'passed', meta('interrupts', 'vmm:kvm@lab', 'debian-irqtest', 2, [q], { properties: { 'expected.failure': true } })),
    ),
  ];
  return [
    { project: 'conformance', file: rv, durationMs: 1, cases: resetVector },
    { project: 'conformance', file: irq, durationMs: 1, cases: interrupts },
  ];
}

/** What a reader of the report expects to see per testcase: xunit-viewer's status names. */
function expectedStatus(r: CaseRecord): string {
  if (r.result === 'failed') return 'failure';
  if (r.result === 'skipped') return 'skipped';
  return r.bootgate?.flaky ? 'flakyError' : 'passed';
}

async function readBack(xml: string): Promise<XunitViewerTest[]> {
  const { suites } = await parse(xml);
  return Object.values(suites).flatMap((s) => Object.values(s.tests));
}

describe('xunit-viewer reads every testcase with its own result', () => {
  test('good and quirk runs of one guest and SMP, on two targets, stay apart', async () => {
    const groups = conformanceRun();
    expect(assignIdentities(groups)).toEqual([]);
    const records = groups.flatMap((g) => g.cases);
    const tests = await readBack(buildJunitXml(groups, { alwaysOutput: false }));
    expect(tests).toHaveLength(records.length);
    const seen = new Map(tests.map((t) => [`${t.classname} / ${t.name}`, t.status]));
    for (const r of records) expect(seen.get(`${r.identity!.classname} / ${r.identity!.name}`), `${r.file} ${r.name}`).toBe(expectedStatus(r));
    expect(seen.get('bootgate.interrupts.vmm:kvm@lab / debian-irqtest smp2')).toBe('failure');
    expect(seen.get('bootgate.interrupts.vmm:kvm@lab / debian-irqtest smp2 quirk=irq-to-bsp-only')).toBe('passed');
    expect(seen.get('bootgate.reset-vector.vmm:kvm / seabios-256k smp1 quirk=no-high-bios-copy')).toBe('passed');
  });

  test('the flaky pass is not read as a plain pass, and carries the rerun properties', async () => {
    const groups = conformanceRun();
    assignIdentities(groups);
    const tests = await readBack(buildJunitXml(groups, { alwaysOutput: true }));
    const t = tests.find((x) => x.name === 'debian-irqtest smp8')!;
    expect(t.status).toBe('flakyError');
    expect(t.messages).toContain(flaky.reason);
    expect(t.properties).toMatchObject({ flaky: ['true'], 'flaky.first-attempt': [flaky.firstAttempt], 'flaky.attempts': ['2'] });
    // A rerun that failed too is a failure (Surefire's <rerunError>), not a flake.
    const failed = tests.find((x) => x.name === 'debian-irqtest smp2')!;
    expect(failed.status).toBe('failure');
    expect(failed.properties).toMatchObject({ 'rerun.first-attempt': [flaky.firstAttempt] });
    expect(failed.properties).not.toHaveProperty('flaky');
  });

  test('the consumer really merges a shared identity (what the old names did): the check can fail', async () => {
    const xml = `<?xml version="1.0"?><testsuites><testsuite name="s" tests="2">
      <testcase classname="bootgate.interrupts.vmm:kvm@lab" name="debian-irqtest smp2"/>
      <testcase classname="bootgate.interrupts.vmm:kvm@lab" name="debian-irqtest smp2"><failure message="quirk caught"/></testcase>
    </testsuite></testsuites>`;
    const tests = await readBack(xml);
    expect(tests).toHaveLength(1);
  });
});

describe('a duplicate identity is never written silently', () => {
  test('the later testcase is renamed and failed, naming the first; the writer refuses raw duplicates', async () => {
    const groups = conformanceRun();
    const copy = { ...groups[1]!.cases[0]!, name: 'smp1 again', testName: 'smp1 again' };
    groups[1]!.cases.push(copy);
    const problems = assignIdentities(groups);
    expect(problems).toEqual([expect.stringMatching(/^testcase identity "bootgate.interrupts.vmm:kvm@lab" \/ "debian-irqtest smp1" is already used by "conformance › suites\/linux-interrupts.test.ts › smp1"; ".* › smp1 again" is reported as "debian-irqtest smp1 \(duplicate 2\)" and failed/)]);
    expect(copy.result).toBe('failed');
    const tests = await readBack(buildJunitXml(groups, { alwaysOutput: false }));
    expect(tests).toHaveLength(groups.flatMap((g) => g.cases).length);
    expect(tests.find((t) => t.name === 'debian-irqtest smp1 (duplicate 2)')!.status).toBe('failure');

    const raw = conformanceRun();
    raw[0]!.cases.push({ ...raw[0]!.cases[0]!, identity: undefined });
    expect(() => buildJunitXml(raw, { alwaysOutput: false })).toThrow(DuplicateTestcaseError);
  });
});
