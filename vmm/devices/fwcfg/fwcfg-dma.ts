// fw_cfg's DMA interface: run one descriptor `{be32 control, be32 length, be64 address}` at a
// guest-physical address and write its control word back, as QEMU 7.2 hw/nvram/fw_cfg.c
// fw_cfg_dma_transfer (with fw_cfg_dma_mem_read/write) does and as SeaBIOS rel-1.16.2
// src/fw/paravirt.c, OVMF QemuFwCfgLib and linuxboot_dma.bin drive it. FwCfg (fwcfg.ts) latches
// the descriptor address from the port writes and owns the selection both interfaces share.
// QEMU's choices kept here: a read, then a write, then a skip (precedence in that order; none of
// them means "select only"); a read of an absent key or past the end zero-fills and completes with
// control 0; a write fails on an absent or read-only item; the control word is 0 on success and
// FWCFG_DMA_CTL_ERROR on failure, and firmware polls it. Guest mistakes are counted and reported
// as misuse, never thrown.

import type { MachineServices } from '../device.js';
import {
  FWCFG_DMA_CTL_ERROR,
  FWCFG_DMA_CTL_READ,
  FWCFG_DMA_CTL_SELECT,
  FWCFG_DMA_CTL_SKIP,
  FWCFG_DMA_CTL_WRITE,
  FWCFG_DMA_DESCRIPTOR_SIZE,
} from './fwcfg-keys.js';
import type { FwCfgItem } from './fwcfg-items.js';

/** The item selected and the offset the next data access starts at: port reads and DMA share it. */
export interface FwCfgSelection {
  /** The key as selected, write-channel bit masked off. */
  key: number;
  item: FwCfgItem | undefined;
  offset: number;
}

/** What a transfer needs from the device. */
export interface FwCfgDmaHost {
  readonly services: Pick<MachineServices, 'readGuest' | 'writeGuest'>;
  readonly stats: { dmaTransfers: number; dmaBytes: number; dmaErrors: number };
  /** Select a key (control bit 3, key in bits 31:16); the selection then starts at offset 0. */
  select(selector: number): void;
  selection(): FwCfgSelection;
  misuse(what: string): void;
}

const ZERO_CHUNK = new Uint8Array(64 * 1024);
const TWO_POW_32 = 0x1_0000_0000;

/** Run the descriptor at guest-physical `descriptor`, then write its control word back. */
export function dmaTransfer(host: FwCfgDmaHost, descriptor: number): void {
  host.stats.dmaTransfers++;
  if (!Number.isSafeInteger(descriptor)) {
    // Beyond 2^53: no guest memory there, and nowhere we could report the error to.
    host.stats.dmaErrors++;
    host.misuse(`DMA descriptor address 0x${descriptor.toString(16)} beyond guest-physical range`);
    return;
  }
  let desc: Uint8Array;
  try {
    desc = host.services.readGuest(descriptor, FWCFG_DMA_DESCRIPTOR_SIZE);
  } catch {
    complete(host, descriptor, `DMA descriptor at 0x${descriptor.toString(16)} unreadable`);
    return;
  }
  const view = new DataView(desc.buffer, desc.byteOffset, FWCFG_DMA_DESCRIPTOR_SIZE);
  const control = view.getUint32(0);
  const length = view.getUint32(4);
  const address = view.getUint32(8) * TWO_POW_32 + view.getUint32(12);

  if (control & FWCFG_DMA_CTL_SELECT) host.select(control >>> 16);
  const sel = host.selection();
  let error: string | undefined;
  if (length > 0 && control & (FWCFG_DMA_CTL_READ | FWCFG_DMA_CTL_WRITE) && !Number.isSafeInteger(address)) {
    error = `DMA buffer address 0x${address.toString(16)} beyond guest-physical range`;
  } else if (length > 0 && control & FWCFG_DMA_CTL_READ) {
    error = dmaRead(host, sel, address, length);
  } else if (length > 0 && control & FWCFG_DMA_CTL_WRITE) {
    error = dmaWrite(host, sel, address, length);
  } else if (control & FWCFG_DMA_CTL_SKIP) {
    sel.offset += Math.min(length, remaining(sel));
  }
  complete(host, descriptor, error);
}

function remaining(sel: FwCfgSelection): number {
  const data = sel.item?.data;
  return data ? Math.max(0, data.length - sel.offset) : 0;
}

function dmaRead(host: FwCfgDmaHost, sel: FwCfgSelection, address: number, length: number): string | undefined {
  const n = Math.min(length, remaining(sel));
  try {
    if (n > 0) host.services.writeGuest(address, sel.item!.data!.subarray(sel.offset, sel.offset + n));
    sel.offset += n;
    for (let done = n; done < length; ) {
      const chunk = Math.min(length - done, ZERO_CHUNK.length);
      host.services.writeGuest(address + done, ZERO_CHUNK.subarray(0, chunk));
      done += chunk;
    }
  } catch {
    return `DMA read of ${length} bytes into unmapped guest memory at 0x${address.toString(16)}`;
  }
  host.stats.dmaBytes += length;
  return undefined;
}

function dmaWrite(host: FwCfgDmaHost, sel: FwCfgSelection, address: number, length: number): string | undefined {
  const item = sel.item;
  if (!item?.writeHandler) return `DMA write to read-only fw_cfg key 0x${sel.key.toString(16)}`;
  if (length > remaining(sel)) return `DMA write of ${length} bytes past the end of ${item.name}`;
  let bytes: Uint8Array;
  try {
    bytes = host.services.readGuest(address, length);
  } catch {
    return `DMA write from unmapped guest memory at 0x${address.toString(16)}`;
  }
  const at = sel.offset;
  item.data!.set(bytes, at);
  sel.offset += length;
  host.stats.dmaBytes += length;
  item.writeHandler(bytes, at);
  return undefined;
}

/** Write the control word back (be32 0, or FWCFG_DMA_CTL_ERROR): firmware polls it. */
function complete(host: FwCfgDmaHost, descriptor: number, error: string | undefined): void {
  if (error !== undefined) {
    host.stats.dmaErrors++;
    host.misuse(error);
  }
  const word = new Uint8Array(4);
  new DataView(word.buffer).setUint32(0, error === undefined ? 0 : FWCFG_DMA_CTL_ERROR);
  try {
    host.services.writeGuest(descriptor, word);
  } catch {
    host.misuse(`DMA descriptor at 0x${descriptor.toString(16)} not writable`);
  }
}
