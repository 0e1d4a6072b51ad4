import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { BootgateTestMeta } from '../suites/harness/meta.js';
import type { ReportCase, ReportError, ReportModule, ReportModuleRef, ReportSuite } from './collect.js';
import { BootgateJunitReporter } from './junit-reporter.js';
import { findAll, parseXml, textOf, type XmlElement, XmlSyntaxError } from './minixml.js';

// Minimal fakes of vitest's reported tasks, shaped like the interfaces in collect.ts.

interface FakeTest {
  name: string;
  state?: 'passed' | 'failed' | 'skipped' | 'pending';
  mode?: 'run' | 'skip' | 'todo';
  note?: string;
  durationMs?: number;
  errors?: ReportError[];
  bootgate?: BootgateTestMeta;
}

interface FakeDescribe {
  describe: string;
  children: Array<FakeTest | FakeDescribe>;
  errors?: ReportError[];
}

function fakeModule(project: string, file: string, children: Array<FakeTest | FakeDescribe>, errors: ReportError[] = []): ReportModule {
  const tests: ReportCase[] = [];
  const suites: ReportSuite[] = [];
  const walk = (nodes: Array<FakeTest | FakeDescribe>, parent: ReportSuite | ReportModuleRef) => {
    for (const node of nodes) {
      if ('describe' in node) {
        const suite: ReportSuite = { type: 'suite', name: node.describe, parent, errors: () => node.errors ?? [] };
        suites.push(suite);
        walk(node.children, suite);
      } else {
        tests.push(fakeCase(node, parent));
      }
    }
  };
  walk(children, { type: 'module' });
  return {
    relativeModuleId: file,
    project: { name: project },
    children: { allTests: () => tests, allSuites: () => suites },
    errors: () => errors,
    diagnostic: () => ({ duration: 4321 }),
  };
}

function fakeCase(t: FakeTest, parent: ReportSuite | ReportModuleRef): ReportCase {
  const state = t.state ?? 'passed';
  return {
    name: t.name,
    parent,
    options: { mode: t.mode ?? 'run' },
    result: () => ({ state, errors: t.errors, note: t.note }),
    diagnostic: () => (state === 'skipped' ? undefined : { duration: t.durationMs ?? 0 }),
    meta: () => (t.bootgate === undefined ? {} : { bootgate: t.bootgate }),
  };
}

function bootMeta(overrides: Partial<BootgateTestMeta> = {}): BootgateTestMeta {
  return {
    suite: 'reset-vector',
    target: 'vmm:kvm',
    guest: 'seabios-256k',
    smp: 1,
    quirks: [],
    properties: { 'milestone.reset-vector.ms': 3.5, 'milestone.boot-attempt.ms': 812, 'exits.total': 20466, 'port.1': '0x402:5100:12.3ms' },
    skipped: [{ assertion: 'exact injected interrupt count', reason: 'not observable' }],
    serialTail: 'SeaBIOS (version 1.16.3)\nBooting from Hard Disk...\n',
    diagnostic: 'rip=0xfff0',
    ...overrides,
  };
}

const assertionError: ReportError = {
  name: 'AssertionError',
  message: 'expected banner within 5000 ms\nsecond line of detail',
  stack: 'AssertionError: expected banner within 5000 ms\n    at suites/boot.test.ts:12:7',
  diff: '- Expected\n+ Received\n\n- "SeaBIOS"\n+ ""',
};

const conformance = fakeModule('conformance', 'suites/reset-vector.test.ts', [
  { name: 'boots kvm', durationMs: 1234.4, bootgate: bootMeta() },
  {
    name: 'boots tcg',
    state: 'failed',
    durationMs: 5001,
    errors: [assertionError],
    bootgate: bootMeta({ target: 'qemu:tcg', smp: 2, quirks: ['no-pit', 'slow-io'], properties: { lab: true, 'wall.ms': 5001 } }),
  },
  { name: 'boots lab', state: 'skipped', note: 'no /dev/kvm', bootgate: bootMeta({ target: 'vmm:kvm@lab', skipped: [] }) },
]);

