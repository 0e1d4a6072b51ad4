// Parses QEMU's `info mtree` (the memory-region tree) and `info mtree -f` (the flattened views:
// what each address space really resolves to after priorities and aliases), as printed by
// softmmu/memory.c in QEMU 7.2 and later (8.0 dropped "prio N, " from flat-view lines; both
// parse). Used for what serves the reset vector (region, ROM or not) and, later, the ROMD state
// of pflash (`romd` while in read-array mode, `i/o` once a command write switched it).
// Addresses are bigint: the root regions end at 0xffffffffffffffff.
// Left out: the `-d` dispatch-tree and `-o` owner annotations (bootgate never asks for them).

/** Region type as printed: ram, rom, romd, ramd, i/o (a read-only flat range prints as rom). */
export type MtreeKind = string;

export interface FlatRange {
  start: bigint;
  /** Inclusive, as printed. */
  end: bigint;
  priority?: number;
  kind: MtreeKind;
  nonVolatile: boolean;
  /** The memory region that serves the range (after aliases are resolved). */
  region: string;
  /** Offset of `start` inside `region` (printed as `@offset`), 0 when absent. */
  offset: bigint;
}

export interface FlatView {
  index: number;
  /** Address spaces that share this view, e.g. `memory`, `cpu-memory-0`. */
  addressSpaces: string[];
  root: string | null;
  ranges: FlatRange[];
}

export interface MtreeNode {
  start: bigint;
  end: bigint;
  priority: number;
  kind: MtreeKind;
  nonVolatile: boolean;
  name: string;
  alias?: { target: string; start: bigint; end: bigint };
  disabled: boolean;
  children: MtreeNode[];
}

export interface MtreeSection {
  /** `address-space: NAME` or `memory-region: NAME` (the targets of aliases). */
  type: 'address-space' | 'memory-region';
  name: string;
  roots: MtreeNode[];
}

const FLAT_RANGE = /^\s+([0-9a-f]+)-([0-9a-f]+) \((?:prio (-?\d+), )?(nv-)?([a-z/]+)\): (\S+)(?: @([0-9a-f]+))?/;
const TREE_NODE =
  /^(\s*)([0-9a-f]+)-([0-9a-f]+) \(prio (-?\d+), (nv-)?([a-z/]+)\): (?:alias (\S+) @(\S+) ([0-9a-f]+)-([0-9a-f]+)|(\S+))( \[disabled\])?/;

const hex = (s: string): bigint => BigInt(`0x${s}`);

/** `info mtree -f`: every FlatView with the address spaces that use it. */
export function parseFlatViews(text: string): FlatView[] {
  const views: FlatView[] = [];
  let view: FlatView | undefined;
  for (const line of text.split(/\r?\n/)) {
    const head = /^FlatView #(\d+)/.exec(line);
    if (head) {
      view = { index: Number(head[1]), addressSpaces: [], root: null, ranges: [] };
      views.push(view);
      continue;
    }
    if (!view) continue;
    const as = /^ AS "([^"]*)", root: (\S+)/.exec(line);
    if (as) {
      view.addressSpaces.push(as[1]!);
      continue;
    }
    const root = /^ Root memory region: (\S+)/.exec(line);
    if (root) {
      view.root = root[1] === '(none)' ? null : root[1]!;
      continue;
    }
    const r = FLAT_RANGE.exec(line);
    if (r) {
      view.ranges.push({
        start: hex(r[1]!),
        end: hex(r[2]!),
        priority: r[3] === undefined ? undefined : Number(r[3]),
        nonVolatile: r[4] !== undefined,
        kind: r[5]!,
        region: r[6]!,
        offset: r[7] === undefined ? 0n : hex(r[7]),
      });
    }
  }
  return views;
}

