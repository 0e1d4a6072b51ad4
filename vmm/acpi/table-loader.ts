// QEMU's ACPI table-loader ("etc/table-loader", a.k.a. the BIOS linker/loader): the command
// stream that tells firmware how to place fw_cfg blobs in guest memory, patch the pointers between
// them and fill in checksums. Layout follows QEMU 7.2 hw/acpi/bios-linker-loader.c and is read the
// same way by SeaBIOS 1.16.2 src/fw/romfile_loader.c and edk2 OvmfPkg/AcpiPlatformDxe
// (QemuFwCfgAcpi.c, QemuLoader.h). Each command is 128 bytes, little-endian:
//   +0   u32 command (1 ALLOCATE, 2 ADD_POINTER, 3 ADD_CHECKSUM; anything else, 0 included, is skipped)
//   ALLOCATE      +4 file[56], +60 u32 align (power of 2), +64 u8 zone (1 high memory, 2 F-segment)
//   ADD_POINTER   +4 dst[56], +60 src[56], +116 u32 offset, +120 u8 size (1, 2, 4, 8):
//                 dst[offset..+size] += base address of src (the field holds an offset within src)
//   ADD_CHECKSUM  +4 file[56], +60 u32 offset, +64 u32 start, +68 u32 length: SeaBIOS subtracts
//                 the byte sum of the range from file[offset], OVMF assigns minus the sum (range
//                 including the field): the same result only while the field is 0, so it is left 0
// OVMF also wants a pointer field's initial value (an offset) inside the pointee file, and an
// ALLOCATE alignment of at most 4 KiB; it installs every table an ADD_POINTER reaches except
// RSDT/XSDT (its ACPI protocol builds those), recognising them by a valid length and checksum.
// File names are NUL-padded and at most 55 characters (SeaBIOS rejects a name without a NUL).
// linkTables() lays tables out in their files and emits the commands in QEMU's order: allocations
// first (prepended, so the last file is allocated first: etc/acpi/rsdp before etc/acpi/tables),
// then for each table its pointers and then its checksum.
// Left out: WRITE_POINTER (command 4, used by QEMU only for vmgenid and the TPM log).

export const LOADER_COMMAND_SIZE = 128;
export const LOADER_FILE_NAME_SIZE = 56;

export const LoaderCommandType = { Allocate: 1, AddPointer: 2, AddChecksum: 3 } as const;
/** Where ALLOCATE puts a file: anywhere in high memory, or the 0xE0000-0xFFFFF F-segment (the RSDP must be there). */
export const LoaderZone = { High: 1, FSeg: 2 } as const;
export type LoaderZoneValue = (typeof LoaderZone)[keyof typeof LoaderZone];

export type LoaderCommand =
  | { type: 'allocate'; file: string; align: number; zone: LoaderZoneValue }
  | { type: 'add-pointer'; dst: string; src: string; offset: number; size: 1 | 2 | 4 | 8 }
  | { type: 'add-checksum'; file: string; offset: number; start: number; length: number };

function putName(out: Uint8Array, at: number, name: string): void {
  if (name.length === 0 || name.length >= LOADER_FILE_NAME_SIZE || !/^[\x20-\x7e]+$/.test(name)) {
    throw new TypeError(`table-loader file name ${JSON.stringify(name)}: expected 1-${LOADER_FILE_NAME_SIZE - 1} printable ASCII characters`);
  }
  for (let i = 0; i < name.length; i++) out[at + i] = name.charCodeAt(i);
}

function getName(bytes: Uint8Array, at: number): string {
  let s = '';
  for (let i = 0; i < LOADER_FILE_NAME_SIZE && bytes[at + i] !== 0; i++) s += String.fromCharCode(bytes[at + i]!);
  return s;
}

function u32(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new TypeError(`table-loader ${what}: ${v} is not a u32`);
  return v;
}

/** Encode commands into 128-byte records. */
export function encodeLoaderCommands(commands: readonly LoaderCommand[]): Uint8Array {
  const out = new Uint8Array(commands.length * LOADER_COMMAND_SIZE);
  const view = new DataView(out.buffer);
  commands.forEach((c, i) => {
    const at = i * LOADER_COMMAND_SIZE;
    switch (c.type) {
      case 'allocate':
        if (!Number.isInteger(c.align) || c.align < 1 || (c.align & (c.align - 1)) !== 0) {
          throw new TypeError(`table-loader align ${c.align}: not a power of 2`);
        }
        view.setUint32(at, LoaderCommandType.Allocate, true);
        putName(out, at + 4, c.file);
        view.setUint32(at + 60, u32('align', c.align), true);
        out[at + 64] = c.zone;
        break;
      case 'add-pointer':
        view.setUint32(at, LoaderCommandType.AddPointer, true);
        putName(out, at + 4, c.dst);
        putName(out, at + 60, c.src);
        view.setUint32(at + 116, u32('pointer offset', c.offset), true);
        out[at + 120] = c.size;
        break;
      case 'add-checksum':
        view.setUint32(at, LoaderCommandType.AddChecksum, true);
        putName(out, at + 4, c.file);
        view.setUint32(at + 60, u32('checksum offset', c.offset), true);
        view.setUint32(at + 64, u32('checksum start', c.start), true);
        view.setUint32(at + 68, u32('checksum length', c.length), true);
        break;
    }
  });
  return out;
}

