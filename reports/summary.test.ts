import { describe, expect, test } from 'vitest';
import { type BootgateTestMeta, NOT_RUN_CANNOT } from '../suites/harness/meta.js';
import { renderSummary, runEndLines, type SummaryContext, type SummaryRow, verdictGrid } from './summary.js';

const context: SummaryContext = { date: new Date('2025-11-21T11:30:00Z'), host: 'Linux 6.8.0 x86_64', cpus: 2 };

function meta(overrides: Partial<BootgateTestMeta>): BootgateTestMeta {
  return {
    suite: 'reset-vector',
    target: 'vmm:kvm',
    guest: 'seabios-256k',
    smp: 1,
    quirks: [],
    properties: {},
    skipped: [],
    ...overrides,
  };
}

function row(overrides: Partial<SummaryRow>): SummaryRow {
  return { project: 'conformance', file: 'suites/boot.test.ts', name: 'boots', result: 'passed', durationMs: 1000, ...overrides };
}

const kvm = row({
  bootgate: meta({
    properties: {
      'milestone.reset-vector.ms': 3.25,
      'milestone.firmware-banner.ms': 41,
      'milestone.boot-attempt.ms': 800,
      'wall.ms': 912,
      'exits.total': 20466,
      'exits.io': 20001,
      'time.vcpu-run.pct': 61.234,
      'time.pio.pct': 30.06,
      'time.mmio.pct': 0.9,
      'port.1': '0x402:5100:12.3ms',
      'port.2': '0x70:2000:1.1ms',
      'port.3': '0x80:12:0.1ms',
      'port.4': '0x3f8:9:0.1ms',
      'region.1': 'pflash-vars:30703:1082.7ms',
    },
    skipped: [{ assertion: 'exact injected interrupt count', reason: 'not observable from the event stream' }],
  }),
});

const tcg = row({
  result: 'failed',
  error: 'AssertionError: expected banner within 5000 ms',
  bootgate: meta({
    target: 'qemu:tcg',
    smp: 2,
    quirks: ['no-pit', 'slow|io'],
    properties: { 'milestone.reset-vector.ms': 10, 'milestone.firmware-banner.ms': 200, 'wall.ms': '5001' },
  }),
});

const lab = row({
  result: 'skipped',
  skipReason: 'no lab host configured',
  bootgate: meta({ suite: 'pci-enum', target: 'vmm:kvm@lab', properties: { lab: true } }),
});

const unitPass = row({ project: 'unit', file: 'vmm/layout.test.ts', name: 'layout > is ordered' });
const unitFail = row({
  project: 'unit',
  file: 'vmm/bus.test.ts',
  name: 'bus > rejects overlap',
  result: 'failed',
  error: 'Error: expected `insert` to throw',
});
const unitSkip = row({ project: 'unit', file: 'vmm/bus.test.ts', name: 'bus > todo', result: 'skipped', skipReason: 'todo' });