/** `info mtree`: the region tree of each address space and of each aliased region. */
export function parseMtree(text: string): MtreeSection[] {
  const sections: MtreeSection[] = [];
  let section: MtreeSection | undefined;
  // The nodes on the path to the current line, with the indentation they were printed at.
  let stack: Array<{ indent: number; node: MtreeNode }> = [];
  for (const line of text.split(/\r?\n/)) {
    const head = /^(address-space|memory-region): (.+)$/.exec(line);
    if (head) {
      section = { type: head[1] as MtreeSection['type'], name: head[2]!.trim(), roots: [] };
      sections.push(section);
      stack = [];
      continue;
    }
    const m = section && TREE_NODE.exec(line);
    if (!section || !m) continue;
    const indent = m[1]!.length;
    const node: MtreeNode = {
      start: hex(m[2]!),
      end: hex(m[3]!),
      priority: Number(m[4]),
      nonVolatile: m[5] !== undefined,
      kind: m[6]!,
      name: m[7] ?? m[11]!,
      alias: m[7] === undefined ? undefined : { target: m[8]!, start: hex(m[9]!), end: hex(m[10]!) },
      disabled: m[12] !== undefined,
      children: [],
    };
    while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const parent = stack[stack.length - 1];
    if (parent) parent.node.children.push(node);
    else section.roots.push(node);
    stack.push({ indent, node });
  }
  return sections;
}

/** The flat view an address space uses (`memory` is what devices see, `cpu-memory-0` what vCPU 0 sees). */
export function flatViewOf(views: readonly FlatView[], addressSpace: string): FlatView | undefined {
  return views.find((v) => v.addressSpaces.includes(addressSpace));
}

/** The flat range serving `gpa`, or undefined when nothing is mapped there. */
export function rangeAt(view: FlatView, gpa: number | bigint): FlatRange | undefined {
  const a = BigInt(gpa);
  return view.ranges.find((r) => r.start <= a && a <= r.end);
}

/** Guest writes do not change the bytes: ROM, or a ROM device in ROMD (read-array) mode whose writes go to the device. */
export function isReadOnlyKind(kind: MtreeKind): boolean {
  return kind === 'rom' || kind === 'romd';
}

/** Every flat range of one region, e.g. a pflash device's (its kind says romd or i/o). */
export function rangesOf(view: FlatView, region: string): FlatRange[] {
  return view.ranges.filter((r) => r.region === region);
}

/** Depth-first search of a section's tree for nodes named `name`. */
export function findNodes(section: MtreeSection, name: string): MtreeNode[] {
  const out: MtreeNode[] = [];
  const walk = (nodes: MtreeNode[]) => {
    for (const n of nodes) {
      if (n.name === name) out.push(n);
      walk(n.children);
    }
  };
  walk(section.roots);
  return out;
}

export const FOUR_GIB = 0x1_0000_0000n;
export const RESET_VECTOR = 0xffff_fff0;

/** What serves the reset vector, in the terms every target reports (see reset-vector.test.ts). */
export interface ResetVectorMapping {
  gpa: number;
  /** The region serving the reset vector; null when nothing is mapped. */
  region: string | null;
  kind: MtreeKind | null;
  readOnly: boolean;
  /** The region is the firmware image, all of it, ending at 4 GiB. */
  firmware: boolean;
  start?: number;
  end?: number;
}

/**
 * The reset-vector mapping from the vCPU's flat view: served by `firmwareRegion` (pc.bios for
 * -bios, system.flash0 for pflash) covering [4 GiB - imageBytes, 4 GiB) read-only.
 */
export function resetVectorMapping(views: readonly FlatView[], firmwareRegion: string, imageBytes: number): ResetVectorMapping {
  const view = flatViewOf(views, 'cpu-memory-0') ?? flatViewOf(views, 'memory');
  const range = view && rangeAt(view, RESET_VECTOR);
  if (!view || !range) return { gpa: RESET_VECTOR, region: null, kind: null, readOnly: false, firmware: false };
  // A firmware region can be split into several flat ranges (e.g. by an overlapping device): use
  // the extent of its contiguous ranges around the reset vector.
  let start = range.start;
  for (const r of rangesOf(view, range.region).sort((a, b) => (a.start < b.start ? 1 : -1))) {
    if (r.end + 1n === start) start = r.start;
  }
  const firmware =
    range.region === firmwareRegion && range.end === FOUR_GIB - 1n && start === FOUR_GIB - BigInt(imageBytes);
  return {
    gpa: RESET_VECTOR,
    region: range.region,
    kind: range.kind,
    readOnly: isReadOnlyKind(range.kind),
    firmware,
    start: Number(start),
    end: Number(range.end),
  };
}