/** Decode a command stream; unknown commands (zero padding included) are skipped, as firmware does. */
export function decodeLoaderCommands(bytes: Uint8Array): LoaderCommand[] {
  if (bytes.length % LOADER_COMMAND_SIZE !== 0) {
    throw new TypeError(`table-loader stream of ${bytes.length} bytes is not a multiple of ${LOADER_COMMAND_SIZE}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: LoaderCommand[] = [];
  for (let at = 0; at < bytes.length; at += LOADER_COMMAND_SIZE) {
    switch (view.getUint32(at, true)) {
      case LoaderCommandType.Allocate:
        out.push({ type: 'allocate', file: getName(bytes, at + 4), align: view.getUint32(at + 60, true), zone: bytes[at + 64] as LoaderZoneValue });
        break;
      case LoaderCommandType.AddPointer:
        out.push({
          type: 'add-pointer',
          dst: getName(bytes, at + 4),
          src: getName(bytes, at + 60),
          offset: view.getUint32(at + 116, true),
          size: bytes[at + 120] as 1 | 2 | 4 | 8,
        });
        break;
      case LoaderCommandType.AddChecksum:
        out.push({
          type: 'add-checksum',
          file: getName(bytes, at + 4),
          offset: view.getUint32(at + 60, true),
          start: view.getUint32(at + 64, true),
          length: view.getUint32(at + 68, true),
        });
        break;
      default:
        break;
    }
  }
  return out;
}

/** One line per command, in the format of the QEMU 7.2 figures in docs/qemu-7.2-reference.md. */
export function formatLoaderCommand(c: LoaderCommand): string {
  switch (c.type) {
    case 'allocate':
      return `ALLOCATE ${c.file} align=${c.align} zone=${c.zone}`;
    case 'add-pointer':
      return `ADD_POINTER dst=${c.dst} src=${c.src} off=${c.offset} size=${c.size}`;
    case 'add-checksum':
      return `ADD_CHECKSUM ${c.file} off=${c.offset} start=${c.start} len=${c.length}`;
  }
}

/** A field in a table that holds the address of another table once the loader has run. */
export interface TablePointer {
  /** Offset of the field within the table. */
  at: number;
  size: 4 | 8;
  /** id of the table pointed to (in this file or another). */
  to: string;
}

/** A table before placement. Pointer fields and the checksum byte are left for the loader. */
export interface LinkedTable {
  /** Name other tables' pointers use (bootgate uses the signature: "FACS", "DSDT", ...). */
  id: string;
  bytes: Uint8Array;
  /** Alignment within the file (the FACS must be 64-byte aligned). Default 1. */
  align?: number;
  /** Offset of a checksum byte covering the whole table; none for the FACS. */
  checksumAt?: number;
  pointers?: readonly TablePointer[];
}

export interface LoaderFile {
  name: string;
  /** ALLOCATE alignment of the whole file. */
  align: number;
  zone: LoaderZoneValue;
  /** Placed in this order. */
  tables: readonly LinkedTable[];
}

export interface LinkResult {
  /** File contents, unpadded. */
  files: Map<string, Uint8Array>;
  commands: LoaderCommand[];
  /** Where each table landed. */
  placement: Map<string, { file: string; offset: number; length: number }>;
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/**
 * Lay out `files` (tables in order, each at its alignment), write every pointer field as the
 * target's offset within its file, and emit the loader commands in QEMU's order.
 */
export function linkTables(files: readonly LoaderFile[]): LinkResult {
  const placement = new Map<string, { file: string; offset: number; length: number }>();
  const sizes = new Map<string, number>();
  for (const f of files) {
    if (sizes.has(f.name)) throw new TypeError(`table-loader file ${f.name} given twice`);
    let at = 0;
    for (const t of f.tables) {
      if (placement.has(t.id)) throw new TypeError(`ACPI table id ${t.id} given twice`);
      at = alignUp(at, t.align ?? 1);
      placement.set(t.id, { file: f.name, offset: at, length: t.bytes.length });
      at += t.bytes.length;
    }
    sizes.set(f.name, at);
  }

  const out = new Map<string, Uint8Array>();
  const allocations: LoaderCommand[] = [];
  const commands: LoaderCommand[] = [];
  for (const f of files) {
    const blob = new Uint8Array(sizes.get(f.name)!);
    allocations.unshift({ type: 'allocate', file: f.name, align: f.align, zone: f.zone });
    for (const t of f.tables) {
      const base = placement.get(t.id)!.offset;
      blob.set(t.bytes, base);
      for (const p of t.pointers ?? []) {
        const target = placement.get(p.to);
        if (!target) throw new TypeError(`ACPI table ${t.id} points to ${p.to}, which is not laid out`);
        if (p.at < 0 || p.at + p.size > t.bytes.length) throw new TypeError(`ACPI table ${t.id}: pointer field at ${p.at} outside the table`);
        const view = new DataView(blob.buffer, base + p.at, p.size);
        if (p.size === 8) view.setBigUint64(0, BigInt(target.offset), true);
        else view.setUint32(0, target.offset, true);
        commands.push({ type: 'add-pointer', dst: f.name, src: target.file, offset: base + p.at, size: p.size });
      }
      if (t.checksumAt !== undefined) {
        commands.push({ type: 'add-checksum', file: f.name, offset: base + t.checksumAt, start: base, length: t.bytes.length });
      }
    }
    out.set(f.name, blob);
  }
  return { files: out, commands: [...allocations, ...commands], placement };
}
