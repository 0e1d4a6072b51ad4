// Interrupt-delivery checker: compares what the probe's irqtest rounds counted (per CPU, per
// mode) with what the VMM raised and injected, and names the bug when they differ: interrupts
// arriving on the wrong CPU (destination ignored), interrupts lost on the way, the device's
// interrupt starved while a fast timer runs, trouble lines in dmesg.

import { describeFault } from '../../vmm/vcpu/fault-registers.js';
import type { BootResult } from './boot-result.js';
import { eventsOf } from './boot-result.js';
import type { ProbeEvent } from './probe.js';

export interface IrqRound {
  mode: string;
  cpu: number;
  fired: number;
  ok: boolean;
  timerHz: number;
  counts: number[];
  handled: number;
  lost: number;
  timerTicks: number;
  raised: number;
}

export interface IrqFindings {
  rounds: IrqRound[];
  findings: string[];
}

interface RoundEvent {
  cpu: number;
  fired: number;
  ok: boolean;
  timerHz: number;
  raisedBefore: number | null;
  timer: number[];
  stats: { mode: string; handled: number; lost: number; counts: number[]; device: { raised: number } };
}

export function irqRounds(events: readonly ProbeEvent[]): IrqRound[] {
  return events
    .filter((e) => e.event === 'irqtest-round')
    .map((e) => {
      const r = e as unknown as RoundEvent;
      return {
        mode: r.stats.mode,
        cpu: r.cpu,
        fired: r.fired,
        ok: r.ok,
        timerHz: r.timerHz,
        counts: r.stats.counts,
        handled: r.stats.handled,
        lost: r.stats.lost,
        timerTicks: (r.timer ?? []).reduce((a, b) => a + b, 0),
        raised: r.raisedBefore === null ? Number.NaN : r.stats.device.raised - r.raisedBefore,
      };
    });
}