const unit = fakeModule('unit', 'vmm/bus.test.ts', [
  { describe: 'bus', children: [{ describe: 'insert', children: [{ name: 'rejects overlap', durationMs: 2 }] }] },
  { name: 'later', state: 'skipped', mode: 'todo' },
  { name: 'throws', state: 'failed', errors: [{ name: 'TypeError', message: 'boom', stack: 'TypeError: boom\n    at x' }] },
]);

let dir: string;
let stdout: { mock: { calls: unknown[][] } };
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bootgate-junit-'));
  // The reporter's end-of-run lines go to stdout; kept here for the test that reads them.
  stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

function run(modules: ReportModule[], options: { alwaysOutput?: boolean; unhandled?: ReportError[] } = {}) {
  const outputDir = join(dir, 'nested', 'out');
  new BootgateJunitReporter({ outputDir, alwaysOutput: options.alwaysOutput }).onTestRunEnd(modules, options.unhandled ?? []);
  return {
    root: parseXml(readFileSync(join(outputDir, 'junit.xml'), 'utf8')),
    summary: readFileSync(join(outputDir, 'summary.md'), 'utf8'),
  };
}

function testcase(root: XmlElement, classname: string, name: string): XmlElement {
  const found = findAll(root, 'testcase').filter((c) => c.attributes.classname === classname && c.attributes.name === name);
  expect(found, `testcase ${classname} / ${name}`).toHaveLength(1);
  return found[0]!;
}

function properties(el: XmlElement): Array<[string, string]> {
  return findAll(el, 'property').map((p) => [p.attributes.name!, p.attributes.value!]);
}

function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c): c is XmlElement => typeof c !== 'string' && c.name === name);
}

