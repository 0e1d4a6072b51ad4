import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as layout from './layout.js';
import { hexGrouped, parseLayout, REGENERATE_COMMAND, renderLayoutTable } from './layout-table.js';

const LAYOUT_SOURCE = readFileSync(new URL('./layout.ts', import.meta.url), 'utf8');

describe('docs/memory-layout.md', () => {
  it('is layout.ts rendered (regenerate it after changing layout.ts)', async () => {
    await expect(renderLayoutTable(LAYOUT_SOURCE, layout), `docs/memory-layout.md is stale; run: ${REGENERATE_COMMAND}`).toMatchFileSnapshot(
      '../docs/memory-layout.md',
    );
  });
});

describe('renderLayoutTable', () => {
  it('lists every exported constant and function of layout.ts, each with its comment', () => {
    const entries = parseLayout(LAYOUT_SOURCE, layout).flatMap((s) => s.entries);
    const names = entries.map((e) => e.name).sort();
    const exported = Object.keys(layout).sort();
    expect(names).toEqual(exported);
    for (const e of entries) expect(e.doc, e.name).not.toBe('');
  });

  it('shows addresses in grouped hex, amounts with their unit, calls with their inputs', () => {
    const rows = Object.fromEntries(parseLayout(LAYOUT_SOURCE, layout).flatMap((s) => s.entries.map((e) => [e.name, e.value])));
    expect(rows.LAPIC_BASE).toBe('0xfee0_0000');
    expect(rows.BIOS_LOW_SIZE).toBe('0x2_0000 (128 KiB)');
    expect(rows.SLOT_FLASH_CODE).toBe('18');
    expect(rows.splitRam).toBe('splitRam(ramSize, maxBelow4G)');
  });

  it('refuses an export without a doc comment or outside a section', () => {
    expect(() => parseLayout('// --- A\nexport const X = 1;\n', { X: 1 })).toThrow(/X: no doc comment/);
    expect(() => parseLayout('/** Why. */\nexport const X = 1;\n', { X: 1 })).toThrow(/before the first/);
    expect(() => parseLayout('// --- A\n/** Why. */\n\nconst Y = 2;\nexport const X = 1;\n', { X: 1 })).toThrow(/X: no doc comment/);
  });

  it('escapes table separators in comments', () => {
    const md = renderLayoutTable('// --- A\n/** a | b. */\nexport const X = 1;\n', { X: 1 });
    expect(md).toContain('| `X` | `1` | a \\| b. |');
  });

  it('groups hex digits by four from the right', () => {
    expect(hexGrouped(0x1_0000_0000)).toBe('0x1_0000_0000');
    expect(hexGrouped(0xf000)).toBe('0xf000');
    expect(hexGrouped(0x8_4000)).toBe('0x8_4000');
  });
});
