// Turns a BootResult into the flat JUnit properties the reporter writes per testcase and attaches
// them (with the serial tail and diagnostic) to the vitest task as `meta.bootgate`.

import type { TaskMeta } from 'vitest';
import type { BootResult } from '../../targets/boot-result.js';
import type { BootgateTestMeta, SkippedAssertion } from './meta.js';

const TOP = 5;

export function bootProperties(r: BootResult): Record<string, string | number | boolean> {
  const props: Record<string, string | number | boolean> = { status: r.status, resets: r.resets, 'wall.ms': r.wallMs };
  for (const [name, t] of Object.entries(r.milestones)) props[`milestone.${name}.ms`] = t;
  const p = r.profile;
  if (p) {
    props['exits.total'] = p.totalExits;
    for (const [kind, s] of Object.entries(p.exits)) props[`exits.${kind}`] = s.count;
    props['time.vcpu-run.pct'] = p.vcpuRunPct;
    props['time.pio.pct'] = p.pioPct;
    props['time.mmio.pct'] = p.mmioPct;
    props['time.vcpu-run.ms'] = p.vcpuRunMs;
    props['time.pio.ms'] = p.pioMs;
    props['time.mmio.ms'] = p.mmioMs;
    p.hottestPorts.slice(0, TOP).forEach((port, i) => {
      props[`port.${i + 1}`] = `0x${port.port.toString(16)}:${port.count}:${(port.handleNs / 1e6).toFixed(1)}ms`;
    });
    p.hottestRegions.slice(0, TOP).forEach((reg, i) => {
      props[`region.${i + 1}`] = `${reg.region}:${reg.count}:${(reg.handleNs / 1e6).toFixed(1)}ms`;
    });
    props['unassigned.pio'] = p.unassigned.pio;
    props['unassigned.mmio'] = p.unassigned.mmio;
    if (p.unassigned.mmioPages?.length) props['unassigned.mmio.pages'] = p.unassigned.mmioPages.map((x) => `0x${x.page.toString(16)}:${x.count}`).join(' ');
    if (p.handover) {
      props['handover.count'] = p.handover.count;
      props['handover.max.ms'] = p.handover.maxMs;
      props['handover.median.ms'] = p.handover.medianMs;
      if (p.handover.hottest?.length) props['handover.hottest'] = p.handover.hottest.map((h) => `${h.target}:${h.count}`).join(' ');
    }
  }
  // What the machine refused the guest (own VMM): misuse counted and DMA outside guest RAM, per device.
  const refusals = r.events.find((e) => e.event === 'guest-refusals') as
    | { misuse: number; dma: Array<{ device: string; transfers: number; refused: number }> }
    | undefined;
  if (refusals) {
    props['guest.misuse'] = refusals.misuse;
    for (const d of refusals.dma) props[`dma.${d.device}`] = `${d.transfers} transfers, ${d.refused} refused`;
  }
  if (r.maxRssBytes !== undefined) props['vmm.maxrss.mb'] = Math.round(r.maxRssBytes / 2 ** 20);
  return props;
}

export interface CaseId {
  suite: string;
  target: string;
  guest: string;
  smp: number;
  quirks?: string[];
}

function diagnosticText(r: BootResult): string | undefined {
  const d = r.diagnostic;
  const parts: string[] = [];
  if (r.error) parts.push(`error ${r.error.code}: ${r.error.message}${r.error.hint ? ` (fix: ${r.error.hint})` : ''}`);
  if (d) {
    parts.push(`reason: ${d.reason}`);
    for (const reg of d.registers) parts.push(`vCPU ${reg.vcpu}: ${Object.entries(reg.regs).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    for (const e of d.lastExits.slice(-16)) parts.push(`exit vCPU ${e.vcpu} ${e.kind} ${e.detail}`);
    for (const dev of d.devices ?? []) parts.push(dev);
  }
  if (r.kvmTrace) parts.push(`${r.kvmTrace.summary} (whole trace: ${r.kvmTrace.file})`, ...r.kvmTrace.lines.slice(-24));
  return parts.length ? parts.join('\n') : undefined;
}

/** The meta a conformance test attaches: identity, properties, what could not be observed. */
export function bootMeta(id: CaseId, r: BootResult | undefined, skipped: SkippedAssertion[] = [], extra: Record<string, string | number | boolean> = {}): BootgateTestMeta {
  return {
    suite: id.suite,
    target: id.target,
    guest: id.guest,
    smp: id.smp,
    quirks: id.quirks ?? [],
    properties: { lab: process.env.BOOTGATE_LAB === '1' || id.target.endsWith('@lab'), ...(r ? bootProperties(r) : {}), ...extra },
    skipped,
    serialTail: r ? `${r.serial.slice(-3000)}${r.debugcon ? `\n--- debugcon (0x402) tail ---\n${r.debugcon.slice(-3000)}` : ''}` : undefined,
    diagnostic: r ? diagnosticText(r) : undefined,
    flaky: r?.rerun ? { ...r.rerun } : undefined,
  };
}

/**
 * Skip a testcase with its identity recorded first, so the summary's verdict grid shows its row
 * ("n/a", "not run") instead of a gap. `extra` carries what the grid needs to place it (a
 * known-bad run's `expected.failure`).
 */
export function skipAs(task: { meta: TaskMeta }, id: CaseId, skip: (note: string) => void, why: string, extra: Record<string, string | number | boolean> = {}): void {
  task.meta.bootgate = bootMeta(id, undefined, [], extra);
  skip(why);
}