describe('renderSummary', () => {
  const text = renderSummary([unitPass, tcg, kvm, unitFail, lab, unitSkip], context);
  const section = (title: string) => {
    const start = text.indexOf(`## ${title}\n`);
    expect(start, `section ${title}`).toBeGreaterThanOrEqual(0);
    const end = text.indexOf('\n## ', start + 1);
    return text.slice(start, end < 0 ? text.length : end + 1);
  };

  test('header names the date, host and totals', () => {
    expect(text.startsWith('# bootgate run summary\n\n')).toBe(true);
    expect(text).toContain(
      [
        '- date: 2025-11-21T11:30:00.000Z',
        '- host: Linux 6.8.0 x86_64, 2 CPUs',
        '- totals: 2 passed, 0 flaky, 2 failed, 2 skipped (conformance testcases: 1 passed, 0 flaky, 1 failed, 1 skipped; other tests: 1 passed, 0 flaky, 1 failed, 1 skipped)',
      ].join('\n'),
    );
  });

  test('table has one row per conformance testcase, sorted by suite/target/guest/smp', () => {
    expect(section('Conformance testcases')).toBe(
      [
        '## Conformance testcases',
        '',
        '| suite | target | guest | SMP | result | wall ms | reset-vector ms | firmware-banner ms | boot-attempt ms | exits | vCPU run % | PIO % | MMIO % | hottest ports | hottest MMIO regions | quirks |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        '| pci-enum | vmm:kvm@lab | seabios-256k | 1 | skipped | — | — | — | — | — | — | — | — | — | — | none |',
        '| reset-vector | qemu:tcg | seabios-256k | 2 | **failed** | 5001 | 10 | 200 | — | — | — | — | — | — | — | no-pit, slow\\|io |',
        '| reset-vector | vmm:kvm | seabios-256k | 1 | passed | 912 | 3.3 | 41 | 800 | 20466 | 61.2 | 30.1 | 0.9 | 0x402×5100, 0x70×2000, 0x80×12 | pflash-vars×30703 | none |',
        '',
        '',
      ].join('\n'),
    );
  });

  test('boot-time chart scales bars to the slowest and falls back to the last milestone', () => {
    expect(section('Boot time')).toBe(
      [
        '## Boot time',
        '',
        'Time to `login` (a Linux system), `init` (a Linux guest) or `boot-attempt` (firmware), else the last milestone reached, scaled to the slowest.',
        '',
        '```text',
        `reset-vector qemu:tcg seabios-256k smp2 quirk=no-pit+slow|io │${'█'.repeat(10)} 200 ms (firmware-banner)`,
        `reset-vector vmm:kvm seabios-256k smp1                       │${'█'.repeat(40)} 800 ms`,
        '```',
        '',
        '',
      ].join('\n'),
    );
  });

  test('failures list every failed test with its first error line', () => {
    expect(section('Failures')).toBe(
      [
        '## Failures',
        '',
        '- reset-vector qemu:tcg seabios-256k smp2 quirk=no-pit+slow|io: `AssertionError: expected banner within 5000 ms`',
        '- unit › vmm/bus.test.ts › bus > rejects overlap: ``Error: expected `insert` to throw``',
        '',
        '',
      ].join('\n'),
    );
  });

  test('skipped assertions carry their reasons; a skipped testcase says so', () => {
    expect(section('Skipped assertions')).toBe(
      [
        '## Skipped assertions',
        '',
        '- pci-enum vmm:kvm@lab seabios-256k smp1: whole test skipped: no lab host configured',
        '- reset-vector vmm:kvm seabios-256k smp1: exact injected interrupt count: not observable from the event stream',
        '',
      ].join('\n'),
    );
  });

  test('the same rows in another order render the same text', () => {
    expect(renderSummary([lab, kvm, unitSkip, tcg, unitFail, unitPass].reverse(), context)).toBe(
      renderSummary([unitPass, unitFail, tcg, unitSkip, kvm, lab], context),
    );
  });
});

describe('boot-time bars', () => {
  const bars = (values: number[]) => {
    const rows = values.map((ms, i) =>
      row({ bootgate: meta({ guest: `g${i}`, properties: { 'milestone.boot-attempt.ms': ms } }) }),
    );
    const text = renderSummary(rows, context);
    return [...text.matchAll(/│([█▏▎▍▌▋▊▉]*) /g)].map((m) => m[1]);
  };

  test('use eighth blocks and never vanish for a nonzero time', () => {
    expect(bars([1000, 500, 515, 1, 0])).toEqual([
      '█'.repeat(40),
      '█'.repeat(20),
      `${'█'.repeat(20)}▋`,
      '▏',
      '',
    ]);
  });
});

describe('empty runs', () => {
  test('say so instead of drawing empty tables', () => {
    const text = renderSummary([], context);
    expect(text).toContain('- totals: 0 passed, 0 flaky, 0 failed, 0 skipped');
    expect(text).toContain('_No conformance testcases in this run._');
    expect(text).toContain('_No boot milestones recorded._');
    expect(text.match(/_None\._/g)).toHaveLength(3);
    expect(text).toContain('_No known-bad runs in this run._');
    expect(text).not.toContain('incomplete');
  });
});

