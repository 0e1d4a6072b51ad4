// QEMU's firmware configuration device (fw_cfg), x86 I/O-port flavour with the DMA interface.
// Follows QEMU 7.2 docs/specs/fw_cfg.txt and the behaviour of hw/nvram/fw_cfg.c (fw_cfg_io,
// fw_cfg_select, fw_cfg_data_read, fw_cfg_dma_transfer, fw_cfg_dma_mem_read/write), as SeaBIOS
// rel-1.16.2 src/fw/paravirt.c, OVMF QemuFwCfgLib and linuxboot_dma.bin drive it.
//
// Registered on the PIO bus at FWCFG_PORT_SELECTOR (0x510) with span FWCFG_IO_SPAN (0x0C). Offsets:
//   0x0    16-bit write: select a key. 8-bit read: next data byte (QEMU's port 0x510/0x511 region
//          is one "comb" region whose 8-bit reads all go to the data register).
//   0x1    8-bit read: next data byte, zero past the end of the item (or for an absent key).
//   0x2-3  nothing (QEMU maps no region there): reads all ones, writes ignored; counted as misuse.
//   0x4-7  DMA address high half (be32 write); reads give "QEMU" of the "QEMU CFG" signature.
//   0x8-B  DMA address low half (be32 write, starts the transfer); reads give " CFG".
// Selecting resets the read offset. Bit 14 of a selector (the old write channel) is masked off;
// bit 15 selects the arch key space, a separate set of items (see FwCfgArchKey).
//
// Choices where QEMU's x86 path differs from a naive reading of the spec:
// - Data reads wider than 8 bits are NOT concatenated. QEMU concatenates only on the MMIO data
//   register of other boards; its x86 comb region accepts only 1-byte reads (fw_cfg_comb_valid),
//   so `inw/inl 0x510/0x511` are invalid accesses that read 0 and do not advance the offset. We do
//   the same and count a misuse.
// - Selecting or reading an absent key is not an error: reads give zeros, a DMA read zero-fills
//   and completes with control 0 (SeaBIOS probes absent keys such as NUMA and the arch tables).
//   A DMA write is the only request that fails on an absent or read-only item.
// - A DMA transfer consumes the latched address, which then reads as 0 again: SeaBIOS and
//   linuxboot_dma.bin write only the low half and rely on that.
// - An 8-byte write at 0x514 (one big-endian u64) is accepted as QEMU does, though x86 port I/O
//   never produces one.
//
// Left out: the MMIO (ARM/RISC-V) register layout, writes to the legacy data port (ignored since
// QEMU 2.4), QEMU's sort-by-name file order (files keep insertion order; firmware looks files up
// by name, so only the selector numbers differ), file slot limits of old machine types, migration.

import { BootgateError, configError } from '../../errors.js';
import { type BusDevice, getLE, type MachineServices } from '../device.js';
import {
  FWCFG_DMA_CTL_ERROR,
  FWCFG_DMA_CTL_READ,
  FWCFG_DMA_CTL_SELECT,
  FWCFG_DMA_CTL_SKIP,
  FWCFG_DMA_CTL_WRITE,
  FWCFG_DMA_DESCRIPTOR_SIZE,
  FWCFG_DMA_SIGNATURE,
  FWCFG_DMA_SPAN,
  FWCFG_ENTRY_MASK,
  FWCFG_FILE_ENTRY_SIZE,
  FWCFG_FILE_NAME_SIZE,
  FWCFG_ID_DMA,
  FWCFG_ID_TRADITIONAL,
  FWCFG_MAX_FILES,
  FWCFG_OFF_DATA,
  FWCFG_OFF_DMA_HIGH,
  FWCFG_OFF_DMA_LOW,
  FWCFG_OFF_SELECTOR,
  FWCFG_PORT_SELECTOR,
  FWCFG_SIGNATURE,
  FWCFG_WRITE_CHANNEL,
  FwCfgKey,
} from './fwcfg-keys.js';

