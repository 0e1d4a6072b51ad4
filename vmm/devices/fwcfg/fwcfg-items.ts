// What fw_cfg serves: legacy items under well-known keys, named files numbered from FILE_FIRST in
// insertion order, and the FILE_DIR directory built from them, as QEMU 7.2 hw/nvram/fw_cfg.c
// (fw_cfg_add_bytes, fw_cfg_add_file_callback) lays them out. The port and DMA interfaces read
// these items through FwCfg (fwcfg.ts, fwcfg-dma.ts); this file only keeps and checks them.
// Lazy files are built on their first selection and kept until reset(), because QEMU builds the
// ACPI blobs on first read, after firmware has programmed PMBASE.
// Left out: QEMU's sort-by-name file order (files keep insertion order; firmware looks files up
// by name, so only the selector numbers differ) and the file slot limits of old machine types.

import { BootgateError, configError } from '../../errors.js';
import { FWCFG_ENTRY_MASK, FWCFG_FILE_ENTRY_SIZE, FWCFG_FILE_NAME_SIZE, FWCFG_MAX_FILES, FWCFG_WRITE_CHANNEL, FwCfgKey } from './fwcfg-keys.js';

/** Called after the guest wrote `bytes` by DMA into a file at `offset` (the item already holds them). */
export type FileWriteHandler = (bytes: Uint8Array, offset: number) => void;

export interface FwCfgItem {
  readonly key: number;
  /** Set for named files. */
  readonly name?: string;
  /** Undefined until a lazy file is built. */
  data: Uint8Array | undefined;
  /** Size as the directory announces it. */
  readonly size: number;
  readonly build?: () => Uint8Array;
  writeHandler?: FileWriteHandler;
}

const FILE_NAME_RE = /^[\x20-\x7e]+$/;

export class FwCfgItems {
  private readonly items = new Map<number, FwCfgItem>();
  private readonly fileItems: FwCfgItem[] = [];

  /** `onBuild` hears of every lazy build, with the size the builder returned (before padding). */
  constructor(private readonly onBuild: (item: FwCfgItem, builtBytes: number) => void) {}

  /** Add a legacy item under a well-known key below FILE_FIRST (or an arch key 0x8000|n). Takes ownership of `bytes`. */
  addItem(key: number, bytes: Uint8Array): void {
    if (!Number.isInteger(key) || key < 0 || key > 0xffff) {
      throw configError('fw_cfg key', key, 'an integer 0x0000-0xffff');
    }
    if (key & FWCFG_WRITE_CHANNEL) throw configError('fw_cfg key', key, 'a key without bit 14 (the write channel)');
    if (key === FwCfgKey.FILE_DIR) throw configError('fw_cfg key', key, 'a key other than FILE_DIR (the device builds it)');
    if ((key & FWCFG_ENTRY_MASK) >= FwCfgKey.FILE_FIRST) {
      throw configError('fw_cfg key', key, 'an index below 0x20 (named files get their keys from addFile)');
    }
    if (!(bytes instanceof Uint8Array)) throw configError('fw_cfg item bytes', typeof bytes, 'a Uint8Array');
    if (this.items.has(key)) {
      throw new BootgateError('E_CONFIG', `fw_cfg key 0x${key.toString(16)} added twice`, { hint: 'add each key once' });
    }
    this.items.set(key, { key, data: bytes, size: bytes.length });
  }

  /** Little-endian u16, u32 and u64 items, as QEMU's fw_cfg_add_i16/i32/i64. */
  addU16(key: number, value: number): void {
    this.addItem(key, leBytes(value, 2, 'fw_cfg u16 value'));
  }

  addU32(key: number, value: number): void {
    this.addItem(key, leBytes(value, 4, 'fw_cfg u32 value'));
  }

