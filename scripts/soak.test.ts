// npm run soak's pure parts: options, reading each run's JUnit files (host and @lab folders) and
// the per-testcase aggregation by identity, on fake JUnit files. It never starts vitest here.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { readJunit } from '../reports/read-junit.js';
import { aggregate, cutOffName, formatSoak, junitFiles, main, parseSoakArgs, priorRuns, RUN_RECORD, type RunRecord, resumeProblem, type SoakRun } from './soak.js';

function junit(cases: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="[conformance] suites/x.test.ts" tests="${cases.length}">${cases.join('')}</testsuite></testsuites>\n`;
}
const pass = (cls: string, name: string) => `<testcase classname="${cls}" name="${name}"/>`;
const fail = (cls: string, name: string) => `<testcase classname="${cls}" name="${name}"><failure message="expected 9 to be 10"/></testcase>`;
const skip = (cls: string, name: string) => `<testcase classname="${cls}" name="${name}"><skipped message="qemu:tcg has no VMM quirk switches"/></testcase>`;
const flaky = (cls: string, name: string) =>
  `<testcase classname="${cls}" name="${name}"><properties><property name="flaky" value="true"/><property name="flaky.attempts" value="2"/></properties><flakyError message="lab wedged" type="rerun"/></testcase>`;

const RV = 'bootgate.reset-vector.qemu:tcg';
const IRQ = 'bootgate.interrupts.vmm:kvm@lab';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bootgate-soak-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

function write(path: string, text: string): void {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), text);
}

function runsFromDisk(exitCodes: number[]): SoakRun[] {
  return exitCodes.map((exitCode, i) => ({ run: i + 1, wallMs: (i + 1) * 60_000, exitCode, cases: junitFiles(join(dir, `run-${i + 1}`)).flatMap((f) => readJunit(f)) }));
}

describe('aggregate', () => {
  test('pass rate per identity over the host and @lab reports of every run; a clean soak passes', () => {
    for (const run of ['run-1', 'run-2']) {
      write(`${run}/junit.xml`, junit([pass(RV, 'seabios-256k smp1'), pass(RV, 'seabios-256k smp1 quirk=no-high-bios-copy'), skip(RV, 'seabios smp1 quirk=x')]));
      write(`${run}/vmm_kvm@lab/junit.xml`, junit([pass(IRQ, 'debian-irqtest smp2'), pass(IRQ, 'debian-irqtest smp2 quirk=irq-to-bsp-only')]));
    }
    const runs = runsFromDisk([0, 0]);
    const v = aggregate(runs);
    expect(v.problems).toEqual([]);
    expect(v.tallies.map((t) => [t.id, t.passed, t.skipped])).toEqual([
      [`${IRQ} / debian-irqtest smp2`, 2, 0],
      [`${IRQ} / debian-irqtest smp2 quirk=irq-to-bsp-only`, 2, 0],
      [`${RV} / seabios smp1 quirk=x`, 0, 2],
      [`${RV} / seabios-256k smp1`, 2, 0],
      [`${RV} / seabios-256k smp1 quirk=no-high-bios-copy`, 2, 0],
    ]);
    const text = formatSoak(runs, v);
    expect(text).toContain('run 2: 120.0 s, exit 0, 5 testcases: 4 passed, 0 flaky, 0 failed, 1 skipped');
    expect(text).toContain(`      2/2 100%  ${IRQ} / debian-irqtest smp2\n`);
    expect(text).toContain('wall time: total 180.0 s, per run min 60.0 s, median 120.0 s, max 120.0 s');
    expect(text).toMatch(/flaky: 0, reruns: 0\nsoak: passed$/);
  });

  test('a testcase that failed once fails the soak, with its rate; flaky results and reruns are counted and fail it too', () => {
    write('run-1/junit.xml', junit([pass(IRQ, 'debian-irqtest smp8'), pass(IRQ, 'debian-irqtest smp2')]));
    write('run-2/junit.xml', junit([fail(IRQ, 'debian-irqtest smp8'), flaky(IRQ, 'debian-irqtest smp2')]));
    write('run-3/junit.xml', junit([pass(IRQ, 'debian-irqtest smp8'), pass(IRQ, 'debian-irqtest smp2')]));
    const runs = runsFromDisk([0, 1, 0]);
    const v = aggregate(runs);
    expect(v.flaky).toBe(1);
    expect(v.reruns).toBe(1);
    expect(v.problems).toEqual([
      'run 2: npm run conformance exited 1',
      '1 testcase failed in at least one run',
      '1 flaky result(s) and 1 rerun(s) although BOOTGATE_NO_RERUN=1',
    ]);
    const text = formatSoak(runs, v);
    expect(text).toContain(`      2/3  67%  ${IRQ} / debian-irqtest smp8  (1 FAILED)`);
    expect(text).toContain(`      2/3  67%  ${IRQ} / debian-irqtest smp2  (1 flaky)`);
    expect(text).toMatch(/soak: FAILED: /);
  });

  test('a run without reports, or a testcase missing from a run, fails the soak', () => {
    write('run-1/junit.xml', junit([pass(RV, 'seabios-256k smp1'), pass(RV, 'seabios-256k smp2')]));
    write('run-2/junit.xml', junit([pass(RV, 'seabios-256k smp1')]));
    const v = aggregate(runsFromDisk([0, 0, 0]));
    expect(v.problems).toEqual(['run 3: no testcases in its reports', '2 testcases missing from some runs\' reports']);
    expect(v.tallies.find((t) => t.id.endsWith('smp2'))!.absent).toBe(2);
  });
});

describe('parseSoakArgs', () => {
  test('--runs is required; --target repeats like conformance; positionals are filters', () => {
    expect(parseSoakArgs(['--runs', '3', '--target', 'qemu:tcg', 'reset-vector'])).toEqual({ help: false, runs: 3, targets: ['qemu:tcg'], out: undefined, resume: false, filters: ['reset-vector'] });
    expect(parseSoakArgs(['--runs', '1']).targets).toEqual(['vmm:kvm']);
    expect(() => parseSoakArgs([])).toThrow(/--runs must be an integer in \[1, 1000\], got nothing/);
    expect(() => parseSoakArgs(['--runs', '0'])).toThrow(TypeError);
    expect(() => parseSoakArgs(['--runs', '2', '--bogus'])).toThrow(/--bogus/);
  });

  test('bad options and bad targets exit 2 before any run', async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    await expect(main(['--runs', 'x'])).resolves.toBe(2);
    await expect(main(['--runs', '1', '--target', 'qemu:nosuchaccel'])).resolves.toBe(2);
    expect(errors).toHaveLength(2);
    expect(errors[1]).toMatch(/^soak: unknown accelerator "nosuchaccel"/);
  });
});

describe('resuming a soak over several sittings', () => {
  const record = (run: number, over: Partial<RunRecord> = {}): RunRecord => ({
    run,
    wallMs: 1_800_000,
    exitCode: 0,
    commit: 'abc1234',
    targets: ['vmm:kvm'],
    filters: [],
    finishedAt: '2026-12-05T00:00:00.000Z',
    ...over,
  });
  const now = { commit: 'abc1234', targets: ['vmm:kvm'], filters: [] };

  test('finished runs are read from their records, cut-off runs and set-aside ones are told apart', () => {
    write(`run-1/${RUN_RECORD}`, JSON.stringify(record(1)));
    write(`run-2/${RUN_RECORD}`, JSON.stringify(record(2, { exitCode: 1 })));
    write('run-3/junit.xml', junit([pass(RV, 'seabios-256k smp1')]));
    write(`${cutOffName(3, new Date('2026-12-04T10:00:00Z'))}/junit.xml`, junit([]));
    const p = priorRuns(dir);
    expect(p.finished.map((r) => [r.run, r.exitCode])).toEqual([
      [1, 0],
      [2, 1],
    ]);
    expect(p.cutOff).toEqual([3]);
    expect(p.setAside).toEqual(['run-3.cut-off-2026-12-04T10-00-00-000Z']);
    expect(priorRuns(join(dir, 'none'))).toEqual({ finished: [], cutOff: [], setAside: [] });
  });

  test('a resume of the same commit and options passes; another commit, other options, a gap or too many runs are refused', () => {
    expect(resumeProblem([record(1), record(2)], now, 10)).toBeUndefined();
    expect(resumeProblem([record(1), record(2, { commit: 'def5678-dirty' })], now, 10)).toMatch(/run-2 tested def5678-dirty, this checkout is abc1234: a soak measures one version/);
    expect(resumeProblem([record(1, { targets: ['qemu:tcg'] })], now, 10)).toMatch(/run-1 ran --target qemu:tcg/);
    expect(resumeProblem([record(1), record(3)], now, 10)).toMatch(/not run-1 to run-2 \(run-3/);
    expect(resumeProblem([record(1), record(2)], now, 1)).toMatch(/2 runs are finished already, more than --runs 1/);
  });

  test('--resume needs --out, and a folder holding runs is refused without --resume', async () => {
    expect(() => parseSoakArgs(['--runs', '2', '--resume'])).toThrow(/--resume needs the soak's folder/);
    expect(parseSoakArgs(['--runs', '2', '--resume', '--out', dir]).resume).toBe(true);
    write(`run-1/${RUN_RECORD}`, JSON.stringify(record(1)));
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    await expect(main(['--runs', '2', '--out', dir])).resolves.toBe(2);
    expect(errors[0]).toMatch(/holds runs already \(fix: --resume to continue that soak/);
    // Another commit's runs: refused before any run starts.
    write(`run-2/${RUN_RECORD}`, JSON.stringify(record(2, { commit: 'not-this-checkout' })));
    await expect(main(['--runs', '3', '--out', dir, '--resume'])).resolves.toBe(2);
    expect(errors[1]).toMatch(/cannot resume .*: run-1 tested abc1234, this checkout is/);
  });

  test('the report names the runs set aside', () => {
    const text = formatSoak([], aggregate([]), ['run-3.cut-off-x']);
    expect(text.split('\n')[0]).toBe('set aside (cut off before it finished; run again): run-3.cut-off-x');
  });
});
