// Exit accounting, always on: every exit counted and timed by kind, by port and by MMIO region,
// plus the time spent inside KVM_RUN, and a ring of the last exits for diagnostics. One instance
// per vCPU thread (no sharing on the hot path); snapshots are merged into an ExitProfile.
// Times are milliseconds (performance.now()); reported handle times are converted to ns.

import { EXIT_KIND_NAMES, ExitKind } from '../accel/exit-info.js';
import type { ExitProfile, PortStats, RegionStats } from '../events.js';

const KINDS = EXIT_KIND_NAMES.length;
const RING = 32;
/**
 * Distinct keys a per-vCPU counter map keeps (unassigned MMIO pages, hand-over targets): a guest
 * scanning memory would otherwise grow it without bound.
 */
const COUNTED_KEYS_MAX = 64;

/** Count one occurrence of `key`; a new key is dropped once the map holds COUNTED_KEYS_MAX keys. */
function countBounded<K>(counts: Map<K, number>, key: K): void {
  const n = counts.get(key);
  if (n !== undefined) counts.set(key, n + 1);
  else if (counts.size < COUNTED_KEYS_MAX) counts.set(key, 1);
}

/** Add per-vCPU [key, count] pairs into `into`. */
function mergeCounts<K>(into: Map<K, number>, pairs: ReadonlyArray<readonly [K, number]> | undefined): void {
  for (const [key, n] of pairs ?? []) into.set(key, (into.get(key) ?? 0) + n);
}

/** The `top` highest counts, highest first. */
function topCounts<K>(counts: Map<K, number>, top: number): Array<[K, number]> {
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, top);
}

const PAGE = 4096;
/** Hand-over waits kept per vCPU for the median (a reservoir sample beyond this). */
const HANDOVER_SAMPLES = 2048;

export interface AccountingSnapshot {
  vcpu: number;
  runMs: number;
  kindCount: number[];
  kindMs: number[];
  ports: Array<[port: number, count: number, ms: number, firstMs: number, lastMs: number]>;
  regions: Array<[name: string, count: number, ms: number]>;
  lastExits: Array<{ kind: string; detail: string }>;
  unassignedPio: number;
  unassignedMmio: number;
  /** Unassigned MMIO exits by 4 KiB page (at most COUNTED_KEYS_MAX pages). */
  unassignedPages: Array<[page: number, count: number]>;
  /** AP only: exits handed to the device owner, and the longest wait for its answer. */
  handovers?: number;
  handoverMaxMs?: number;
  /** A uniform sample (reservoir) of hand-over waits in ms, at most HANDOVER_SAMPLES, for the median. */
  handoverSamples?: number[];
  /** AP only: handed-over exits by what they accessed ("port 0x3f8", "mmio 0xfee00000" by 4 KiB page), bounded. */
  handoverTargets?: Array<[target: string, count: number]>;
}

export class ExitAccounting {
  runMs = 0;
  readonly kindCount = new Float64Array(KINDS);
  readonly kindMs = new Float64Array(KINDS);
  private readonly portCount = new Float64Array(0x1_0000);
  private readonly portMs = new Float64Array(0x1_0000);
  private readonly portFirst = new Float64Array(0x1_0000);
  private readonly portLast = new Float64Array(0x1_0000);
  private readonly regions = new Map<string, { count: number; ms: number }>();
  private readonly ringKind = new Uint8Array(RING);
  private readonly ringAddr = new Float64Array(RING);
  private readonly ringValue = new Float64Array(RING);
  private ringPos = 0;
  unassignedPio = 0;
  unassignedMmio = 0;
  private readonly unassignedPages = new Map<number, number>();
  handovers = 0;
  handoverMaxMs = 0;
  private readonly handoverSamples: number[] = [];
  private readonly handoverTargets = new Map<number, number>();

  constructor(
    readonly vcpu: number,
    /** Offset added to performance.now() to get ms since VMM start. */
    private readonly clockOffsetMs: number,
  ) {}

  /** Record a PIO exit handled between `start` and `end` (performance.now() values). */
  pio(kind: ExitKind, port: number, value: number, start: number, end: number): void {
    const d = end - start;
    this.kindCount[kind]!++;
    this.kindMs[kind]! += d;
    if (this.portCount[port] === 0) this.portFirst[port] = start + this.clockOffsetMs;
    this.portCount[port]!++;
    this.portMs[port]! += d;
    this.portLast[port] = start + this.clockOffsetMs;
    this.remember(kind, port, value);
  }