describe('junit.xml', () => {
  test('has one testsuite per (project, file) with the right counts', () => {
    const { root } = run([conformance, unit]);
    expect(root.name).toBe('testsuites');
    expect(root.attributes).toMatchObject({ name: 'bootgate', tests: '6', failures: '2', errors: '0', skipped: '2' });
    const suites = findAll(root, 'testsuite');
    expect(suites.map((s) => [s.attributes.name, s.attributes.tests, s.attributes.time])).toEqual([
      ['[conformance] suites/reset-vector.test.ts', '3', '4.321'],
      ['[unit] vmm/bus.test.ts', '3', '4.321'],
    ]);
    expect(properties(child(suites[1]!, 'properties')!)).toEqual([
      ['project', 'unit'],
      ['file', 'vmm/bus.test.ts'],
    ]);
  });

  test('a passing conformance test carries its properties and no output', () => {
    const { root } = run([conformance]);
    const tc = testcase(root, 'bootgate.reset-vector.vmm:kvm', 'seabios-256k smp1');
    expect(tc.attributes.time).toBe('1.234');
    expect(tc.attributes.file).toBe('suites/reset-vector.test.ts');
    expect(properties(tc)).toEqual([
      ['milestone.reset-vector.ms', '3.5'],
      ['milestone.boot-attempt.ms', '812'],
      ['exits.total', '20466'],
      ['port.1', '0x402:5100:12.3ms'],
      ['target', 'vmm:kvm'],
      ['guest', 'seabios-256k'],
      ['smp', '1'],
      ['quirks', 'none'],
      ['lab', 'false'],
      ['skipped.1', 'exact injected interrupt count: not observable'],
    ]);
    expect(child(tc, 'failure')).toBeUndefined();
    expect(child(tc, 'system-out')).toBeUndefined();
  });

  test('a failing conformance test has the failure and the serial tail', () => {
    const { root } = run([conformance]);
    const tc = testcase(root, 'bootgate.reset-vector.qemu:tcg', 'seabios-256k smp2 quirk=no-pit+slow-io');
    expect(properties(tc)).toEqual([
      ['wall.ms', '5001'],
      ['target', 'qemu:tcg'],
      ['guest', 'seabios-256k'],
      ['smp', '2'],
      ['quirks', 'no-pit,slow-io'],
      ['lab', 'true'],
      ['skipped.1', 'exact injected interrupt count: not observable'],
    ]);
    const failure = child(tc, 'failure')!;
    expect(failure.attributes).toEqual({ message: 'expected banner within 5000 ms', type: 'AssertionError' });
    expect(textOf(failure)).toBe(`${assertionError.stack}\n\n${assertionError.diff}`);
    expect(textOf(child(tc, 'system-out')!)).toBe(
      '--- serial tail ---\nSeaBIOS (version 1.16.3)\nBooting from Hard Disk...\n\n--- diagnostic ---\nrip=0xfff0',
    );
  });

  test('skipped tests say why', () => {
    const { root } = run([conformance, unit]);
    expect(child(testcase(root, 'bootgate.reset-vector.vmm:kvm@lab', 'seabios-256k smp1'), 'skipped')!.attributes).toEqual({
      message: 'no /dev/kvm',
    });
    expect(child(testcase(root, 'vmm/bus.test.ts', 'later'), 'skipped')!.attributes).toEqual({ message: 'todo' });
  });

  test('other tests are named by file and describe path, without properties', () => {
    const { root } = run([unit]);
    const tc = testcase(root, 'vmm/bus.test.ts > bus > insert', 'rejects overlap');
    expect(tc.attributes.time).toBe('0.002');
    expect(findAll(tc, 'property')).toEqual([]);
    const failed = testcase(root, 'vmm/bus.test.ts', 'throws');
    expect(child(failed, 'failure')!.attributes).toEqual({ message: 'boom', type: 'TypeError' });
    expect(child(failed, 'system-out')).toBeUndefined();
  });

  test('alwaysOutput writes system-out for passing conformance tests too', () => {
    const { root } = run([conformance], { alwaysOutput: true });
    const out = child(testcase(root, 'bootgate.reset-vector.vmm:kvm', 'seabios-256k smp1'), 'system-out');
    expect(textOf(out!)).toContain('Booting from Hard Disk...');
  });

  test(`BOOTGATE_JUNIT_ALWAYS_OUTPUT turns it on; "0" keeps it off`, () => {
    vi.stubEnv('BOOTGATE_JUNIT_ALWAYS_OUTPUT', '1');
    expect(child(testcase(run([conformance]).root, 'bootgate.reset-vector.vmm:kvm', 'seabios-256k smp1'), 'system-out')).toBeDefined();
    vi.stubEnv('BOOTGATE_JUNIT_ALWAYS_OUTPUT', '0');
    expect(child(testcase(run([conformance]).root, 'bootgate.reset-vector.vmm:kvm', 'seabios-256k smp1'), 'system-out')).toBeUndefined();
  });

  test('serial output that would break the XML is made safe and kept', () => {
    const nasty = 'a]]>b]]>c]]]>\u0000\u001b[31mred\u001b[0m <tag> & "q"';
    const { root } = run([
      fakeModule('conformance', 'suites/x.test.ts', [
        { name: 'x', state: 'failed', errors: [{ message: 'x', stack: nasty }], bootgate: bootMeta({ serialTail: nasty, diagnostic: '' }) },
      ]),
    ]);
    const tc = testcase(root, 'bootgate.reset-vector.vmm:kvm', 'seabios-256k smp1');
    const clean = 'a]]>b]]>c]]]>red <tag> & "q"';
    expect(textOf(child(tc, 'system-out')!)).toBe(`--- serial tail ---\n${clean}`);
    expect(textOf(child(tc, 'failure')!)).toBe(clean);
  });

  test('a failing test without serial output still says so', () => {
    const { root } = run([
      fakeModule('conformance', 'suites/x.test.ts', [
        { name: 'x', state: 'failed', errors: [], bootgate: bootMeta({ serialTail: undefined, diagnostic: undefined }) },
      ]),
    ]);
    const tc = testcase(root, 'bootgate.reset-vector.vmm:kvm', 'seabios-256k smp1');
    expect(child(tc, 'failure')!.attributes).toEqual({ message: 'failed', type: 'Error' });
    expect(textOf(child(tc, 'system-out')!)).toBe('--- serial tail ---\n(no serial output captured)');
  });

  test('errors outside tests and unhandled errors become <error> testcases', () => {
    const broken = fakeModule(
      'conformance',
      'suites/broken.test.ts',
      [{ describe: 'group', children: [], errors: [{ name: 'Error', message: 'beforeAll failed' }] }],
      [{ name: 'SyntaxError', message: 'Unexpected token', stack: 'SyntaxError: Unexpected token\n    at broken.test.ts:1:1' }],
    );
    const { root, summary } = run([broken], { unhandled: [{ name: 'Error', message: 'late rejection' }] });
    expect(root.attributes).toMatchObject({ tests: '2', errors: '2', failures: '0' });
    const moduleError = child(testcase(root, 'suites/broken.test.ts', '(errors outside tests)'), 'error')!;
    expect(moduleError.attributes).toEqual({ message: 'Unexpected token', type: 'SyntaxError' });
    expect(textOf(moduleError)).toContain('beforeAll failed');
    expect(child(testcase(root, 'vitest.unhandled', 'unhandled error 1'), 'error')!.attributes.message).toBe('late rejection');
    expect(summary).toContain('SyntaxError: Unexpected token');
  });
});