  addU64(key: number, value: number | bigint): void {
    const v = typeof value === 'bigint' ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
    if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw configError('fw_cfg u64 value', String(value), 'an integer 0-2^64-1');
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, v, true);
    this.addItem(key, bytes);
  }

  /** Add a named file (see FwCfg.addFile); returns its key. */
  addFile(name: string, content: Uint8Array | (() => Uint8Array), size?: number): number {
    const nameBytes = typeof name === 'string' ? name.length : 0;
    if (nameBytes === 0 || nameBytes >= FWCFG_FILE_NAME_SIZE || !FILE_NAME_RE.test(name)) {
      throw configError('fw_cfg file name', name, `1-${FWCFG_FILE_NAME_SIZE - 1} printable ASCII characters`);
    }
    if (this.fileItems.some((f) => f.name === name)) {
      throw new BootgateError('E_CONFIG', `fw_cfg file ${name} added twice`, { hint: 'add each file once' });
    }
    if (this.fileItems.length >= FWCFG_MAX_FILES) {
      throw configError('fw_cfg file count', this.fileItems.length + 1, `at most ${FWCFG_MAX_FILES} files`);
    }
    const key = FwCfgKey.FILE_FIRST + this.fileItems.length;
    let item: FwCfgItem;
    if (content instanceof Uint8Array) {
      if (size !== undefined) throw configError('fw_cfg file size', size, 'no size for a file given as bytes');
      item = { key, name, data: content, size: content.length };
    } else if (typeof content === 'function') {
      if (size === undefined || !Number.isInteger(size) || size < 0 || size > 0xffff_ffff) {
        throw configError(`fw_cfg file size of ${name}`, size, 'an integer 0-0xffffffff (lazy files declare their size)');
      }
      item = { key, name, data: undefined, size, build: content };
    } else {
      throw configError(`fw_cfg file content of ${name}`, typeof content, 'a Uint8Array or a function returning one');
    }
    this.fileItems.push(item);
    this.items.set(key, item);
    return key;
  }

  /** Accept DMA writes into a file (QEMU's allow_write + write_cb); without a handler writes fail. */
  setFileWriteHandler(name: string, handler: FileWriteHandler): void {
    const item = this.fileItems.find((f) => f.name === name);
    if (!item) throw configError('fw_cfg file name', name, `one of the added files (${this.files().join(', ')})`);
    item.writeHandler = handler;
  }

  /** Names in directory order. */
  files(): string[] {
    return this.fileItems.map((f) => f.name!);
  }

  /** Key a file was given, or undefined. */
  fileKey(name: string): number | undefined {
    return this.fileItems.find((f) => f.name === name)?.key;
  }

  /** What selecting `key` reaches: FILE_DIR is built afresh, a lazy file is built now; undefined if absent. */
  lookup(key: number): FwCfgItem | undefined {
    const item = key === FwCfgKey.FILE_DIR ? this.directory() : this.items.get(key);
    if (item && item.data === undefined) this.buildLazy(item);
    return item;
  }

  /** Machine reset: lazy files are built again on their next selection. */
  reset(): void {
    for (const f of this.fileItems) if (f.build) f.data = undefined;
  }

  /** be32 count, then per file {be32 size, be16 select, u16 0, name[56] NUL-padded}. */
  private directory(): FwCfgItem {
    const n = this.fileItems.length;
    const bytes = new Uint8Array(4 + n * FWCFG_FILE_ENTRY_SIZE);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, n);
    this.fileItems.forEach((f, i) => {
      const base = 4 + i * FWCFG_FILE_ENTRY_SIZE;
      view.setUint32(base, f.size);
      view.setUint16(base + 4, f.key);
      for (let c = 0; c < f.name!.length; c++) bytes[base + 8 + c] = f.name!.charCodeAt(c);
    });
    return { key: FwCfgKey.FILE_DIR, data: bytes, size: bytes.length };
  }

  private buildLazy(item: FwCfgItem): void {
    const built = item.build!();
    if (!(built instanceof Uint8Array) || built.length > item.size) {
      const got = built instanceof Uint8Array ? `${built.length} bytes` : typeof built;
      throw new BootgateError('E_INTERNAL', `fw_cfg file ${item.name} built ${got}; its directory entry says ${item.size}`, {
        hint: 'declare a size at least as large as the largest build (QEMU pads ACPI blobs the same way)',
      });
    }
    let data = built;
    if (built.length < item.size) {
      data = new Uint8Array(item.size);
      data.set(built);
    }
    item.data = data;
    this.onBuild(item, built.length);
  }
}

function leBytes(value: number, size: 2 | 4, option: string): Uint8Array {
  const max = size === 2 ? 0xffff : 0xffff_ffff;
  if (!Number.isInteger(value) || value < 0 || value > max) throw configError(option, value, `an integer 0-0x${max.toString(16)}`);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (value >>> (8 * i)) & 0xff;
  return bytes;
}
