// Interrupt delivery without loss, Linux guest (Debian 6.1 + the irqtest probe) on the own VMM.
// The VMM's interrupt test device (1b36:0110) raises exactly N interrupts per command, over MSI
// and over INTx (PIIX3 PIRQ link → IOAPIC); the guest routes its IRQ to every CPU in turn
// (smp_affinity_list) and counts per CPU; a last round runs while the PIT fires IRQ 0 at 2 kHz
// (the seed's IRQ 0 starving IRQ 14); function-call IPIs go from CPU 0 and from the last CPU to
// every other CPU. What the guest counted must equal what the VMM raised and injected, exactly;
// interrupts must land on the CPU the guest chose; every IPI arrives; no dmesg trouble lines.
// The timer round also checks the PIT's rate: its ticks over the round's uptime window.
// Teeth: each quirk boot runs the same assertions; the one named for its bug must be among the
// failures, on the guest's own evidence: irq-to-bsp-only the CPU the guest saw the interrupt on,
// drop-every-nth-irq the guest's handled and lost counts against the device's raise counter,
// starve-low-priority-irq the guest's wait for the device interrupt while the timer ran against
// the same CPU without the timer. The JUnit properties teeth.seed/assertion/message carry that.
// Linux cannot run on this host's /dev/kvm (PVM): there the boots run in the nested lab
// (vmm:kvm@lab), all of them inside one lab VM; on a host with VT-x/SVM they boot directly.
// SMP 1, 2 and 8, plus the three quirks at SMP 2 (time: see README).

import { beforeAll, describe, expect, it } from 'vitest';
import type { BootResult } from '../targets/boot-result.js';
import { formatFailures, SEEDS, teethProperties } from './harness/failures.js';
import { checkInterrupts, IRQ, RATE_LOSS } from './harness/irq-check.js';
import type { LabBoot } from '../targets/vmm/lab-batch.js';
import { type LinuxRun, planLinuxRun, runLinuxBoots } from './harness/linux-runner.js';
import { parseProbeEvents } from './harness/probe.js';
import { bootMeta } from './harness/properties.js';

const SUITE = 'interrupts';
const PLAN = planLinuxRun();
const TARGET = PLAN.target;
const GUEST = 'debian-irqtest';
const MODES = ['msi', 'intx'];
const PER_CPU = 32;
const TIMER_HZ = 2000;
const SMPS = [1, 2, 8];
/**
 * The timer round's lower bound: natively the PIT's rate less RATE_LOSS (irq-check.ts); the nested
 * lab delivers 7-80 % of a 2 kHz PIT (TCG emulates every tick's exits), so there only "it ticked,
 * and never faster than its rate" is checked, and the lower bound is recorded as not observable.
 */
const IN_LAB = TARGET.endsWith('@lab');
const TIMER_OPTS = IN_LAB ? { minTimerShare: 0 } : {};
const TIMER_SKIPPED = IN_LAB
  ? [{ assertion: `${IRQ.timerRate}: at least ${Math.round((1 - RATE_LOSS) * 100)} % of ${TIMER_HZ} Hz`, reason: `${TARGET}: the nested lab delivers 144-1614 Hz of a ${TIMER_HZ} Hz PIT (TCG emulates each tick's exits); only the upper bound is checked there` }]
  : [];

// Each quirk shows in one mode. irq-to-bsp-only in INTx: a misdirected interrupt reaches CPU 0
// with the vector Linux gave the IRQ on another CPU: the guest counts it on CPU 0, or Linux says
// "0.36 No irq handler for vector" when that vector is free on CPU 0. A misdirected MSI in one lab
// run crashed the guest instead, which names no destination.
const QUIRKS = [
  { quirk: 'irq-to-bsp-only', modes: ['intx'], assertion: IRQ.destination },
  { quirk: 'drop-every-nth-irq', modes: ['msi'], assertion: IRQ.exact },
  { quirk: 'starve-low-priority-irq', modes: ['msi'], assertion: IRQ.starvation },
] as const;
const QUIRK_SMP = 2;