/** Called after the guest wrote `bytes` by DMA into a file at `offset` (the item already holds them). */
export type FileWriteHandler = (bytes: Uint8Array, offset: number) => void;

/** Counters later suites assert on. Never reset (they span machine resets). */
export interface FwCfgStats {
  /** Key selections, by selector port or by DMA, of present and absent keys alike. */
  selects: number;
  /** 8-bit data-port reads answered (zeros past the end included). */
  ioBytesRead: number;
  /** DMA descriptors processed (one per low-half write). */
  dmaTransfers: number;
  /** Bytes moved by DMA: read into guest memory (zero fill included) plus written from it. Skips are not counted. */
  dmaBytes: number;
  /** DMA transfers that completed with the error bit set. */
  dmaErrors: number;
  /** Lazy files built (at most once per file between resets). */
  lazyBuilds: number;
  /** Selections per key, with the write-channel bit masked off (arch keys keep bit 15). */
  selectsByKey: Record<number, number>;
}

export interface FwCfgOptions {
  /** Offer the DMA interface (ID bit 1 and the 0x514 register). Default true, as QEMU's `pc`. */
  dma?: boolean;
}

interface Item {
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

const ZERO_CHUNK = new Uint8Array(64 * 1024);
const TWO_POW_32 = 0x1_0000_0000;
const FILE_NAME_RE = /^[\x20-\x7e]+$/;

export class FwCfg implements BusDevice {
  readonly name = 'fw_cfg';
  readonly stats: FwCfgStats = {
    selects: 0,
    ioBytesRead: 0,
    dmaTransfers: 0,
    dmaBytes: 0,
    dmaErrors: 0,
    lazyBuilds: 0,
    selectsByKey: {},
  };

  private readonly services: MachineServices;
  private readonly dma: boolean;
  private readonly items = new Map<number, Item>();
  private readonly fileItems: Item[] = [];
  private current: Item | undefined;
  private currentKey: number = FwCfgKey.SIGNATURE;
  private offset = 0;
  private dmaHigh = 0;