/** Every way the rounds, the VMM's counters and the guest's dmesg disagree, in words. */
export function checkInterrupts(r: BootResult, events: readonly ProbeEvent[], cpus: number, modes: readonly string[]): IrqFindings {
  const rounds = irqRounds(events);
  const findings: string[] = [];
  // The VMM's counters (the irq-test device and the interrupt path), read once.
  const vmm = eventsOf(r, 'irq-test')[0] as unknown as
    | {
        device: { raised: { intx: number; msi: number } };
        path: { injected: number; dropped: number; held: number; undeliveredMsis?: number; undeliveredSamples?: string[] };
      }
    | undefined;
  const raised = vmm ? vmm.device.raised.intx + vmm.device.raised.msi : undefined;
  // Every interrupt the device raised went into KVM, and KVM found a local APIC for every MSI.
  const vmmDeliveredAll = vmm !== undefined && vmm.path.injected === raised && (vmm.path.undeliveredMsis ?? 0) === 0;
  for (const mode of modes) {
    const seen = rounds.filter((x) => x.mode === mode && x.timerHz === 0).map((x) => x.cpu);
    for (let cpu = 0; cpu < cpus; cpu++) if (!seen.includes(cpu)) findings.push(`${mode}: no round reported for CPU ${cpu}`);
  }
  for (const x of rounds) {
    const where = `${x.mode} round on CPU ${x.cpu}${x.timerHz ? ` with the PIT at ${x.timerHz} Hz` : ''}`;
    const elsewhere = x.counts.map((n, cpu) => ({ n, cpu })).filter((c) => c.cpu !== x.cpu && c.n > 0);
    if (elsewhere.length > 0) {
      findings.push(`${where}: interrupts arrived on ${elsewhere.map((c) => `CPU ${c.cpu} (${c.n})`).join(', ')}: the destination the guest programmed was ignored`);
    }
    if (x.handled === 0 && x.fired > 0 && x.timerHz === 0 && vmmDeliveredAll && elsewhere.length === 0) {
      // Nothing reached the handler on any CPU although the VMM passed every interrupt on: they
      // went to a CPU or vector the guest did not program for this IRQ (another device's handler,
      // or one that silently ignores it).
      findings.push(`${where}: none of the ${x.fired} interrupts reached the handler on any CPU although the VMM injected every one: they were delivered to another CPU or vector than the guest programmed`);
    }
    if (x.timerHz > 0 && (!x.ok || x.lost > 0)) {
      findings.push(`${where}: the device interrupt starved while the timer ran (${x.timerTicks} timer ticks, ${x.lost} device interrupts lost)`);
    } else if (!x.ok || x.lost > 0 || x.handled !== x.fired) {
      findings.push(`${where}: lost interrupts: the guest handled ${x.handled} of ${x.fired} (${x.lost} recovered after a stall)`);
    }
    if (x.counts[x.cpu] !== x.handled && elsewhere.length === 0) findings.push(`${where}: per-CPU count ${x.counts[x.cpu]} differs from handled ${x.handled}`);
  }
  if (!vmm || raised === undefined) findings.push('the VMM reported no irq-test counters');
  else {
    const guestRaised = rounds.reduce((a, x) => a + (Number.isNaN(x.raised) ? 0 : x.raised + 1), 0);
    if (vmm.path.injected !== raised) {
      findings.push(`the VMM injected ${vmm.path.injected} of the ${raised} interrupts the device raised (${vmm.path.dropped} dropped, ${vmm.path.held} held back)`);
    }
    if ((vmm.path.undeliveredMsis ?? 0) > 0) {
      findings.push(
        `KVM accepted ${vmm.path.undeliveredMsis} MSIs but delivered them to no vCPU (KVM_SIGNAL_MSI returned 0; ${(vmm.path.undeliveredSamples ?? []).join(', ')}): no local APIC matched the destination`,
      );
    }
    if (rounds.length > 0 && raised !== guestRaised) findings.push(`the device raised ${raised} interrupts; the guest's rounds account for ${guestRaised}`);
  }
  findings.push(...checkIpis(events, cpus));
  for (const e of eventsOf(r, 'reset')) findings.push(`the machine reset during the test (${String(e.source)}): the guest crashed or rebooted`);
  for (const e of eventsOf(r, 'irq-stall')) {
    findings.push(`the device's interrupt (${String(e.to)}) was ${String(e.how)} ${String(e.ms)} ms after the VMM raised it: no CPU handled it meanwhile`);
  }
  for (const e of eventsOf(r, 'triple-fault')) {
    findings.push(describeFault(e.vcpu, (e.registers ?? {}) as Record<string, string>));
  }
  for (const e of events.filter((e) => e.event === 'trouble')) {
    const line = String(e.line);
    // x86 Linux gives each vector a handler on the CPUs the IRQ is routed to only ("CPU.vector").
    const stray = /(\d+)\.(\d+) No irq handler for vector/.exec(line);
    if (stray) {
      findings.push(`an interrupt arrived on CPU ${stray[1]} (vector ${stray[2]}), where no handler is set up for it: the destination the guest programmed was ignored`);
    }
    findings.push(`guest dmesg: ${line}`);
  }
  for (const e of events.filter((e) => e.event === 'irqtest-error')) findings.push(`irqtest: ${String(e.what)}`);
  return { rounds, findings };
}

/**
 * IPIs reach every CPU: the probe sends N function-call IPIs from CPU 0 and from the last CPU to
 * every other CPU (irqtest.sh, IPI=1); each target must have handled exactly N, the source none.
 */
export function checkIpis(events: readonly ProbeEvent[], cpus: number): string[] {
  if (cpus < 2) return [];
  const ipis = events.filter((e) => e.event === 'irqtest-ipi') as Array<ProbeEvent & { from: number; sent: number; handled: number[] }>;
  const findings: string[] = [];
  for (const from of [0, cpus - 1]) {
    const x = ipis.find((e) => e.from === from);
    if (!x) {
      findings.push(`IPIs: no round reported from CPU ${from}`);
      continue;
    }
    if (x.handled.length !== cpus) {
      findings.push(`IPIs from CPU ${from}: per-CPU counts for ${x.handled.length} CPUs, expected ${cpus}`);
      continue;
    }
    x.handled.forEach((n, cpu) => {
      const want = cpu === from ? 0 : x.sent;
      if (n !== want) findings.push(`IPIs from CPU ${from}: CPU ${cpu} handled ${n} of ${want}${n < want ? ' (lost IPIs)' : ''}`);
    });
  }
  return findings;
}