function boots(): LabBoot[] {
  const irqtest = `${MODES.join('+')},${PER_CPU},${TIMER_HZ}`;
  const base = { guest: GUEST, irqtest, timeoutS: 300, until: '@@bootgate \\{"event":"done"' };
  return [
    ...SMPS.map((smp) => ({ id: `smp${smp}`, req: { ...base, smp } })),
    ...QUIRKS.map(({ quirk, modes }) => ({ id: quirk, req: { ...base, irqtest: `${modes.join('+')},${PER_CPU},${TIMER_HZ}`, smp: QUIRK_SMP, quirks: [quirk] } })),
  ];
}

let batch: LinuxRun | undefined;
const unavailable = PLAN.unavailable;

beforeAll(async () => {
  if (!unavailable) batch = await runLinuxBoots(boots(), 3000);
}, 3_300_000);

function result(id: string): BootResult {
  const r = batch!.results.get(id);
  if (!r) throw new Error(`no result for boot ${id}`);
  return r;
}

describe(`interrupt delivery: ${GUEST} on ${TARGET}`, () => {
  for (const smp of SMPS) {
    it(`smp${smp}: MSI and INTx reach every CPU exactly, also under a 2 kHz timer; IPIs reach every CPU`, ({ task, skip }) => {
      if (unavailable) skip(unavailable);
      const r = result(`smp${smp}`);
      const events = parseProbeEvents(r.serial);
      const { rounds, failures } = checkInterrupts(r, events, smp, MODES, TIMER_OPTS);
      task.meta.bootgate = bootMeta({ suite: SUITE, target: TARGET, guest: GUEST, smp }, r, TIMER_SKIPPED, {
        'irq.rounds': rounds.length,
        'irq.per-cpu': PER_CPU,
        ...timerProperties(rounds),
        'lab.wall.ms': batch!.wallMs,
        'lab.lockups': batch!.lockups.join(' | ') || 'none',
      });
      expect(r.status, r.error?.message ?? r.diagnostic?.reason).toBe('until-matched');
      expect(events.find((e) => e.event === 'init')?.cpus, 'every vCPU online').toBe(smp);
      // Failures first: a reset mid-test also doubles the rounds, and the failures say why.
      expect(failures, formatFailures(failures)).toEqual([]);
      expect(rounds.length, 'one round per CPU per mode plus a timer round per mode').toBe(MODES.length * (smp + 1));
    });
  }

  for (const { quirk, modes, assertion } of QUIRKS) {
    it(`known-bad: --quirk ${quirk} fails "${assertion}" (what the guest saw)`, ({ task, skip }) => {
      if (unavailable) skip(unavailable);
      const r = result(quirk);
      const events = parseProbeEvents(r.serial);
      const { rounds, failures } = checkInterrupts(r, events, QUIRK_SMP, modes, TIMER_OPTS);
      task.meta.bootgate = bootMeta({ suite: SUITE, target: TARGET, guest: GUEST, smp: QUIRK_SMP, quirks: [quirk] }, r, TIMER_SKIPPED, {
        'expected.failure': true,
        ...timerProperties(rounds),
        'irq.findings': failures.slice(0, 5).map((f) => `[${f.assertion}] ${f.message}`).join(' | '),
        ...teethProperties(SEEDS.bhyve, assertion, failures),
      });
      expect(events.some((e) => e.event === 'irqtest-load'), `the probe never reached the test: ${r.error?.message ?? ''}`).toBe(true);
      expect(failures.map((f) => f.assertion), formatFailures(failures)).toContain(assertion);
    });
  }
});

/** The timer round's measured rate and the guest's wait per device interrupt, for the report. */
function timerProperties(rounds: ReturnType<typeof checkInterrupts>['rounds']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const x of rounds.filter((x) => x.timerHz > 0)) {
    const s = x.window ? x.window[1] - x.window[0] : Number.NaN;
    out[`irq.timer.${x.mode}`] = `${x.timerTicks} ticks in ${s.toFixed(2)} s (${Math.round(x.timerTicks / s)} Hz of ${x.timerHz}); ${x.handled}/${x.fired} handled in ${(x.fireUs / 1000).toFixed(1)} ms`;
  }
  for (const x of rounds.filter((x) => x.timerHz === 0 && x.cpu === 0)) out[`irq.plain.${x.mode}`] = `${x.handled}/${x.fired} handled in ${(x.fireUs / 1000).toFixed(1)} ms`;
  return out;
}