describe('teeth', () => {
  const teeth = { 'teeth.seed': '002_35dec85a0a72e2f0.txt', 'teeth.assertion': 'each CPU saw its interrupts', 'teeth.message': 'CPU 1 saw 0 of 10' };
  const irq = (quirk: string, properties: BootgateTestMeta['properties'], result: SummaryRow['result'] = 'passed') =>
    row({ result, bootgate: meta({ suite: 'interrupts', target: 'vmm:kvm@lab', guest: 'debian-irqtest', smp: 2, quirks: [quirk], properties }) });

  test('one row per known-bad run: quirk, seed, failing assertion, message; missing properties are flagged', () => {
    const text = renderSummary(
      [
        irq('irq-to-bsp-only', { 'expected.failure': true, ...teeth }),
        irq('drop-every-nth-irq', { 'expected.failure': 'true', 'teeth.seed': '003.txt' }),
        irq('starve-low-priority-irq', { 'expected.failure': true, ...teeth, 'teeth.message': 'did not fail' }, 'failed'),
        row({ bootgate: meta({ guest: 'good', properties: { 'teeth.seed': 'x' } }) }),
        // A harness negative test (a hung guest) expects a failure but runs no quirk: not teeth.
        row({ bootgate: meta({ guest: 'debian-probe bootgate.hang=1', properties: { 'expected.failure': true } }) }),
      ],
      context,
    );
    const start = text.indexOf('## Teeth (known-bad runs)\n');
    expect(text.slice(start, text.indexOf('\n## ', start + 1))).toBe(
      [
        '## Teeth (known-bad runs)',
        '',
        '| testcase | quirk | seed | failing assertion | message | result | flag |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        '| interrupts vmm:kvm@lab debian-irqtest smp2 quirk=drop-every-nth-irq | drop-every-nth-irq | 003.txt | — | — | passed | ⚠ missing teeth.assertion, teeth.message |',
        '| interrupts vmm:kvm@lab debian-irqtest smp2 quirk=irq-to-bsp-only | irq-to-bsp-only | 002_35dec85a0a72e2f0.txt | each CPU saw its interrupts | CPU 1 saw 0 of 10 | passed | ok |',
        '| interrupts vmm:kvm@lab debian-irqtest smp2 quirk=starve-low-priority-irq | starve-low-priority-irq | 002_35dec85a0a72e2f0.txt | each CPU saw its interrupts | did not fail | **failed** | ⚠ the quirk was not caught; ⚠ testcase failed |',
        '',
      ].join('\n'),
    );
  });
});

