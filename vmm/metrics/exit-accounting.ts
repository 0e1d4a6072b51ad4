// Exit accounting, always on: every exit counted and timed by kind, by port and by MMIO region,
// plus the time spent inside KVM_RUN, and a ring of the last exits for diagnostics. One instance
// per vCPU thread (no sharing on the hot path); snapshots are merged into an ExitProfile.
// Times are milliseconds (performance.now()); reported handle times are converted to ns.

import { EXIT_KIND_NAMES, ExitKind } from '../accel/exit-info.js';
import type { ExitProfile, PortStats, RegionStats } from '../events.js';

const KINDS = EXIT_KIND_NAMES.length;
const RING = 32;
/** Distinct 4 KiB pages of unassigned MMIO a vCPU keeps counts for (a guest scanning memory would otherwise grow the map without bound). */
const UNASSIGNED_PAGES = 64;

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
  /** Unassigned MMIO exits by 4 KiB page (at most UNASSIGNED_PAGES pages). */
  unassignedPages: Array<[page: number, count: number]>;
  /** AP only: exits handed to the device owner, and the longest wait for its answer. */
  handovers?: number;
  handoverMaxMs?: number;
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
   * An exit an AP handed to the device owner, answered after `ms`: a port (0-0xffff) or an MMIO
   * address (counted by its 4 KiB page).
   */
  handover(ms: number, portOrGpa = -1, isMmio = false): void {
    this.handovers++;
    if (ms > this.handoverMaxMs) this.handoverMaxMs = ms;
    if (portOrGpa < 0) return;
    // Ports stay as they are; MMIO pages are keyed above the port range (pages are 4 KiB-aligned, so >= 0x1000 apart).
    const key = isMmio ? 0x1_0000 + (portOrGpa - (portOrGpa % 4096)) : portOrGpa;
    const n = this.handoverTargets.get(key);
    if (n !== undefined) this.handoverTargets.set(key, n + 1);
    else if (this.handoverTargets.size < UNASSIGNED_PAGES) this.handoverTargets.set(key, 1);
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
    const page = gpa - (gpa % 4096);
    const n = this.unassignedPages.get(page);
    if (n !== undefined) this.unassignedPages.set(page, n + 1);
    else if (this.unassignedPages.size < UNASSIGNED_PAGES) this.unassignedPages.set(page, 1);
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
  const targets = new Map<string, number>();
  for (const s of snaps) {
    for (const [t, n] of s.handoverTargets ?? []) targets.set(t, (targets.get(t) ?? 0) + n);
    handovers += s.handovers ?? 0;
    handoverMaxMs = Math.max(handoverMaxMs, s.handoverMaxMs ?? 0);
    runMs += s.runMs;
    unPio += s.unassignedPio;
    unMmio += s.unassignedMmio;
    for (const [page, count] of s.unassignedPages ?? []) unPages.set(page, (unPages.get(page) ?? 0) + count);
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
      ...(unPages.size > 0 ? { mmioPages: [...unPages].sort((a, b) => b[1] - a[1]).slice(0, top).map(([page, count]) => ({ page, count })) } : {}),
    },
    ...(handovers > 0
      ? {
          handover: {
            count: handovers,
            maxMs: round1(handoverMaxMs),
            ...(targets.size > 0 ? { hottest: [...targets].sort((a, b) => b[1] - a[1]).slice(0, top).map(([target, count]) => ({ target, count })) } : {}),
          },
        }
      : {}),
  };
}

/** All port stats (not just the hottest), for benchmarks that need one particular port. */
export function portStats(snaps: AccountingSnapshot[], port: number): PortStats | undefined {
  return mergeProfile(snaps, 1, 1, 0x1_0000).hottestPorts.find((p) => p.port === port);
}