  constructor(services: MachineServices, options: FwCfgOptions = {}) {
    this.services = services;
    this.dma = options.dma ?? true;
    // QEMU's fw_cfg_common_realize adds these two; every firmware probes them first.
    this.addItem(FwCfgKey.SIGNATURE, new TextEncoder().encode(FWCFG_SIGNATURE));
    this.addU32(FwCfgKey.ID, FWCFG_ID_TRADITIONAL | (this.dma ? FWCFG_ID_DMA : 0));
    this.current = this.items.get(FwCfgKey.SIGNATURE);
  }

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
      throw new BootgateError('E_CONFIG', `fw_cfg key 0x${hex(key)} added twice`, { hint: 'add each key once' });
    }
    this.items.set(key, { key, data: bytes, size: bytes.length });
  }

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

  /**
   * Add a named file; returns its key (FILE_FIRST + insertion index). A builder function runs on the
   * first selection of the file (QEMU builds ACPI tables on the first read, after firmware has
   * programmed PMBASE) and its result is cached until reset(). The directory is read before that,
   * so a lazy file declares its size: the built bytes are zero-padded to it and must not exceed it.
   */
  addFile(name: string, bytes: Uint8Array): number;
  addFile(name: string, build: () => Uint8Array, size: number): number;
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
    let item: Item;
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

  /** The key currently selected (write-channel bit masked off). */
  get selectedKey(): number {
    return this.currentKey;
  }

  /** Machine reset: select the signature, offset 0, forget the DMA address latch and lazy builds. */
  reset(): void {
    for (const f of this.fileItems) if (f.build) f.data = undefined;
    this.currentKey = FwCfgKey.SIGNATURE;
    this.current = this.items.get(FwCfgKey.SIGNATURE);
    this.offset = 0;
    this.dmaHigh = 0;
  }

  read(offset: number, data: Uint8Array): void {
    if (offset === FWCFG_OFF_SELECTOR || offset === FWCFG_OFF_DATA) {
      if (data.length === 1) {
        data[0] = this.readDataByte();
      } else {
        data.fill(0);
        this.misuse(`${data.length}-byte read at port 0x${hex(FWCFG_PORT_SELECTOR + offset)} (only 8-bit data reads are valid)`);
      }
      return;
    }
    if (this.dma && offset >= FWCFG_OFF_DMA_HIGH) {
      for (let i = 0; i < data.length; i++) {
        const idx = offset - FWCFG_OFF_DMA_HIGH + i;
        data[i] = idx < FWCFG_DMA_SPAN ? FWCFG_DMA_SIGNATURE.charCodeAt(idx) : 0xff;
      }
      return;
    }
    data.fill(0xff);
    this.misuse(`read of unassigned port 0x${hex(FWCFG_PORT_SELECTOR + offset)}`);
  }

  write(offset: number, data: Uint8Array): void {
    const size = data.length;
    if (offset === FWCFG_OFF_SELECTOR && size === 2) {
      this.select(getLE(data));
    } else if ((offset === FWCFG_OFF_SELECTOR || offset === FWCFG_OFF_DATA) && size === 1) {
      this.misuse('legacy data-port write ignored (QEMU dropped fw_cfg port writes in 2.4)');
    } else if (this.dma && offset === FWCFG_OFF_DMA_HIGH && size === 4) {
      this.dmaHigh = be32(data, 0);
    } else if (this.dma && offset === FWCFG_OFF_DMA_LOW && size === 4) {
      const address = this.dmaHigh * TWO_POW_32 + be32(data, 0);
      this.dmaHigh = 0;
      this.transfer(address);
    } else if (this.dma && offset === FWCFG_OFF_DMA_HIGH && size === 8) {
      this.dmaHigh = 0;
      this.transfer(be32(data, 0) * TWO_POW_32 + be32(data, 4));
    } else {
      this.misuse(`${size}-byte write at port 0x${hex(FWCFG_PORT_SELECTOR + offset)} ignored`);
    }
  }

  private select(selector: number): void {
    const key = selector & 0xffff & ~FWCFG_WRITE_CHANNEL;
    this.currentKey = key;
    this.offset = 0;
    this.stats.selects++;
    this.stats.selectsByKey[key] = (this.stats.selectsByKey[key] ?? 0) + 1;
    const item = key === FwCfgKey.FILE_DIR ? this.directory() : this.items.get(key);
    if (item && item.data === undefined) this.buildLazy(item);
    this.current = item;
    // linuxboot(_dma).bin reads the kernel last and jumps into it: with a quiet kernel nothing on
    // the console marks the kernel's entry, so this selection is the boot's kernel-entry milestone.
    if (key === FwCfgKey.KERNEL_DATA && item) this.services.emit({ event: 'milestone', name: 'kernel-entry', detail: 'option ROM reads the kernel (fw_cfg KERNEL_DATA)' });
  }

  private readDataByte(): number {
    this.stats.ioBytesRead++;
    const data = this.current?.data;
    if (!data || this.offset >= data.length) return 0;
    return data[this.offset++]!;
  }

  /** be32 count, then per file {be32 size, be16 select, u16 0, name[56] NUL-padded}. */
  private directory(): Item {
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

  private buildLazy(item: Item): void {
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
    this.stats.lazyBuilds++;
    this.services.emit({ event: 'fwcfg-build', file: item.name, bytes: built.length });
  }

  /** Run the descriptor at guest-physical `descriptor`, then write its control word back. */
  private transfer(descriptor: number): void {
    this.stats.dmaTransfers++;
    if (!Number.isSafeInteger(descriptor)) {
      // Beyond 2^53: no guest memory there, and nowhere we could report the error to.
      this.stats.dmaErrors++;
      this.misuse(`DMA descriptor address 0x${hex(descriptor)} beyond guest-physical range`);
      return;
    }
    let desc: Uint8Array;
    try {
      desc = this.services.readGuest(descriptor, FWCFG_DMA_DESCRIPTOR_SIZE);
    } catch {
      this.complete(descriptor, `DMA descriptor at 0x${hex(descriptor)} unreadable`);
      return;
    }
    const view = new DataView(desc.buffer, desc.byteOffset, FWCFG_DMA_DESCRIPTOR_SIZE);
    const control = view.getUint32(0);
    const length = view.getUint32(4);
    const address = view.getUint32(8) * TWO_POW_32 + view.getUint32(12);

    if (control & FWCFG_DMA_CTL_SELECT) this.select(control >>> 16);
    // QEMU's precedence: read, then write, then skip; none of them means "select only".
    let error: string | undefined;
    if (length > 0 && control & (FWCFG_DMA_CTL_READ | FWCFG_DMA_CTL_WRITE) && !Number.isSafeInteger(address)) {
      error = `DMA buffer address 0x${hex(address)} beyond guest-physical range`;
    } else if (length > 0 && control & FWCFG_DMA_CTL_READ) {
      error = this.dmaRead(address, length);
    } else if (length > 0 && control & FWCFG_DMA_CTL_WRITE) {
      error = this.dmaWrite(address, length);
    } else if (control & FWCFG_DMA_CTL_SKIP) {
      this.offset += Math.min(length, this.remaining());
    }
    this.complete(descriptor, error);
  }

  private remaining(): number {
    const data = this.current?.data;
    return data ? Math.max(0, data.length - this.offset) : 0;
  }

  private dmaRead(address: number, length: number): string | undefined {
    const n = Math.min(length, this.remaining());
    try {
      if (n > 0) this.services.writeGuest(address, this.current!.data!.subarray(this.offset, this.offset + n));
      this.offset += n;
      for (let done = n; done < length; ) {
        const chunk = Math.min(length - done, ZERO_CHUNK.length);
        this.services.writeGuest(address + done, ZERO_CHUNK.subarray(0, chunk));
        done += chunk;
      }
    } catch {
      return `DMA read of ${length} bytes into unmapped guest memory at 0x${hex(address)}`;
    }
    this.stats.dmaBytes += length;
    return undefined;
  }

  private dmaWrite(address: number, length: number): string | undefined {
    const item = this.current;
    if (!item?.writeHandler) return `DMA write to read-only fw_cfg key 0x${hex(this.currentKey)}`;
    if (length > this.remaining()) return `DMA write of ${length} bytes past the end of ${item.name}`;
    let bytes: Uint8Array;
    try {
      bytes = this.services.readGuest(address, length);
    } catch {
      return `DMA write from unmapped guest memory at 0x${hex(address)}`;
    }
    const at = this.offset;
    item.data!.set(bytes, at);
    this.offset += length;
    this.stats.dmaBytes += length;
    item.writeHandler(bytes, at);
    return undefined;
  }

  /** Write the control word back (be32 0, or 1 on error): firmware polls it. */
  private complete(descriptor: number, error: string | undefined): void {
    if (error !== undefined) {
      this.stats.dmaErrors++;
      this.misuse(error);
    }
    const word = new Uint8Array(4);
    new DataView(word.buffer).setUint32(0, error === undefined ? 0 : FWCFG_DMA_CTL_ERROR);
    try {
      this.services.writeGuest(descriptor, word);
    } catch {
      this.misuse(`DMA descriptor at 0x${hex(descriptor)} not writable`);
    }
  }

  private misuse(what: string): void {
    this.services.guestMisuse(this.name, what);
  }
}

function hex(n: number): string {
  return n.toString(16);
}

function be32(data: Uint8Array, at: number): number {
  return ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
}

function leBytes(value: number, size: 2 | 4, option: string): Uint8Array {
  const max = size === 2 ? 0xffff : 0xffff_ffff;
  if (!Number.isInteger(value) || value < 0 || value > max) throw configError(option, value, `an integer 0-0x${hex(max)}`);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (value >>> (8 * i)) & 0xff;
  return bytes;
}