describe('summary.md', () => {
  test('is written beside junit.xml from the same run', () => {
    const { summary } = run([conformance, unit]);
    expect(summary).toContain('- totals: 2 passed, 0 flaky, 2 failed, 2 skipped');
    expect(summary).toContain('| reset-vector | vmm:kvm | seabios-256k | 1 | passed | — | 3.5 | — | 812 | 20466 | — | — | — | 0x402×5100 | — | none |');
    expect(summary).toContain('- unit › vmm/bus.test.ts › throws: `TypeError: boom`');
  });
});

describe('the reporter never sinks the run', () => {
  test('an unwritable output directory costs one warning line', () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, '');
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(() => new BootgateJunitReporter({ outputDir: join(file, 'out') }).onTestRunEnd([conformance], [])).not.toThrow();
    expect(write).toHaveBeenCalledTimes(1);
    expect(String(write.mock.calls[0]![0])).toMatch(/^bootgate junit reporter: no report written to .*not-a-dir\/out: .+\n$/);
  });

  test('a module that throws while being read costs one warning line', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const hostile = { ...conformance, errors: () => { throw new Error('gone'); } };
    expect(() => new BootgateJunitReporter({ outputDir: dir }).onTestRunEnd([hostile], [])).not.toThrow();
    expect(write).toHaveBeenCalledTimes(1);
    expect(String(write.mock.calls[0]![0])).toContain(': gone\n');
  });

  test('ends the run on stdout with the totals and where the reports are', () => {
    run([unit]);
    const printed = stdout.mock.calls.map((c: unknown[]) => String(c[0])).join('');
    expect(printed).toMatch(/^bootgate: \d+ passed, 0 flaky, \d+ failed, \d+ skipped\n/);
    expect(printed).toContain(`bootgate: reports: ${join(dir, 'nested', 'out', 'junit.xml')}, ${join(dir, 'nested', 'out', 'summary.md')}\n`);
  });

  test('a relative outputDir resolves against vitest root', () => {
    const reporter = new BootgateJunitReporter({ outputDir: 'rel/out' });
    reporter.onInit({ config: { root: dir } });
    reporter.onTestRunEnd([unit], []);
    expect(() => parseXml(readFileSync(join(dir, 'rel', 'out', 'junit.xml'), 'utf8'))).not.toThrow();
  });

  test('a bad option throws when the config is loaded', () => {
    expect(() => new BootgateJunitReporter({ outputDir: '' })).toThrow(/outputDir/);
    expect(() => new BootgateJunitReporter({ alwaysOutput: 'yes' as unknown as boolean })).toThrow(/alwaysOutput/);
  });
});

describe('minixml rejects what is not well-formed', () => {
  test.each([
    ['<a><b></a></b>', /<\/a> closes <b>/],
    ['<a>x & y</a>', /bare "&"/],
    ['<a></a><b/>', /content after the root/],
    ['<a><![CDATA[x</a>', /unterminated/],
    ['<a x="1" x="2"/>', /duplicate attribute/],
    ['<a x="<"/>', /"<" in an attribute/],
    ['<a>]]></a>', /"]]>" in text/],
    ['<a>\u0001</a>', /not allowed/],
    ['<a>', /unclosed <a>/],
  ])('%s', (xml, message) => {
    expect(() => parseXml(xml)).toThrow(XmlSyntaxError);
    expect(() => parseXml(xml)).toThrow(message);
  });

  test('and reads back what is', () => {
    const root = parseXml('<?xml version="1.0"?>\n<!-- c --><a k="&lt;&#xA;&#65;"><b/>t&amp;<![CDATA[<x>]]></a>\n');
    expect(root.attributes.k).toBe('<\nA');
    expect(textOf(root)).toBe('t&<x>');
  });
});
