// PCI test device: a conventional function with any set of BARs, for the BAR-assignment suites.
// IDs 1b36:0005 are QEMU's pci-testdev (no Linux driver binds them), so the same guest view can be
// produced on `qemu:*` targets with `-device pci-testdev,membar=`. Class 00ff00 (unclassified).
// BAR sizing and decoding follow PCI 3.0 through PciFunction (command-register decode bits are
// honoured); each decoded BAR is a region on the PIO or MMIO bus that moves with the BAR. Reads
// return the BAR index in every byte, writes are counted: enough to see the mapping is live.
// Left out: INTx/MSI (a later interrupt test device adds them), expansion ROM, capabilities.

import type { MmioBus, PioBus } from '../../bus/bus.js';
import { BootgateError } from '../../errors.js';
import type { BusDevice } from '../device.js';
import { type BarChange, type BarKind, type Bdf, formatBdf, PCI_BASE_ADDRESS_0, PciFunction } from './pci-function.js';

export const PCI_TEST_VENDOR_ID = 0x1b36;
export const PCI_TEST_DEVICE_ID = 0x0005;
const PCI_TEST_CLASS = 0x00ff00;

export interface TestBarSpec {
  kind: BarKind;
  size: number;
  prefetchable: boolean;
}

/** Where firmware put one BAR, read back from config space (whatever the decode bits say). */
export interface BarAssignment {
  bdf: string;
  device: string;
  index: number;
  kind: BarKind;
  prefetchable: boolean;
  size: number;
  /** The programmed base address (0 if never programmed). */
  address: number;
  /** Decoded now: the command register's IO/memory bit is set and the address is valid. */
  decoded: boolean;
  /**
   * Where the BAR was when the guest first turned its decoding on (null: never): the firmware's
   * assignment, since firmware enables decode once its BARs are placed; an OS that moves the BAR
   * later changes `address` but not this.
   */
  firstDecoded: number | null;
}

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * Parse a BAR list like `mem64pref:32G,mem32:512M,io:256`: kinds io, mem32, mem32pref, mem64,
 * mem64pref; sizes in bytes with an optional K/M/G/T suffix. BARs take consecutive slots.
 */
/**
 * A BAR's size is a power of two (PCI 3.0 §6.2.5.1: sizing writes all ones and reads the mask
 * back), at least 4 bytes for I/O and 16 for memory; an I/O BAR decodes at most 256 bytes, and a
 * 32-bit memory BAR at most 2 GiB (the top address bit must stay writable).
 */
const BAR_LIMITS: Record<BarKind, { min: number; max: number }> = {
  io: { min: 4, max: 256 },
  mem32: { min: 16, max: 2 ** 31 },
  mem64: { min: 16, max: 2 ** 52 },
};

function checkBarSize(part: string, bar: TestBarSpec): void {
  const { min, max } = BAR_LIMITS[bar.kind];
  const pow2 = bar.size > 0 && 2 ** Math.round(Math.log2(bar.size)) === bar.size;
  if (!pow2 || bar.size < min || bar.size > max) {
    throw new BootgateError('E_CONFIG', `PCI test-device BAR ${JSON.stringify(part)}: a ${bar.kind} BAR is a power of two from ${min} to ${max} bytes`, {
      hint: 'use sizes like 256 (io), 4K, 64M, 512M (mem32), 32G (mem64)',
    });
  }
}

export function parseTestBars(spec: string): TestBarSpec[] {
  const bars = spec.split(',').map((part) => {
    const m = /^(io|mem32|mem64)(pref)?:(\d+)([KMGT]?)$/.exec(part.trim());
    if (!m) {
      throw new BootgateError('E_CONFIG', `invalid PCI test-device BAR ${JSON.stringify(part)}`, {
        hint: 'write KIND:SIZE with KIND io, mem32, mem32pref, mem64 or mem64pref and SIZE like 4K, 512M, 32G',
      });
    }
    if (m[1] === 'io' && m[2]) throw new BootgateError('E_CONFIG', `an IO BAR cannot be prefetchable: ${part}`, { hint: 'use io:SIZE' });
    const bar = { kind: m[1] as BarKind, prefetchable: m[2] !== undefined, size: Number(m[3]) * UNITS[m[4]!]! };
    checkBarSize(part.trim(), bar);
    return bar;
  });
  const slots = bars.reduce((n, b) => n + (b.kind === 'mem64' ? 2 : 1), 0);
  if (bars.length === 0 || slots > 6) {
    throw new BootgateError('E_CONFIG', `PCI test device ${JSON.stringify(spec)} needs ${slots} BAR slots; a function has 6`, {
      hint: 'use fewer BARs (a 64-bit BAR takes two slots) or add another device',
    });
  }
  return bars;
}

export class PciTestDevice extends PciFunction {
  private readonly regions = new Map<number, BusDevice>();
  private readonly firstDecoded = new Map<number, number>();
  accesses = 0;

  constructor(
    bdf: Bdf,
    bars: readonly TestBarSpec[],
    private readonly buses: { pio: PioBus; mmio: MmioBus },
    /** Guest misuse (e.g. BARs programmed to overlap another device): logged and counted. */
    private readonly onMisuse: (what: string) => void = () => {},
  ) {
    super(`pci-test@${formatBdf(bdf)}`, bdf);
    this.setIds(PCI_TEST_VENDOR_ID, PCI_TEST_DEVICE_ID);
    this.setClass(PCI_TEST_CLASS);
    let slot = 0;
    for (const b of bars) {
      this.addBar(slot, { kind: b.kind, size: b.size, prefetchable: b.prefetchable });
      const index = slot;
      this.regions.set(index, {
        name: `${this.name}-bar${index}`,
        read: (_off, data) => {
          this.accesses++;
          data.fill(index);
        },
        write: () => {
          this.accesses++;
        },
      });
      slot += b.kind === 'mem64' ? 2 : 1;
    }
  }

  protected override barChanged(change: BarChange): void {
    const region = this.regions.get(change.index)!;
    if (change.newBase !== null && !this.firstDecoded.has(change.index)) this.firstDecoded.set(change.index, change.newBase);
    const bus = change.kind === 'io' ? this.buses.pio : this.buses.mmio;
    try {
      bus.move(region, change.newBase, change.size);
    } catch (e) {
      // The guest placed this BAR over another region: leave it unmapped, as a conflict on real hardware is undefined.
      bus.remove(region);
      this.onMisuse(`BAR ${change.index} at 0x${change.newBase?.toString(16)}: ${(e as Error).message}`);
    }
    super.barChanged(change);
  }

  /** Every BAR with its programmed address, for the assignment checker. */
  assignments(): BarAssignment[] {
    const out: BarAssignment[] = [];
    for (const index of this.regions.keys()) {
      const bar = this.bar(index)!;
      const lo = this.dword(PCI_BASE_ADDRESS_0 + 4 * index);
      let address = bar.kind === 'io' ? lo & ~0x3 : (lo & ~0xf) >>> 0;
      if (bar.kind === 'mem64') address += this.dword(PCI_BASE_ADDRESS_0 + 4 * (index + 1)) * 0x1_0000_0000;
      out.push({
        bdf: formatBdf(this.bdf),
        device: this.name,
        index,
        kind: bar.kind,
        prefetchable: bar.prefetchable,
        size: bar.size,
        address,
        decoded: bar.base !== null,
        firstDecoded: this.firstDecoded.get(index) ?? null,
      });
    }
    return out;
  }
}
