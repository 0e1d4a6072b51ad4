// `info mtree` and `info mtree -f` parsing against real QEMU 7.2 output (testdata/), and the
// reset-vector mapping derived from it.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  findNodes,
  flatViewOf,
  isReadOnlyKind,
  parseFlatViews,
  parseMtree,
  rangeAt,
  rangesOf,
  RESET_VECTOR,
  resetVectorMapping,
} from './mtree.js';

const data = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
const SEABIOS_FLAT = data('mtree-f-seabios-pc-7.2.txt');
const OVMF_FLAT = data('mtree-f-ovmf-pflash-pc-7.2.txt');
const AFTER_POST_TREE = data('mtree-seabios-pc-7.2-after-post.txt');
const KiB = 1024;
const OVMF_CODE_4M_BYTES = 3_653_632;

describe('info mtree -f (QEMU 7.2, SeaBIOS at reset)', () => {
  const views = parseFlatViews(SEABIOS_FLAT);

  test('lists every flat view with the address spaces sharing it', () => {
    expect(views[0]).toMatchObject({ index: 0, addressSpaces: ['memory', 'cpu-memory-0', 'cpu-memory-1'], root: 'system' });
    expect(flatViewOf(views, 'cpu-smm-0')?.index).toBe(1);
    expect(flatViewOf(views, 'I/O')?.root).toBe('io');
    expect(views.find((v) => v.addressSpaces.includes('i440FX'))).toMatchObject({ root: null, ranges: [] });
  });

  test('the reset vector is served by pc.bios, ROM, ending at 4 GiB', () => {
    const range = rangeAt(flatViewOf(views, 'cpu-memory-0')!, RESET_VECTOR);
    expect(range).toEqual({ start: 0xfffc_0000n, end: 0xffff_ffffn, priority: 0, kind: 'rom', nonVolatile: false, region: 'pc.bios', offset: 0n });
  });

  test('aliases resolve to the region with its offset (the legacy BIOS window is the last 128 KiB of pc.bios)', () => {
    const view = flatViewOf(views, 'memory')!;
    expect(rangeAt(view, 0xf_fff0)).toMatchObject({ region: 'pc.bios', kind: 'rom', start: 0xe_0000n, offset: 0x2_0000n });
    expect(rangesOf(view, 'pc.ram').map((r) => [r.start, r.end])).toEqual([
      [0n, 0xb_ffffn],
      [0x10_0000n, 0x1fff_ffffn],
    ]);
    expect(rangeAt(view, 0xa_0000)?.region).toBe('pc.ram');
    expect(rangeAt(view, 0xfeb0_0000), 'a hole between RAM and the IOAPIC').toBeUndefined();
  });

  test('the I/O view names the ports bootgate relies on', () => {
    const io = flatViewOf(views, 'I/O')!;
    expect(rangeAt(io, 0x402)?.region).toBe('isa-debugcon');
    expect(rangeAt(io, 0xf4)?.region).toBe('isa-debug-exit');
    expect(rangeAt(io, 0x3f8)?.region).toBe('serial');
    expect(rangeAt(io, 0x71)).toMatchObject({ region: 'rtc', offset: 1n });
  });

  test('resetVectorMapping: firmware only when the region is the image, all of it, ending at 4 GiB', () => {
    expect(resetVectorMapping(views, 'pc.bios', 256 * KiB)).toEqual({
      gpa: 0xffff_fff0,
      region: 'pc.bios',
      kind: 'rom',
      readOnly: true,
      firmware: true,
      start: 0xfffc_0000,
      end: 0xffff_ffff,
    });
    expect(resetVectorMapping(views, 'pc.bios', 128 * KiB).firmware, 'a 128 KiB image must not look like this 256 KiB mapping').toBe(false);
    expect(resetVectorMapping(views, 'system.flash0', 256 * KiB).firmware).toBe(false);
  });

  test('nothing at the reset vector reports region null, not read-only, not firmware', () => {
    const holed = SEABIOS_FLAT.split('\n').filter((l) => !l.includes('): pc.bios') || l.includes('@')).join('\n');
    expect(resetVectorMapping(parseFlatViews(holed), 'pc.bios', 256 * KiB)).toEqual({
      gpa: RESET_VECTOR,
      region: null,
      kind: null,
      readOnly: false,
      firmware: false,
    });
  });
});