describe('flaky testcases', () => {
  const flaky = { reason: 'lab VM 1 wedged while the boot ran (soft lockup)', firstAttempt: '/r/kept/smp8.lab-1.jsonl', attempts: 2 };
  const text = renderSummary(
    [
      row({ bootgate: meta({ guest: 'debian-irqtest', smp: 8, flaky }) }),
      row({ result: 'failed', error: 'E: x', bootgate: meta({ guest: 'debian-irqtest', smp: 2, flaky }) }),
      row({ bootgate: meta({ guest: 'debian-irqtest', smp: 1 }) }),
    ],
    context,
  );

  test('are counted apart in the header and never shown as a plain pass', () => {
    expect(text).toContain('- totals: 1 passed, 1 flaky, 1 failed, 0 skipped');
    expect(text).toContain('| reset-vector | vmm:kvm | debian-irqtest | 8 | **flaky** |');
  });

  test('end the run\'s terminal output, one line each, with the totals and the report paths', () => {
    const rows = [
      row({ bootgate: meta({ guest: 'debian-irqtest', smp: 8, flaky }) }),
      row({ result: 'failed', error: 'E: x', bootgate: meta({ guest: 'debian-irqtest', smp: 2, flaky }) }),
      row({ result: 'skipped', skipReason: `${NOT_RUN_CANNOT}no lab here`, bootgate: meta({ guest: 'debian-irqtest', smp: 1 }) }),
    ];
    expect(runEndLines(rows, ['/r/junit.xml', '/r/summary.md'])).toEqual([
      'bootgate: 0 passed, 1 flaky, 1 failed, 1 skipped',
      'bootgate: incomplete: 1 testcase not run (no lab here)',
      'bootgate: FLAKY reset-vector vmm:kvm debian-irqtest smp8: passed on attempt 2; first attempt: lab VM 1 wedged while the boot ran (soft lockup); evidence: /r/kept/smp8.lab-1.jsonl',
      'bootgate: verdicts',
      '  suite         target   SMP 1      SMP 2       SMP 8        known-bad caught  not observable',
      '  reset-vector  vmm:kvm  not run 1  FAILED 1/1  ok, flaky 1  —                 —',
      'bootgate: reports: /r/junit.xml, /r/summary.md',
    ]);
    expect(runEndLines([], ['/r/junit.xml'])).toEqual(['bootgate: 0 passed, 0 flaky, 0 failed, 0 skipped', 'bootgate: reports: /r/junit.xml']);
  });

  test('the verdict grid: per suite and target, each SMP\'s good runs, the known-bad runs caught or missed, what could not be observed', () => {
    const skipped = [{ assertion: 'the VMM injected what the device raised', reason: 'edu counts nothing' }];
    const grid = verdictGrid([
      row({ bootgate: meta({ suite: 'interrupts', target: 'qemu:tcg', smp: 1, skipped }) }),
      row({ bootgate: meta({ suite: 'interrupts', target: 'qemu:tcg', smp: 2, skipped }) }),
      row({ bootgate: meta({ suite: 'interrupts', target: 'vmm:kvm', smp: 1 }) }),
      row({ result: 'failed', bootgate: meta({ suite: 'interrupts', target: 'vmm:kvm', smp: 2 }) }),
      row({ bootgate: meta({ suite: 'interrupts', target: 'vmm:kvm', smp: 2, quirks: ['irq-to-bsp-only'], properties: { 'expected.failure': true } }) }),
      row({ result: 'failed', bootgate: meta({ suite: 'interrupts', target: 'vmm:kvm', smp: 2, quirks: ['drop-every-nth-irq'], properties: { 'expected.failure': true } }) }),
      row({ result: 'skipped', skipReason: "qemu:tcg: QEMU's pci-testdev offers one 64-bit prefetchable BAR", bootgate: meta({ suite: 'bar-assignment', target: 'qemu:tcg', smp: 1 }) }),
    ]);
    expect(grid).toEqual([
      ['suite', 'target', 'SMP 1', 'SMP 2', 'known-bad caught', 'not observable'],
      ['bar-assignment', 'qemu:tcg', 'n/a 1', '—', '—', '—'],
      ['interrupts', 'qemu:tcg', 'ok', 'ok', '—', '1'],
      ['interrupts', 'vmm:kvm', 'ok', 'FAILED 1/1', 'MISSED 1/2', '—'],
    ]);
    expect(verdictGrid([])).toEqual([]);
  });

  test('say n/a for known-bad runs a target has no switch for, and not run for ones this host could not run', () => {
    const quirk = (target: string, skipReason: string) =>
      row({ result: 'skipped', skipReason, bootgate: meta({ suite: 'reset-vector', target, quirks: ['no-high-bios-copy'], properties: { 'expected.failure': true } }) });
    const grid = verdictGrid([
      row({ bootgate: meta({ target: 'qemu:tcg' }) }),
      quirk('qemu:tcg', 'qemu:tcg has no VMM quirk switches'),
      row({ bootgate: meta({ target: 'vmm:kvm@lab' }) }),
      quirk('vmm:kvm@lab', 'cannot run on this host: the lab did not start'),
    ]);
    expect(grid.slice(1).map((r) => [r[1], r[3]])).toEqual([
      ['qemu:tcg', 'n/a'],
      ['vmm:kvm@lab', 'not run 1'],
    ]);
    const mixed = verdictGrid([
      row({ bootgate: meta({ target: 'vmm:kvm@lab' }) }),
      row({ bootgate: meta({ target: 'vmm:kvm@lab', quirks: ['romd-unmapped'], properties: { 'expected.failure': true } }) }),
      quirk('vmm:kvm@lab', 'cannot run on this host: SMP 2 faults in the lab'),
    ]);
    expect(mixed[1]![3]).toBe('1/1, not run 1');
  });

  test('are listed with the first attempt\'s reason and evidence; a failed rerun is a failure, not a flake', () => {
    const start = text.indexOf('## Flaky (passed only on a rerun)\n');
    expect(text.slice(start, text.indexOf('\n## ', start + 1))).toBe(
      [
        '## Flaky (passed only on a rerun)',
        '',
        '- reset-vector vmm:kvm debian-irqtest smp8: passed on attempt 2; first attempt: `lab VM 1 wedged while the boot ran (soft lockup)`; evidence: `/r/kept/smp8.lab-1.jsonl`',
        '',
      ].join('\n'),
    );
  });
});

describe('incomplete runs', () => {
  const skipped = (skipReason: string) => row({ file: 'suites/bios-reboot.test.ts', result: 'skipped', skipReason });

  test('testcases left out by an opt-out are counted with the reason in the header', () => {
    const text = renderSummary([skipped('opted out: Linux-guest suites left out by BOOTGATE_LINUX=0'), skipped('opted out: Linux-guest suites left out by BOOTGATE_LINUX=0')], context);
    expect(text).toContain('- **incomplete: 2 testcases not run (Linux-guest suites left out by BOOTGATE_LINUX=0) (opted out)**');
  });

  test('a host that cannot run them is incomplete without the opt-out note; ordinary skips do not count', () => {
    const text = renderSummary(
      [skipped('cannot run on this host: no KVM; and the nested lab cannot run: no QEMU'), skipped('opted out: BOOTGATE_LINUX=0'), skipped('qemu:tcg has no VMM quirk switches')],
      context,
    );
    expect(text).toContain('- **incomplete: 2 testcases not run (1: no KVM; and the nested lab cannot run: no QEMU; 1: BOOTGATE_LINUX=0)**');
  });
});