  /**
   * Port exits another thread served and counted (native vCPU threads: POST code writes), folded in
   * at once: `count` of them, the first and last at `firstMs` and `lastMs` (this clock), no handling time.
   */
  pioFolded(kind: ExitKind, port: number, count: number, firstMs: number, lastMs: number, lastValue: number): void {
    if (count <= 0) return;
    this.kindCount[kind]! += count;
    const first = firstMs + this.clockOffsetMs;
    const last = lastMs + this.clockOffsetMs;
    if (this.portCount[port] === 0 || first < this.portFirst[port]!) this.portFirst[port] = first;
    if (this.portCount[port] === 0 || last > this.portLast[port]!) this.portLast[port] = last;
    this.portCount[port]! += count;
    this.remember(kind, port, lastValue);
  }

  /**
   * An exit an AP handed to the device owner, answered after `ms`: a port (0-0xffff) or an MMIO
   * address (counted by its 4 KiB page).
   */
  handover(ms: number, portOrGpa = -1, isMmio = false): void {
    this.handovers++;
    if (ms > this.handoverMaxMs) this.handoverMaxMs = ms;
    // Reservoir sampling: every hand-over equally likely to be kept, memory bounded.
    if (this.handoverSamples.length < HANDOVER_SAMPLES) this.handoverSamples.push(ms);
    else {
      const slot = Math.floor(Math.random() * this.handovers);
      if (slot < HANDOVER_SAMPLES) this.handoverSamples[slot] = ms;
    }
    if (portOrGpa < 0) return;
    // Numeric keys (no string per hand-over): ports as they are, MMIO pages above the port range.
    countBounded(this.handoverTargets, isMmio ? 0x1_0000 + (portOrGpa - (portOrGpa % PAGE)) : portOrGpa);
  }

  mmio(kind: ExitKind, gpa: number, value: number, region: string, start: number, end: number): void {
    const d = end - start;
    this.kindCount[kind]!++;
    this.kindMs[kind]! += d;
    let r = this.regions.get(region);
    if (r === undefined) {
      r = { count: 0, ms: 0 };
      this.regions.set(region, r);
    }
    r.count++;
    r.ms += d;
    this.remember(kind, gpa, value);
  }

  /** An MMIO exit nothing claimed: counted, and by page (bounded) so a report can say where. */
  unassigned(gpa: number): void {
    this.unassignedMmio++;
    countBounded(this.unassignedPages, gpa - (gpa % PAGE));
  }

  other(kind: ExitKind, start: number, end: number): void {
    this.kindCount[kind]!++;
    this.kindMs[kind]! += end - start;
    this.remember(kind, 0, 0);
  }

  private remember(kind: ExitKind, addr: number, value: number): void {
    const i = this.ringPos++ & (RING - 1);
    this.ringKind[i] = kind;
    this.ringAddr[i] = addr;
    this.ringValue[i] = value;
  }

  lastExits(): Array<{ kind: string; detail: string }> {
    const out: Array<{ kind: string; detail: string }> = [];
    const n = Math.min(this.ringPos, RING);
    for (let k = n; k > 0; k--) {
      const i = (this.ringPos - k) & (RING - 1);
      const kind = this.ringKind[i]! as ExitKind;
      const addr = this.ringAddr[i]!;
      const isIo = kind === ExitKind.IoIn || kind === ExitKind.IoOut;
      const isMmio = kind === ExitKind.MmioRead || kind === ExitKind.MmioWrite;
      const detail = isIo || isMmio ? `${isIo ? 'port' : 'gpa'} 0x${addr.toString(16)} value 0x${this.ringValue[i]!.toString(16)}` : '';
      out.push({ kind: EXIT_KIND_NAMES[kind], detail });
    }
    return out;
  }

  snapshot(): AccountingSnapshot {
    const ports: AccountingSnapshot['ports'] = [];
    for (let p = 0; p < 0x1_0000; p++) {
      if (this.portCount[p]! > 0) ports.push([p, this.portCount[p]!, this.portMs[p]!, this.portFirst[p]!, this.portLast[p]!]);
    }
    return {
      vcpu: this.vcpu,
      runMs: this.runMs,
      kindCount: [...this.kindCount],
      kindMs: [...this.kindMs],
      ports,
      regions: [...this.regions].map(([name, r]) => [name, r.count, r.ms]),
      lastExits: this.lastExits(),
      unassignedPio: this.unassignedPio,
      unassignedMmio: this.unassignedMmio,
      unassignedPages: [...this.unassignedPages],
      ...(this.handovers > 0
        ? {
            handovers: this.handovers,
            handoverMaxMs: this.handoverMaxMs,
            handoverSamples: [...this.handoverSamples],
            handoverTargets: [...this.handoverTargets].map(([key, n]): [string, number] => [key < 0x1_0000 ? `port 0x${key.toString(16)}` : `mmio 0x${(key - 0x1_0000).toString(16)}`, n]),
          }
        : {}),
    };
  }
}