describe('info mtree -f (QEMU 7.2, OVMF in pflash at reset)', () => {
  const views = parseFlatViews(OVMF_FLAT);

  test('CODE (flash0) serves the reset vector in ROMD mode; VARS (flash1) sits right below it', () => {
    const view = flatViewOf(views, 'cpu-memory-0')!;
    expect(rangeAt(view, RESET_VECTOR)).toMatchObject({ region: 'system.flash0', kind: 'romd', start: 0xffc8_4000n });
    expect(rangesOf(view, 'system.flash1')).toMatchObject([{ kind: 'romd', start: 0xffc0_0000n, end: 0xffc8_3fffn }]);
    expect(resetVectorMapping(views, 'system.flash0', OVMF_CODE_4M_BYTES)).toMatchObject({ readOnly: true, firmware: true });
  });

  test('a flash device in command mode prints as i/o: mapped, but not read-only memory', () => {
    const commandMode = OVMF_FLAT.replace(/\(prio 0, romd\): system\.flash0/g, '(prio 0, i/o): system.flash0');
    const m = resetVectorMapping(parseFlatViews(commandMode), 'system.flash0', OVMF_CODE_4M_BYTES);
    expect(m).toMatchObject({ region: 'system.flash0', kind: 'i/o', readOnly: false, firmware: true });
  });

  test('QEMU 8 flat views drop "prio N, " and still parse', () => {
    const v8 = OVMF_FLAT.replace(/\(prio -?\d+, /g, '(');
    const range = rangeAt(flatViewOf(parseFlatViews(v8), 'memory')!, RESET_VECTOR);
    expect(range).toMatchObject({ region: 'system.flash0', kind: 'romd', priority: undefined });
  });

  test('read-only kinds', () => {
    expect(['rom', 'romd', 'ram', 'i/o', 'ramd'].map(isReadOnlyKind)).toEqual([true, true, false, false, false]);
  });
});

describe('info mtree (QEMU 7.2, tree after SeaBIOS POST)', () => {
  const sections = parseMtree(AFTER_POST_TREE);
  const section = (type: string, name: string) => sections.find((s) => s.type === type && s.name === name)!;

  test('sections for address spaces and aliased regions', () => {
    expect(sections.filter((s) => s.type === 'address-space').map((s) => s.name)).toEqual([
      'cpu-memory-0',
      'cpu-memory-1',
      'memory',
      'i440FX',
      'PIIX4_PM',
      'piix3-ide',
      'cpu-smm-0',
      'cpu-smm-1',
      'PIIX3',
      'I/O',
    ]);
    expect(section('address-space', 'cpu-memory-0').roots, 'an address space printed without regions').toEqual([]);
    expect(sections.filter((s) => s.type === 'memory-region').map((s) => s.name)).toContain('pc.bios');
  });

  test('nesting follows indentation; aliases name their target and range', () => {
    const system = section('address-space', 'memory').roots[0]!;
    expect(system).toMatchObject({ name: 'system', kind: 'i/o', start: 0n, end: 0xffff_ffff_ffff_ffffn, priority: 0 });
    const pci = system.children.find((n) => n.name === 'pci')!;
    expect(pci.priority).toBe(-1);
    expect(pci.children.map((n) => n.name)).toEqual(['pc.rom', 'isa-bios', 'pc.bios']);
    expect(pci.children[1]).toMatchObject({ kind: 'rom', alias: { target: 'pc.bios', start: 0x2_0000n, end: 0x3_ffffn } });
    expect(system.children.find((n) => n.name === 'ram-below-4g')).toMatchObject({ kind: 'ram', alias: { target: 'pc.ram', start: 0n, end: 0x1fff_ffffn } });
  });

  test('after POST the PAM granules are RAM: read-only below 0xe8000, writable at 0xe8000-0xeffff (SeaBIOS low memory)', () => {
    const memory = section('address-space', 'memory');
    expect(findNodes(memory, 'pam-rom')).toHaveLength(11);
    expect(findNodes(memory, 'pam-ram').map((n) => n.start)).toEqual([0xe_8000n, 0xe_c000n]);
    expect(findNodes(memory, 'pam-pci')).toEqual([]);
    expect(findNodes(memory, 'kvmvapic-rom')[0]).toMatchObject({ priority: 1000, kind: 'ram' });
  });

  test('I/O regions nest (piix4-pm holds the ACPI PM ports at the pm_base SeaBIOS chose)', () => {
    const pm = findNodes(section('address-space', 'I/O'), 'piix4-pm')[0]!;
    expect(pm.start).toBe(0x600n);
    expect(pm.children.map((n) => [n.name, n.start])).toEqual([
      ['acpi-evt', 0x600n],
      ['acpi-cnt', 0x604n],
      ['acpi-tmr', 0x608n],
    ]);
  });

  test('[disabled] regions are marked', () => {
    const text = 'address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n    00000000fed1c000-00000000fed1ffff (prio 1, i/o): lpc-rcrb-mmio [disabled]\n';
    expect(parseMtree(text)[0]!.roots[0]!.children[0]).toMatchObject({ name: 'lpc-rcrb-mmio', disabled: true });
  });
});
