// The table-loader command encoding (byte positions as QEMU's BiosLinkerLoaderEntry, SeaBIOS's
// romfile_loader_entry_s and OVMF's QEMU_LOADER_ENTRY lay them out) and the table linker.

import { describe, expect, it } from 'vitest';
import {
  decodeLoaderCommands,
  encodeLoaderCommands,
  formatLoaderCommand,
  type LinkedTable,
  linkTables,
  LOADER_COMMAND_SIZE,
  type LoaderCommand,
  LoaderZone,
} from './table-loader.js';

function u32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);
}

function text(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

describe('command encoding', () => {
  const commands: LoaderCommand[] = [
    { type: 'allocate', file: 'etc/acpi/rsdp', align: 16, zone: LoaderZone.FSeg },
    { type: 'add-pointer', dst: 'etc/acpi/rsdp', src: 'etc/acpi/tables', offset: 16, size: 4 },
    { type: 'add-checksum', file: 'etc/acpi/rsdp', offset: 8, start: 0, length: 20 },
  ];
  const bytes = encodeLoaderCommands(commands);

  it('writes 128-byte little-endian records at the offsets firmware reads', () => {
    expect(bytes.length).toBe(3 * LOADER_COMMAND_SIZE);
    // ALLOCATE: command, file[56] at 4, align at 60, zone at 64.
    expect(u32(bytes, 0)).toBe(1);
    expect(text(bytes, 4, 14)).toBe('etc/acpi/rsdp\0');
    expect(u32(bytes, 60)).toBe(16);
    expect(bytes[64]).toBe(2);
    // ADD_POINTER: dst[56] at 4, src[56] at 60, offset at 116, size at 120.
    const p = bytes.subarray(128, 256);
    expect(u32(p, 0)).toBe(2);
    expect(text(p, 4, 13)).toBe('etc/acpi/rsdp');
    expect(text(p, 60, 15)).toBe('etc/acpi/tables');
    expect(u32(p, 116)).toBe(16);
    expect(p[120]).toBe(4);
    // ADD_CHECKSUM: file at 4, offset at 60, start at 64, length at 68.
    const c = bytes.subarray(256, 384);
    expect(u32(c, 0)).toBe(3);
    expect([u32(c, 60), u32(c, 64), u32(c, 68)]).toEqual([8, 0, 20]);
    // Everything else is zero padding.
    expect(bytes.subarray(65, 128).every((b) => b === 0)).toBe(true);
    expect(p.subarray(121).every((b) => b === 0)).toBe(true);
    expect(c.subarray(72).every((b) => b === 0)).toBe(true);
  });

  it('decodes what it encodes and skips zero padding as firmware does', () => {
    const padded = new Uint8Array(4096);
    padded.set(bytes);
    expect(decodeLoaderCommands(padded)).toEqual(commands);
    expect(commands.map(formatLoaderCommand)).toEqual([
      'ALLOCATE etc/acpi/rsdp align=16 zone=2',
      'ADD_POINTER dst=etc/acpi/rsdp src=etc/acpi/tables off=16 size=4',
      'ADD_CHECKSUM etc/acpi/rsdp off=8 start=0 len=20',
    ]);
  });

  it('rejects names that do not fit with their NUL, and alignments that are not powers of 2', () => {
    expect(() => encodeLoaderCommands([{ type: 'allocate', file: 'x'.repeat(56), align: 16, zone: 1 }])).toThrow(TypeError);
    expect(() => encodeLoaderCommands([{ type: 'allocate', file: 'x'.repeat(55), align: 16, zone: 1 }])).not.toThrow();
    expect(() => encodeLoaderCommands([{ type: 'allocate', file: 'a', align: 24, zone: 1 }])).toThrow(TypeError);
    expect(() => decodeLoaderCommands(new Uint8Array(100))).toThrow(TypeError);
  });
});

describe('linkTables', () => {
  const table = (id: string, length: number, extra: Partial<LinkedTable> = {}): LinkedTable => ({
    id,
    bytes: new Uint8Array(length).fill(0xaa),
    ...extra,
  });
  const one = (...tables: LinkedTable[]) => [{ name: 'f', align: 4, zone: LoaderZone.High, tables }];

  it('places tables at their alignment, writes pointer fields as offsets, and orders commands like QEMU', () => {
    const r = linkTables([
      {
        name: 'blob',
        align: 64,
        zone: LoaderZone.High,
        tables: [
          table('A', 10),
          table('B', 20, { align: 64, checksumAt: 9 }),
          table('C', 48, {
            checksumAt: 9,
            pointers: [
              { at: 36, size: 4, to: 'A' },
              { at: 40, size: 8, to: 'B' },
            ],
          }),
        ],
      },
      { name: 'root', align: 16, zone: LoaderZone.FSeg, tables: [table('R', 20, { checksumAt: 8, pointers: [{ at: 16, size: 4, to: 'C' }] })] },
    ]);
    expect([...r.placement]).toEqual([
      ['A', { file: 'blob', offset: 0, length: 10 }],
      ['B', { file: 'blob', offset: 64, length: 20 }],
      ['C', { file: 'blob', offset: 84, length: 48 }],
      ['R', { file: 'root', offset: 0, length: 20 }],
    ]);
    const blob = r.files.get('blob')!;
    expect(blob.length).toBe(132);
    expect(blob.subarray(10, 64).every((b) => b === 0)).toBe(true);
    expect(u32(blob, 84 + 36)).toBe(0);
    expect(new DataView(blob.buffer).getBigUint64(84 + 40, true)).toBe(64n);
    expect(u32(r.files.get('root')!, 16)).toBe(84);
    expect(r.commands.map(formatLoaderCommand)).toEqual([
      'ALLOCATE root align=16 zone=2',
      'ALLOCATE blob align=64 zone=1',
      'ADD_CHECKSUM blob off=73 start=64 len=20',
      'ADD_POINTER dst=blob src=blob off=120 size=4',
      'ADD_POINTER dst=blob src=blob off=124 size=8',
      'ADD_CHECKSUM blob off=93 start=84 len=48',
      'ADD_POINTER dst=root src=blob off=16 size=4',
      'ADD_CHECKSUM root off=8 start=0 len=20',
    ]);
  });

  it('refuses dangling pointers and duplicate ids', () => {
    expect(() => linkTables(one(table('A', 8, { pointers: [{ at: 0, size: 4, to: 'Z' }] })))).toThrow(/Z/);
    expect(() => linkTables(one(table('A', 8), table('A', 8)))).toThrow(/twice/);
    expect(() => linkTables(one(table('A', 8, { pointers: [{ at: 6, size: 4, to: 'A' }] })))).toThrow(/outside/);
  });
});