/** The snapshot of a vCPU that reported nothing (its thread failed before it ran). */
export function emptySnapshot(vcpu: number): AccountingSnapshot {
  return { vcpu, runMs: 0, kindCount: [], kindMs: [], ports: [], regions: [], lastExits: [], unassignedPio: 0, unassignedMmio: 0, unassignedPages: [] };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

function medianOf(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Merge per-vCPU snapshots into the exit profile of a run lasting `wallMs` with `vcpus` vCPUs. */
export function mergeProfile(snaps: AccountingSnapshot[], wallMs: number, vcpus: number, top = 5): ExitProfile {
  const kindCount = new Array<number>(KINDS).fill(0);
  const kindMs = new Array<number>(KINDS).fill(0);
  const ports = new Map<number, PortStats>();
  const regions = new Map<string, RegionStats>();
  let runMs = 0;
  let unPio = 0;
  let unMmio = 0;
  const unPages = new Map<number, number>();
  let handovers = 0;
  let handoverMaxMs = 0;
  const handoverSamples: number[] = [];
  const targets = new Map<string, number>();
  for (const s of snaps) {
    mergeCounts(targets, s.handoverTargets);
    mergeCounts(unPages, s.unassignedPages);
    handovers += s.handovers ?? 0;
    handoverMaxMs = Math.max(handoverMaxMs, s.handoverMaxMs ?? 0);
    if (s.handoverSamples) for (const x of s.handoverSamples) handoverSamples.push(x);
    runMs += s.runMs;
    unPio += s.unassignedPio;
    unMmio += s.unassignedMmio;
    s.kindCount.forEach((c, k) => {
      kindCount[k]! += c;
      kindMs[k]! += s.kindMs[k]!;
    });
    for (const [port, count, ms, first, last] of s.ports) {
      const p = ports.get(port) ?? { port, count: 0, handleNs: 0, firstMs: first, lastMs: last };
      p.count += count;
      p.handleNs += ms * 1e6;
      p.firstMs = Math.min(p.firstMs, first);
      p.lastMs = Math.max(p.lastMs, last);
      ports.set(port, p);
    }
    for (const [name, count, ms] of s.regions) {
      const r = regions.get(name) ?? { region: name, count: 0, handleNs: 0 };
      r.count += count;
      r.handleNs += ms * 1e6;
      regions.set(name, r);
    }
  }
  const capacityMs = Math.max(wallMs * Math.max(vcpus, 1), 1e-9);
  const pioMs = kindMs[ExitKind.IoIn]! + kindMs[ExitKind.IoOut]!;
  const mmioMs = kindMs[ExitKind.MmioRead]! + kindMs[ExitKind.MmioWrite]!;
  const exits: ExitProfile['exits'] = {};
  EXIT_KIND_NAMES.forEach((name, k) => {
    if (kindCount[k]! > 0) exits[name] = { count: kindCount[k]!, handleNs: Math.round(kindMs[k]! * 1e6) };
  });
  const byCount = <T extends { count: number; handleNs: number }>(a: T, b: T) => b.count - a.count || b.handleNs - a.handleNs;
  return {
    wallMs: round1(wallMs),
    vcpuRunMs: round1(runMs),
    vcpuRunPct: round1((100 * runMs) / capacityMs),
    pioMs: round1(pioMs),
    pioPct: round1((100 * pioMs) / capacityMs),
    mmioMs: round1(mmioMs),
    mmioPct: round1((100 * mmioMs) / capacityMs),
    exits,
    totalExits: kindCount.reduce((a, b) => a + b, 0),
    hottestPorts: [...ports.values()].sort(byCount).slice(0, top).map((p) => ({ ...p, handleNs: Math.round(p.handleNs) })),
    hottestRegions: [...regions.values()].sort(byCount).slice(0, top).map((r) => ({ ...r, handleNs: Math.round(r.handleNs) })),
    unassigned: {
      pio: unPio,
      mmio: unMmio,
      ...(unPages.size > 0 ? { mmioPages: topCounts(unPages, top).map(([page, count]) => ({ page, count })) } : {}),
    },
    ...(handovers > 0
      ? {
          handover: {
            count: handovers,
            maxMs: round1(handoverMaxMs),
            medianMs: round3(medianOf(handoverSamples)),
            ...(targets.size > 0 ? { hottest: topCounts(targets, top).map(([target, count]) => ({ target, count })) } : {}),
          },
        }
      : {}),
  };
}

/** All port stats (not just the hottest), for benchmarks that need one particular port. */
export function portStats(snaps: AccountingSnapshot[], port: number): PortStats | undefined {
  return mergeProfile(snaps, 1, 1, 0x1_0000).hottestPorts.find((p) => p.port === port);
}
