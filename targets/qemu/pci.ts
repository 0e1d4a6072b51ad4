// Parses QMP `query-pci` (qapi/pci.json: PciInfo per bus, PciDeviceInfo per function, bridges
// nesting their secondary bus) into a flat list of functions with their BARs, so a suite can ask
// where firmware placed each BAR and which ones it left unassigned (QEMU reports those at
// address -1, PCI_BAR_UNMAPPED). Numbers come from JSON: exact up to 2^53, which covers every
// physical address an x86 guest can have (at most 52 bits).

import type { PciBarReadback } from '../../vmm/events.js';

export interface PciBar {
  /** 0-5, or 6 for the expansion ROM. */
  bar: number;
  type: 'io' | 'memory';
  /** Where firmware placed it; null when unassigned. */
  address: number | null;
  size: number;
  prefetch?: boolean;
  mem64?: boolean;
}

export interface PciWindow {
  base: number;
  limit: number;
}

export interface PciBridgeInfo {
  primary: number;
  secondary: number;
  subordinate: number;
  io?: PciWindow;
  memory?: PciWindow;
  prefetchable?: PciWindow;
}

export interface PciFunction {
  bus: number;
  slot: number;
  function: number;
  /** `bb:ss.f`, hex, as firmware logs print it. */
  bdf: string;
  vendor: number;
  device: number;
  subsystemVendor?: number;
  subsystem?: number;
  classCode: number;
  classDesc?: string;
  irq?: number;
  irqPin?: number;
  qdevId: string;
  bars: PciBar[];
  bridge?: PciBridgeInfo;
}

type Json = Record<string, unknown>;

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`query-pci: ${what} is ${JSON.stringify(v)}, expected a number`);
  return v;
}

function optNum(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function window(v: unknown): PciWindow | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const w = v as Json;
  return { base: num(w.base, 'window base'), limit: num(w.limit, 'window limit') };
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

export function bdf(bus: number, slot: number, fn: number): string {
  return `${hex2(bus)}:${hex2(slot)}.${fn.toString(16)}`;
}

function parseBar(raw: unknown): PciBar {
  const r = raw as Json;
  const type = r.type === 'io' ? 'io' : r.type === 'memory' ? 'memory' : undefined;
  if (!type) throw new TypeError(`query-pci: region type ${JSON.stringify(r.type)}, expected io or memory`);
  const address = num(r.address, 'region address');
  const bar: PciBar = { bar: num(r.bar, 'region bar'), type, address: address < 0 ? null : address, size: num(r.size, 'region size') };
  if (typeof r.prefetch === 'boolean') bar.prefetch = r.prefetch;
  if (typeof r.mem_type_64 === 'boolean') bar.mem64 = r.mem_type_64;
  return bar;
}

function parseDevice(raw: unknown, out: PciFunction[]): void {
  const d = raw as Json;
  const id = (d.id ?? {}) as Json;
  const cls = (d.class_info ?? {}) as Json;
  const bus = num(d.bus, 'bus');
  const slot = num(d.slot, 'slot');
  const fn = num(d.function, 'function');
  const f: PciFunction = {
    bus,
    slot,
    function: fn,
    bdf: bdf(bus, slot, fn),
    vendor: num(id.vendor, 'vendor id'),
    device: num(id.device, 'device id'),
    subsystemVendor: optNum(id['subsystem-vendor']),
    subsystem: optNum(id.subsystem),
    classCode: num(cls.class, 'class'),
    classDesc: typeof cls.desc === 'string' ? cls.desc : undefined,
    irq: optNum(d.irq),
    irqPin: optNum(d.irq_pin),
    qdevId: typeof d.qdev_id === 'string' ? d.qdev_id : '',
    bars: Array.isArray(d.regions) ? d.regions.map(parseBar) : [],
  };
  out.push(f);
  const br = d.pci_bridge as Json | undefined;
  if (br && typeof br === 'object') {
    const b = (br.bus ?? {}) as Json;
    f.bridge = {
      primary: num(b.number, 'bridge primary bus'),
      secondary: num(b.secondary, 'bridge secondary bus'),
      subordinate: num(b.subordinate, 'bridge subordinate bus'),
      io: window(b.io_range),
      memory: window(b.memory_range),
      prefetchable: window(b.prefetchable_range),
    };
    if (Array.isArray(br.devices)) for (const child of br.devices) parseDevice(child, out);
  }
}

/** Every function on every bus (bridges' secondary buses included), in QEMU's order. */
export function parseQueryPci(result: unknown): PciFunction[] {
  if (!Array.isArray(result)) throw new TypeError('query-pci: expected an array of buses');
  const out: PciFunction[] = [];
  for (const bus of result as Json[]) {
    if (!Array.isArray(bus.devices)) throw new TypeError('query-pci: a bus without "devices"');
    for (const d of bus.devices) parseDevice(d, out);
  }
  return out;
}

/** BARs firmware left unassigned (a ROM BAR without address included). */
export function unassignedBars(functions: readonly PciFunction[]): Array<{ bdf: string; bar: PciBar }> {
  return functions.flatMap((f) => f.bars.filter((b) => b.address === null).map((bar) => ({ bdf: f.bdf, bar })));
}

/** One BAR in the own VMM's `pci-bars` event shape. */
export type ReadbackBar = PciBarReadback;

/**
 * The BARs of the functions with `id` in the own VMM's `pci-bars` shape. `only` keeps the BARs a
 * test asked for (pci-testdev's own fixed BARs 0 and 1 are no part of the scenario). QEMU reports
 * a BAR whose decoding is off or that was never programmed at -1: it becomes address 0, decoded
 * false, which bar-check judges unassigned, as the own VMM's readback does.
 */
/** Where each BAR was (`bdf:index` → address, null: unassigned) at an earlier query-pci. */
export type BarPlacement = ReadonlyMap<string, number | null>;

export function barPlacement(functions: readonly PciFunction[], id: { vendor: number; device: number }): BarPlacement {
  return new Map(functions.filter((f) => f.vendor === id.vendor && f.device === id.device).flatMap((f) => f.bars.map((b) => [`${f.bdf}:${b.bar}`, b.address] as const)));
}

/**
 * The test devices' BARs as the own VMM's `pci-bars` event has them; with `firmware` (a query-pci
 * taken when the firmware handed over to the kernel) each carries `firstDecoded`, the firmware's
 * placement, so Linux's view can be told kept from moved.
 */
export function readbackBars(functions: readonly PciFunction[], id: { vendor: number; device: number }, only: (b: PciBar) => boolean = () => true, firmware?: BarPlacement): ReadbackBar[] {
  return functions
    .filter((f) => f.vendor === id.vendor && f.device === id.device)
    .flatMap((f) =>
      f.bars
        .filter((b) => b.bar < 6 && only(b))
        .map((b): ReadbackBar => ({
          bdf: f.bdf,
          index: b.bar,
          kind: b.type === 'io' ? 'io' : b.mem64 ? 'mem64' : 'mem32',
          prefetchable: b.prefetch === true,
          size: b.size,
          address: b.address ?? 0,
          decoded: b.address !== null,
          ...(firmware ? { firstDecoded: firmware.get(`${f.bdf}:${b.bar}`) ?? null } : {}),
        })),
    );
}
