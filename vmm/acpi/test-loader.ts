// Test helper: execute a table-loader command stream the way firmware does (ALLOCATE copies the
// whole fw_cfg file to an aligned address in its zone, ADD_POINTER adds the source file's address
// to a little-endian field, ADD_CHECKSUM fixes up a checksum byte: SeaBIOS 1.16.2 romfile_loader.c
// subtracts the range's sum from it, OVMF QemuFwCfgAcpi.c overwrites it with minus the sum), then
// walk the result from the RSDP as an OS would. Anything either firmware would reject throws here.

import { decodeLoaderCommands, LoaderZone } from './table-loader.js';

/** Deliberately unaligned allocation cursors, so alignment mistakes show. */
const FSEG_START = 0xf_5a08;
const FSEG_END = 0x10_0000;
const HIGH_START = 0x3ffd_0004;

export interface LoadedFile {
  file: string;
  address: number;
  bytes: Uint8Array;
}

export interface LoadedTable {
  address: number;
  bytes: Uint8Array;
}

export interface LoadedAcpi {
  files: Map<string, LoadedFile>;
  rsdp: LoadedTable;
  rsdt: LoadedTable;
  /** RSDT entries in order, by signature. */
  entries: { signature: string; table: LoadedTable }[];
  fadt: LoadedTable;
  facs: LoadedTable;
  dsdt: LoadedTable;
  /** Read guest memory covered by the loaded files. */
  read(address: number, length: number): Uint8Array;
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

export function byteSum(bytes: Uint8Array): number {
  let s = 0;
  for (const b of bytes) s = (s + b) & 0xff;
  return s;
}

export function signatureOf(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes.subarray(0, 4));
}

/** Run the loader over `files` (fw_cfg contents, padded or not) and walk the tables it produced. */
export function runTableLoader(files: Map<string, Uint8Array>, loader: Uint8Array, firmware: 'seabios' | 'ovmf' = 'seabios'): LoadedAcpi {
  const loaded = new Map<string, LoadedFile>();
  let fseg = FSEG_START;
  let high = HIGH_START;
  for (const c of decodeLoaderCommands(loader)) {
    if (c.type === 'allocate') {
      const content = files.get(c.file);
      if (!content) throw new Error(`ALLOCATE of ${c.file}: no such fw_cfg file`);
      if (loaded.has(c.file)) throw new Error(`ALLOCATE of ${c.file} twice`);
      if (c.align & (c.align - 1) || c.align > 4096) throw new Error(`ALLOCATE of ${c.file}: align ${c.align} is not a power of 2 up to 4096`);
      let address: number;
      if (c.zone === LoaderZone.FSeg) {
        address = alignUp(fseg, c.align);
        fseg = address + content.length;
        if (fseg > FSEG_END) throw new Error(`ALLOCATE of ${c.file}: ${content.length} bytes do not fit the F-segment`);
      } else if (c.zone === LoaderZone.High) {
        address = alignUp(high, c.align);
        high = address + content.length;
      } else {
        throw new Error(`ALLOCATE of ${c.file}: zone ${c.zone}`);
      }
      loaded.set(c.file, { file: c.file, address, bytes: Uint8Array.from(content) });
    } else if (c.type === 'add-pointer') {
      const dst = loaded.get(c.dst);
      const src = loaded.get(c.src);
      if (!dst || !src) throw new Error(`ADD_POINTER ${c.dst} <- ${c.src}: file not allocated`);
      if (![1, 2, 4, 8].includes(c.size) || c.offset + c.size > dst.bytes.length) {
        throw new Error(`ADD_POINTER at ${c.offset} size ${c.size} outside ${c.dst}`);
      }
      const view = new DataView(dst.bytes.buffer, c.offset, c.size);
      let value = 0n;
      for (let i = 0; i < c.size; i++) value |= BigInt(view.getUint8(i)) << BigInt(8 * i);
      if (value >= BigInt(src.bytes.length)) throw new Error(`ADD_POINTER at ${c.dst}+${c.offset}: initial value ${value} outside ${c.src}`);
      value += BigInt(src.address);
      if (value >> BigInt(8 * c.size) !== 0n) throw new Error(`ADD_POINTER at ${c.dst}+${c.offset}: pointer truncated to ${c.size} bytes`);
      for (let i = 0; i < c.size; i++) view.setUint8(i, Number((value >> BigInt(8 * i)) & 0xffn));
    } else {
      const f = loaded.get(c.file);
      if (!f) throw new Error(`ADD_CHECKSUM in ${c.file}: file not allocated`);
      if (c.offset >= f.bytes.length || c.start + c.length > f.bytes.length) {
        throw new Error(`ADD_CHECKSUM ${c.file} off=${c.offset} start=${c.start} len=${c.length} outside the file`);
      }
      const sum = byteSum(f.bytes.subarray(c.start, c.start + c.length));
      f.bytes[c.offset] = firmware === 'seabios' ? (f.bytes[c.offset]! - sum) & 0xff : -sum & 0xff;
    }
  }

  const read = (address: number, length: number): Uint8Array => {
    for (const f of loaded.values()) {
      const at = address - f.address;
      if (at >= 0 && at + length <= f.bytes.length) return f.bytes.subarray(at, at + length);
    }
    throw new Error(`read of ${length} bytes at 0x${address.toString(16)}: not in any loaded file`);
  };
  const table = (address: number): LoadedTable => {
    const length = new DataView(read(address, 8).slice().buffer).getUint32(4, true);
    return { address, bytes: read(address, length) };
  };

  let rsdp: LoadedTable | undefined;
  for (const f of loaded.values()) {
    if (f.address >= FSEG_END) continue;
    for (let at = alignUp(f.address, 16) - f.address; at + 20 <= f.bytes.length; at += 16) {
      const candidate = f.bytes.subarray(at, at + 20);
      const signature = String.fromCharCode(...candidate.subarray(0, 8));
      if (signature === 'RSD PTR ' && byteSum(candidate) === 0) rsdp = { address: f.address + at, bytes: candidate };
    }
  }
  if (!rsdp) throw new Error('no RSDP with a valid checksum on a 16-byte boundary in the F-segment');
  const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
  const rsdt = table(u32(rsdp.bytes, 16));
  const entries: { signature: string; table: LoadedTable }[] = [];
  for (let at = 36; at < rsdt.bytes.length; at += 4) {
    const t = table(u32(rsdt.bytes, at));
    entries.push({ signature: signatureOf(t.bytes), table: t });
  }
  const fadt = entries.find((e) => e.signature === 'FACP')?.table;
  if (!fadt) throw new Error('RSDT lists no FACP');
  const facs = table(u32(fadt.bytes, 36));
  const dsdt = table(u32(fadt.bytes, 40));
  return { files: loaded, rsdp, rsdt, entries, fadt, facs, dsdt, read };
}
