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
// The items themselves live in fwcfg-items.ts, the descriptor engine in fwcfg-dma.ts; this file
// decodes the ports, owns the selection both interfaces share and counts what suites assert on.
// Left out: the MMIO (ARM/RISC-V) register layout, writes to the legacy data port (ignored since
// QEMU 2.4), migration.

import { type BusDevice, getLE, type MachineServices } from '../device.js';
import { dmaTransfer, type FwCfgDmaHost, type FwCfgSelection } from './fwcfg-dma.js';
import { type FileWriteHandler, FwCfgItems } from './fwcfg-items.js';
import {
  FWCFG_DMA_SIGNATURE,
  FWCFG_DMA_SPAN,
  FWCFG_ID_DMA,
  FWCFG_ID_TRADITIONAL,
  FWCFG_OFF_DATA,
  FWCFG_OFF_DMA_HIGH,
  FWCFG_OFF_DMA_LOW,
  FWCFG_OFF_SELECTOR,
  FWCFG_PORT_SELECTOR,
  FWCFG_SIGNATURE,
  FWCFG_WRITE_CHANNEL,
  FwCfgKey,
} from './fwcfg-keys.js';

export type { FileWriteHandler } from './fwcfg-items.js';

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

const TWO_POW_32 = 0x1_0000_0000;

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
  private readonly items: FwCfgItems;
  private readonly dmaHost: FwCfgDmaHost;
  private sel: FwCfgSelection;
  private dmaHigh = 0;

  constructor(services: MachineServices, options: FwCfgOptions = {}) {
    this.services = services;
    this.dma = options.dma ?? true;
    this.items = new FwCfgItems((item, bytes) => {
      this.stats.lazyBuilds++;
      this.services.emit({ event: 'fwcfg-build', file: item.name, bytes });
    });
    // QEMU's fw_cfg_common_realize adds these two; every firmware probes them first.
    this.items.addItem(FwCfgKey.SIGNATURE, new TextEncoder().encode(FWCFG_SIGNATURE));
    this.items.addU32(FwCfgKey.ID, FWCFG_ID_TRADITIONAL | (this.dma ? FWCFG_ID_DMA : 0));
    this.sel = this.powerOnSelection();
    this.dmaHost = {
      services,
      stats: this.stats,
      select: (selector) => this.select(selector),
      selection: () => this.sel,
      misuse: (what) => this.misuse(what),
    };
  }

  /** Add a legacy item under a well-known key below FILE_FIRST (or an arch key 0x8000|n). Takes ownership of `bytes`. */
  addItem(key: number, bytes: Uint8Array): void {
    this.items.addItem(key, bytes);
  }

  addU16(key: number, value: number): void {
    this.items.addU16(key, value);
  }

  addU32(key: number, value: number): void {
    this.items.addU32(key, value);
  }

  addU64(key: number, value: number | bigint): void {
    this.items.addU64(key, value);
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
    return this.items.addFile(name, content, size);
  }

  /** Accept DMA writes into a file (QEMU's allow_write + write_cb); without a handler writes fail. */
  setFileWriteHandler(name: string, handler: FileWriteHandler): void {
    this.items.setFileWriteHandler(name, handler);
  }

  /** Names in directory order. */
  files(): string[] {
    return this.items.files();
  }

  /** Key a file was given, or undefined. */
  fileKey(name: string): number | undefined {
    return this.items.fileKey(name);
  }

  /** The key currently selected (write-channel bit masked off). */
  get selectedKey(): number {
    return this.sel.key;
  }

  /** Machine reset: select the signature, offset 0, forget the DMA address latch and lazy builds. */
  reset(): void {
    this.items.reset();
    this.sel = this.powerOnSelection();
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
      dmaTransfer(this.dmaHost, address);
    } else if (this.dma && offset === FWCFG_OFF_DMA_HIGH && size === 8) {
      this.dmaHigh = 0;
      dmaTransfer(this.dmaHost, be32(data, 0) * TWO_POW_32 + be32(data, 4));
    } else {
      this.misuse(`${size}-byte write at port 0x${hex(FWCFG_PORT_SELECTOR + offset)} ignored`);
    }
  }

  private powerOnSelection(): FwCfgSelection {
    return { key: FwCfgKey.SIGNATURE, item: this.items.lookup(FwCfgKey.SIGNATURE), offset: 0 };
  }

  private select(selector: number): void {
    const key = selector & 0xffff & ~FWCFG_WRITE_CHANNEL;
    this.stats.selects++;
    this.stats.selectsByKey[key] = (this.stats.selectsByKey[key] ?? 0) + 1;
    const item = this.items.lookup(key);
    this.sel = { key, item, offset: 0 };
    // linuxboot(_dma).bin reads the kernel last and jumps into it: with a quiet kernel nothing on
    // the console marks the kernel's entry, so this selection is the boot's kernel-entry milestone.
    if (key === FwCfgKey.KERNEL_DATA && item) this.services.emit({ event: 'milestone', name: 'kernel-entry', detail: 'option ROM reads the kernel (fw_cfg KERNEL_DATA)' });
  }

  private readDataByte(): number {
    this.stats.ioBytesRead++;
    const data = this.sel.item?.data;
    if (!data || this.sel.offset >= data.length) return 0;
    return data[this.sel.offset++]!;
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
