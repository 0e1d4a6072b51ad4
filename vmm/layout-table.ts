// Renders layout.ts as the Markdown tables of docs/memory-layout.md, so the document is the code
// and cannot drift from it (layout-table.test.ts compares the checked-in file with a fresh render).
// Reads layout.ts's source for what a reader needs and the module cannot tell: the `// --- Title`
// section lines and each export's doc comment; the values come from the module itself. An exported
// constant or function without a doc comment is an error, which keeps docs/style.md's rule that
// every address says why it is there. Interfaces are types, not layout, and are skipped.
// A value of 0x1000 or more is shown in hex with `_` every four digits; a constant whose name says
// it is an amount (a unit, or ending in _SIZE, _ROOM, _ALIGN or _LIMIT) also gets KiB/MiB/GiB.

/** The command that rewrites docs/memory-layout.md from layout.ts. */
export const REGENERATE_COMMAND = 'npx vitest run vmm/layout-table.test.ts --update';

export interface LayoutEntry {
  name: string;
  /** What the Value column shows: the number, or how a function is called. */
  value: string;
  doc: string;
}

export interface LayoutSection {
  title: string;
  entries: LayoutEntry[];
}

const SECTION_RE = /^\/\/ --- (.+?)(?: ---)?$/;
const EXPORT_RE = /^export (const|function|interface) ([A-Za-z_$][\w$]*)/;
const AMOUNT_RE = /^(KiB|MiB|GiB|FOUR_GIB)$|_(SIZE|ROOM|ALIGN|LIMIT)$/;
const UNITS: readonly [string, number][] = [
  ['GiB', 2 ** 30],
  ['MiB', 2 ** 20],
  ['KiB', 2 ** 10],
];

/** `0xfee0_0000`: hex digits grouped by four from the right, as layout.ts writes them. */
export function hexGrouped(value: number): string {
  const digits = value.toString(16);
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 4) groups.unshift(digits.slice(Math.max(0, end - 4), end));
  return `0x${groups.join('_')}`;
}

function amount(value: number): string | undefined {
  for (const [unit, size] of UNITS) {
    if (value >= size && value % size === 0) return `${value / size} ${unit}`;
  }
  return undefined;
}

function formatValue(name: string, value: unknown): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`layout.ts ${name}: expected a non-negative integer, got ${String(value)}`);
  }
  if (value < 0x1000) return String(value);
  const size = AMOUNT_RE.test(name) ? amount(value) : undefined;
  return size === undefined ? hexGrouped(value) : `${hexGrouped(value)} (${size})`;
}

/** `name(a, b)` from a signature's parameter list, without types or defaults. */
function callShape(name: string, signature: string): string {
  const open = signature.indexOf('(');
  let depth = 0;
  let close = open;
  for (let i = open; i < signature.length; i++) {
    if (signature[i] === '(') depth++;
    if (signature[i] === ')' && --depth === 0) {
      close = i;
      break;
    }
  }
  const params = signature
    .slice(open + 1, close)
    .split(',')
    .map((p) => p.trim().split(/[:=?\s]/)[0]!)
    .filter((p) => p !== '');
  return `${name}(${params.join(', ')})`;
}

function docText(lines: readonly string[]): string {
  return lines
    .map((l) => l.trim().replace(/^\/\*\*/, '').replace(/\*\/$/, '').replace(/^\*/, '').trim())
    .filter((l) => l !== '')
    .join(' ');
}

/** The sections of layout.ts, each export with its doc comment and value, in source order. */
export function parseLayout(source: string, values: Readonly<Record<string, unknown>>): LayoutSection[] {
  const lines = source.split('\n');
  const sections: LayoutSection[] = [];
  let doc: string[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const section = SECTION_RE.exec(line);
    if (section) {
      sections.push({ title: section[1]!, entries: [] });
      doc = undefined;
      continue;
    }
    if (line.startsWith('/**')) {
      const start = i;
      while (!lines[i]!.includes('*/') && i < lines.length - 1) i++;
      doc = lines.slice(start, i + 1);
      continue;
    }
    const exported = EXPORT_RE.exec(line);
    if (exported) {
      const [, kind, name] = exported as unknown as [string, string, string];
      if (kind !== 'interface') {
        if (doc === undefined) throw new Error(`layout.ts ${name}: no doc comment; say which firmware or OS expectation puts it there`);
        if (sections.length === 0) throw new Error(`layout.ts ${name}: exported before the first "// --- Section" line`);
        let signature = line;
        for (let j = i + 1; kind === 'function' && !signature.includes('{') && j < lines.length; j++) signature += lines[j];
        const value = kind === 'function' ? callShape(name, signature) : formatValue(name, values[name]);
        sections[sections.length - 1]!.entries.push({ name, value, doc: docText(doc) });
      }
    }
    // A doc comment belongs to the declaration right after it, nothing later.
    if (line.trim() !== '') doc = undefined;
  }
  return sections;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** docs/memory-layout.md: a short preamble, then one table per section of layout.ts. */
export function renderLayoutTable(source: string, values: Readonly<Record<string, unknown>>): string {
  const out = [
    '# Guest-physical memory layout',
    '',
    'Every guest-physical address, size and slot number of the `pc` machine, rendered from',
    '`vmm/layout.ts` by `vmm/layout-table.ts`. Do not edit this file: change `vmm/layout.ts`, then',
    'regenerate it with',
    '',
    `    ${REGENERATE_COMMAND}`,
    '',
    'I/O ports are not here; each is named where its device is registered. Functions compute a',
    'placement from the inputs named in their call.',
  ];
  for (const section of parseLayout(source, values)) {
    out.push('', `## ${section.title}`, '', '| Name | Value | Why |', '| --- | --- | --- |');
    for (const e of section.entries) out.push(`| \`${e.name}\` | \`${e.value}\` | ${cell(e.doc)} |`);
  }
  return `${out.join('\n')}\n`;
}
