// BAR-assignment checker: reads back where firmware put every BAR and judges each one against the
// PCI rules and the machine: assigned at all, naturally aligned, no overlap with another BAR or
// with RAM, inside a window the firmware used, and reachable within the guest's physical address
// width (CPUID 0x80000008 as the VMM advertised it). One verdict per BAR, for the report.

import type { BootResult } from '../../targets/boot-result.js';
import { eventsOf } from '../../targets/boot-result.js';
import type { PciBarReadback } from '../../vmm/events.js';

/** A BAR as the checker judges it: the `pci-bars` readback, whichever stack it came from. */
export type Bar = Omit<PciBarReadback, 'device'>;

export interface Window {
  name: 'io' | '32bit' | '64bit';
  start: number;
  /** Exclusive end. */
  end: number;
}

export type Verdict = 'ok' | 'unassigned' | 'misaligned' | 'overlap' | 'over-ram' | 'outside-window' | 'beyond-phys-bits';

export interface BarVerdict {
  bar: Bar;
  window: string | null;
  verdict: Verdict;
  detail: string;
}

export interface Machine {
  physBits: number;
  ram: Array<{ start: number; end: number }>;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

export function formatSize(n: number): string {
  for (const [unit, v] of [['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]] as const) {
    if (n >= v && n % v === 0) return `${n / v}${unit}`;
  }
  return String(n);
}

/** The windows SeaBIOS's pciinit.c logs: "PCI: IO: c000 - bfff", "PCI: 32: <start> - <end>", "PCI: 64: ...". */
export function parseSeabiosWindows(debugcon: string): Window[] {
  const out: Window[] = [];
  for (const m of debugcon.matchAll(/PCI: (IO|32|64): ([0-9a-f]+) - ([0-9a-f]+)/g)) {
    const start = Number.parseInt(m[2]!, 16);
    const last = Number.parseInt(m[3]!, 16);
    const name = m[1] === 'IO' ? 'io' : m[1] === '32' ? '32bit' : '64bit';
    // SeaBIOS prints the IO window's last port but the memory windows' exclusive end.
    out.push({ name, start, end: name === 'io' ? last + 1 : last });
  }
  return out;
}

/** The physical address width and RAM ranges the own VMM reported in its `machine` event. */
export function machineOf(r: BootResult): Machine | undefined {
  const ev = eventsOf(r, 'machine')[0] as unknown as undefined | { physBits: number; memoryMap: Array<{ name: string; gpa: number; size: number }> };
  if (!ev) return undefined;
  const ram = ev.memoryMap.filter((m) => m.name.startsWith('ram')).map((m) => ({ start: m.gpa, end: m.gpa + m.size }));
  return { physBits: ev.physBits, ram };
}

export function barsOf(r: BootResult): Bar[] {
  const ev = eventsOf(r, 'pci-bars')[0] as unknown as undefined | { bars: Bar[] };
  return ev?.bars ?? [];
}

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start < b.end && b.start < a.end;
}

export function checkBars(bars: readonly Bar[], windows: readonly Window[], machine: Machine): BarVerdict[] {
  const limit = 2 ** machine.physBits;
  return bars.map((bar) => {
    const span = { start: bar.address, end: bar.address + bar.size };
    const candidates = windows.filter((w) => (bar.kind === 'io' ? w.name === 'io' : bar.kind === 'mem32' ? w.name === '32bit' : w.name !== 'io'));
    const window = candidates.find((w) => span.start >= w.start && span.end <= w.end);
    const v = (verdict: Verdict, detail: string): BarVerdict => ({ bar, window: window?.name ?? null, verdict, detail });
    if (bar.address === 0) return v('unassigned', 'firmware left the BAR at 0');
    if (bar.address % bar.size !== 0) return v('misaligned', `${hex(bar.address)} is not aligned to its size ${formatSize(bar.size)}`);
    const clash = bars.find((o) => o !== bar && (o.kind === 'io') === (bar.kind === 'io') && o.address !== 0 && overlaps(span, { start: o.address, end: o.address + o.size }));
    if (clash) return v('overlap', `overlaps ${clash.bdf} BAR ${clash.index}`);
    if (bar.kind !== 'io') {
      const ram = machine.ram.find((r) => overlaps(span, r));
      if (ram) return v('over-ram', `overlaps guest RAM ${hex(ram.start)}-${hex(ram.end)}`);
      if (span.end > limit) {
        return v('beyond-phys-bits', `ends at ${hex(span.end)}, beyond the guest's ${machine.physBits}-bit physical address width (${hex(limit)})`);
      }
    }
    if (!window) return v('outside-window', `${hex(span.start)}-${hex(span.end)} is in no window the firmware used (${candidates.map((w) => `${w.name} ${hex(w.start)}-${hex(w.end)}`).join(', ') || 'none'})`);
    return v('ok', `${window.name} window`);
  });
}

/** One line per BAR: device, index, kind, size, address, window, verdict. */
export function formatVerdict(v: BarVerdict): string {
  const b = v.bar;
  const kind = `${b.kind}${b.prefetchable ? 'pref' : ''}`;
  return `${b.bdf} bar${b.index} ${kind} ${formatSize(b.size)} @${hex(b.address)} window=${v.window ?? '-'} ${v.verdict}${v.verdict === 'ok' ? '' : `: ${v.detail}`}`;
}

/** Throws one message listing every BAR that is not ok (for `expect(...).toThrow` and plain use). */
export function assertBarsOk(verdicts: readonly BarVerdict[]): void {
  const bad = verdicts.filter((v) => v.verdict !== 'ok');
  if (bad.length > 0) throw new Error(`BAR assignment failed:\n${bad.map(formatVerdict).join('\n')}`);
}

/** JUnit properties: `bar.<n>` = one formatted line per BAR. */
export function barProperties(verdicts: readonly BarVerdict[]): Record<string, string> {
  return Object.fromEntries(verdicts.map((v, i) => [`bar.${i + 1}`, formatVerdict(v)]));
}