describe('targets side by side', () => {
  const section = (text: string) => {
    const start = text.indexOf('## Targets side by side\n');
    expect(start).toBeGreaterThanOrEqual(0);
    return text.slice(start, text.indexOf('\n## ', start + 1) + 1);
  };
  const boot = (target: string, guest: string, smp: number, ms: number | undefined, extra: Partial<SummaryRow> = {}) =>
    row({ ...extra, bootgate: meta({ target, guest, smp, properties: ms === undefined ? {} : { 'milestone.boot-attempt.ms': ms } }) });

  test('boot-attempt ms per target for the same suite/guest/SMP, with the ratio to the own VMM', () => {
    const text = renderSummary(
      [
        boot('qemu:tcg', 'seabios-256k', 1, 182),
        boot('vmm:kvm', 'seabios-256k', 1, 4800),
        boot('qemu:kvm', 'seabios-256k', 1, 6400),
        boot('vmm:kvm', 'seabios', 1, 4000),
        boot('qemu:tcg', 'seabios', 1, 115.4),
        boot('vmm:kvm', 'seabios-256k', 8, 9000, { result: 'failed', error: 'AssertionError: x' }),
        boot('qemu:tcg', 'seabios-256k', 8, undefined),
        boot('vmm:kvm', 'seabios-256k', 2, 5000), // no other target ran it: no row
        boot('qemu:tcg', 'probe-rom-write', 1, undefined),
        boot('vmm:kvm', 'probe-rom-write', 1, undefined), // no boot attempt anywhere: no row
      ],
      context,
    );
    expect(section(text)).toBe(
      [
        '## Targets side by side',
        '',
        "Time to the boot's end (`login`, `init` or `boot-attempt`, the first any target reached) for the same suite, guest and SMP on each target; a ratio below 1 means vmm:kvm got there faster.",
        '',
        '| suite | guest | SMP | to | vmm:kvm ms | qemu:kvm ms | qemu:tcg ms | vmm:kvm ÷ qemu:kvm | vmm:kvm ÷ qemu:tcg |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        '| reset-vector | seabios | 1 | boot-attempt | 4000 | — | 115 | — | 34.66 |',
        '| reset-vector | seabios-256k | 1 | boot-attempt | 4800 | 6400 | 182 | 0.75 | 26.37 |',
        '| reset-vector | seabios-256k | 8 | boot-attempt | 9000 | — | — | — | — |',
        '',
        '',
      ].join('\n'),
    );
  });

  test('without the own VMM the first target is the reference; quirked cases compare only with the same quirks', () => {
    const q = (target: string, ms: number, quirks: string[] = []) => row({ bootgate: meta({ target, quirks, properties: { 'milestone.boot-attempt.ms': ms } }) });
    const text = renderSummary([q('qemu:tcg', 200), q('qemu:kvm', 6000), q('vmm:kvm', 100, ['no-high-bios-copy'])], context);
    expect(section(text)).toContain('| reset-vector | seabios-256k | 1 | boot-attempt | 6000 | 200 | 30.00 |');
    expect(section(text)).toContain('| suite | guest | SMP | to | qemu:kvm ms | qemu:tcg ms | qemu:kvm ÷ qemu:tcg |');
    expect(section(text)).not.toContain('no-high-bios-copy');
  });

  test('Linux boots compare at the login prompt (or init) when any target reached it, firmware at its boot attempt', () => {
    const linux = (target: string, props: Record<string, number>) => row({ bootgate: meta({ suite: 'debian-disk', target, guest: 'debian-disk', smp: 2, properties: props }) });
    const text = renderSummary(
      [
        linux('vmm:kvm', { 'milestone.boot-attempt.ms': 900, 'milestone.login.ms': 60_000 }),
        linux('qemu:tcg', { 'milestone.boot-attempt.ms': 300, 'milestone.login.ms': 20_000 }),
      ],
      context,
    );
    expect(section(text)).toContain('| debian-disk | debian-disk | 2 | login | 60000 | 20000 | 3.00 |');
    // The chart times each boot to the same end.
    expect(text).toMatch(/debian-disk.*│.* 60000 ms \(login\)/);
  });

  test('a run on one target says there is nothing to compare', () => {
    expect(section(renderSummary([kvm], context))).toContain('_No suite, guest and SMP reached a boot attempt on more than one target in this run._');
  });
});
