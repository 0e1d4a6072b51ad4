// junit.xml read back: results as a reader sees them (a flaky pass is not a pass), and what a run
// left out, from files written by our own writer and by hand.

import { describe, expect, test } from 'vitest';
import type { BootgateTestMeta } from '../suites/harness/meta.js';
import type { CaseGroup, CaseRecord } from './collect.js';
import { assignIdentities } from './identity.js';
import { buildJunitXml } from './junit-xml.js';
import { completeness, parseJunit } from './read-junit.js';

function rec(testName: string, result: CaseRecord['result'], extra: Partial<CaseRecord> = {}, bootgate?: Partial<BootgateTestMeta>): CaseRecord {
  return {
    origin: 'test',
    project: 'conformance',
    file: 'suites/bios-reboot.test.ts',
    name: testName,
    describePath: [],
    testName,
    result,
    durationMs: 1,
    errors: result === 'failed' ? [{ name: 'AssertionError', firstLine: 'boom', body: 'AssertionError: boom' }] : [],
    ...extra,
    bootgate: bootgate && { suite: 'bios-reboot', target: 'vmm:kvm@lab', guest: 'debian-probe', smp: 2, quirks: [], properties: {}, skipped: [], ...bootgate },
  };
}

describe('parseJunit', () => {
  test('reads identity, result, message and properties back from our writer', () => {
    const groups: CaseGroup[] = [
      {
        project: 'conformance',
        file: 'suites/bios-reboot.test.ts',
        durationMs: 1,
        cases: [
          rec('a', 'passed', {}, { guest: 'debian-probe reboot=pci' }),
          rec('b', 'passed', {}, { guest: 'debian-probe reboot=kbd', flaky: { reason: 'lab wedged', firstAttempt: '/k/b.jsonl', attempts: 2 } }),
          rec('c', 'failed', {}, { guest: 'debian-probe reboot=bios', quirks: ['vmd-low-bios-only'] }),
          rec('d', 'skipped', { skipReason: 'opted out: Linux-guest suites left out by BOOTGATE_LINUX=0' }),
        ],
      },
    ];
    assignIdentities(groups);
    const cases = parseJunit(buildJunitXml(groups, { alwaysOutput: false }));
    expect(cases.map((c) => [c.classname, c.name, c.result, c.message])).toEqual([
      ['bootgate.bios-reboot.vmm:kvm@lab', 'debian-probe reboot=pci smp2', 'passed', undefined],
      ['bootgate.bios-reboot.vmm:kvm@lab', 'debian-probe reboot=kbd smp2', 'flaky', undefined],
      ['bootgate.bios-reboot.vmm:kvm@lab', 'debian-probe reboot=bios smp2 quirk=vmd-low-bios-only', 'failed', 'boom'],
      ['suites/bios-reboot.test.ts', 'd', 'skipped', 'opted out: Linux-guest suites left out by BOOTGATE_LINUX=0'],
    ]);
    expect(cases[1]!.properties).toMatchObject({ flaky: 'true', 'flaky.first-attempt': '/k/b.jsonl' });
  });

  test('a Surefire <flakyFailure> marks a pass flaky; <error> is a failure', () => {
    const cases = parseJunit(`<testsuite name="s"><testcase classname="c" name="x"><flakyFailure message="m"/></testcase><testcase classname="c" name="y"><error message="e"/></testcase></testsuite>`);
    expect(cases.map((c) => c.result)).toEqual(['flaky', 'failed']);
  });
});

describe('completeness', () => {
  const skipped = (message: string) => ({ testsuite: 's', classname: 'c', name: message, result: 'skipped' as const, message, properties: {} });

  test('an opt-out alone is incomplete by choice', () => {
    const c = completeness([skipped('opted out: BOOTGATE_LINUX=0'), skipped('qemu:tcg has no VMM quirk switches')]);
    expect(c).toEqual({ notRun: new Map([['BOOTGATE_LINUX=0', 1]]), optedOut: true, failed: 0 });
  });

  test('a testcase this host could not run makes it incomplete, not opted out', () => {
    const c = completeness([skipped('opted out: BOOTGATE_LINUX=0'), skipped('cannot run on this host: no QEMU')]);
    expect(c.optedOut).toBe(false);
    expect(c.notRun.size).toBe(2);
  });
});
