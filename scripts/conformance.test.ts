// scripts/conformance.ts before it hands over to vitest: options, and the one-line answers to a
// target that cannot run (unknown name, unknown accelerator, missing QEMU) with exit code 2.
// It never starts vitest here (that would overwrite this run's reports).

import { afterEach, describe, expect, test, vi } from 'vitest';
import type { JunitCase } from '../reports/read-junit.js';
import { checkTargets, judgeReports, main, parseConformanceArgs, reportDirOf } from './conformance.js';

afterEach(() => vi.restoreAllMocks());

describe('parseConformanceArgs', () => {
  test('defaults to the own VMM; --target repeats or takes commas; positionals are vitest filters', () => {
    expect(parseConformanceArgs([])).toEqual({ help: false, targets: ['vmm:kvm'], filters: [] });
    expect(parseConformanceArgs(['--target', 'qemu:tcg'])).toEqual({ help: false, targets: ['qemu:tcg'], filters: [] });
    expect(parseConformanceArgs(['--target', 'vmm:kvm,qemu:tcg', '--target', 'qemu:kvm', '--target=qemu:tcg', 'reset-vector']).targets).toEqual([
      'vmm:kvm',
      'qemu:tcg',
      'qemu:kvm',
    ]);
    expect(parseConformanceArgs(['reset-vector', '-h'])).toEqual({ help: true, targets: ['vmm:kvm'], filters: ['reset-vector'] });
  });

  test('an unknown option is a TypeError naming it', () => {
    expect(() => parseConformanceArgs(['--targets', 'qemu:tcg'])).toThrow(TypeError);
    expect(() => parseConformanceArgs(['--targets', 'qemu:tcg'])).toThrow(/--targets/);
  });
});

describe('checkTargets', () => {
  test('the own VMM and the accelerators this QEMU has pass', () => {
    expect(checkTargets(['vmm:kvm', 'qemu:tcg', 'qemu:kvm'])).toBeUndefined();
  });

  test('one line naming the bad name and the fix', () => {
    expect(checkTargets(['vmm:kvm', 'bhyve'])).toMatch(
      /^unknown target "bhyve" \(known: vmm:kvm, .*qemu:<accel>, and each of them with @lab\) \(fix: --target vmm:kvm or --target qemu:<accel>, e.g\. qemu:tcg\)$/,
    );
    expect(checkTargets(['qemu:'])).toMatch(/^invalid target qemu:: the accelerator must be a name/);
    expect(checkTargets(['qemu:nvmm'])).toMatch(/^unknown accelerator "nvmm" in target qemu:nvmm: \S+qemu-system-x86_64 has tcg, kvm.*\(fix: use qemu:tcg or qemu:kvm/);
    expect(checkTargets(['qemu:tcg'], { ...process.env, QEMU: '/nonexistent' })).toMatch(/^qemu:tcg: bootgate: E_CONFIG: QEMU binary \/nonexistent not found \(fix: apt-get install qemu-system-x86/);
  });
});

describe('main', () => {
  test('a bad target exits 2 with exactly one line on stderr, before anything runs', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    vi.spyOn(console, 'log').mockImplementation(() => {});
    await expect(main(['--target', 'qemu:tcg,qemu:nosuchaccel'])).resolves.toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^conformance: unknown accelerator "nosuchaccel" in target qemu:nosuchaccel: .* \(fix: use qemu:tcg or qemu:kvm\)$/);
    errors.length = 0;
    await expect(main(['--bogus'])).resolves.toBe(2);
    expect(errors).toEqual([expect.stringMatching(/^conformance: Unknown option '--bogus'.*\(fix: see --help\)$/)]);
  });

  test('--help prints the usage', async () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    await expect(main(['--help'])).resolves.toBe(0);
    expect(out.join('\n')).toContain('qemu:<accel>');
  });
});

describe('judgeReports', () => {
  const tc = (result: JunitCase['result'], message?: string): JunitCase => ({ testsuite: 's', classname: 'c', name: `${result} ${message}`, result, message, properties: {} });

  test('a complete run with only passes, flakes and ordinary skips passes', () => {
    expect(judgeReports([{ dir: 'reports/out', cases: [tc('passed'), tc('flaky'), tc('skipped', 'qemu:tcg has no VMM quirk switches')] }])).toEqual({ fail: false, lines: [] });
  });

  test('BOOTGATE_LINUX=0 is printed as incomplete but does not fail', () => {
    const v = judgeReports([{ dir: 'reports/out', cases: [tc('passed'), tc('skipped', 'opted out: Linux-guest suites left out by BOOTGATE_LINUX=0'), tc('skipped', 'opted out: Linux-guest suites left out by BOOTGATE_LINUX=0')] }]);
    expect(v).toEqual({ fail: false, lines: ['incomplete by explicit opt-out: 2 testcases not run (2: Linux-guest suites left out by BOOTGATE_LINUX=0)'] });
  });

  test('testcases this host could not run fail the run, with the reason', () => {
    const v = judgeReports([{ dir: 'reports/out', cases: [tc('skipped', 'cannot run on this host: no native KVM; and the nested lab cannot run: no QEMU')] }]);
    expect(v.fail).toBe(true);
    expect(v.lines).toEqual([expect.stringMatching(/^incomplete: 1 testcase not run \(1: no native KVM; and the nested lab cannot run: no QEMU\); a run that leaves out/)]);
  });

  test('a failed testcase in the report, or no report at all, fails the run', () => {
    expect(judgeReports([{ dir: 'reports/out', cases: [tc('failed', 'DuplicateIdentityError: ...')] }])).toEqual({ fail: true, lines: ['1 testcase failed (reports/out/summary.md)'] });
    expect(judgeReports([{ dir: 'reports/out/vmm_kvm@lab', cases: undefined }]).fail).toBe(true);
  });
});

describe('reportDirOf', () => {
  test('BOOTGATE_REPORT_DIR moves the run\'s reports (every target in one folder)', () => {
    expect(reportDirOf({})).toBe('reports/out');
    expect(reportDirOf({ BOOTGATE_REPORT_DIR: 'reports/soak/run-1' })).toBe('reports/soak/run-1');
  });
});
