// PCI configuration mechanism #1 (PCI Local Bus Specification 3.0 §3.2.2.3.2; i440FX datasheet
// CONFADD/CONFDATA), as QEMU 7.2 hw/pci/pci_host.c and SeaBIOS src/hw/pci.c use it:
// CONFIG_ADDRESS at 0xCF8 is a 32-bit latch that reads back exactly what was written
// (SeaBIOS pci_probe_host writes 0x80000000 and expects it back); CONFIG_DATA at 0xCFC-0xCFF
// reaches config offset (latch & 0xFC) + (port - 0xCFC) with byte, word or dword accesses.
// Two BusDevices: `addressPort` (register it at 0xCF8; the bus dispatches by start port, so it
// sees a dword access at offset 0 even when registered with span 1, leaving 0xCF9 to the reset
// control register) and `dataPort` (0xCFC, span 4).
// Subset: bus 0 only; absent functions and other buses read all ones, writes to them are dropped.
// Byte/word accesses at 0xCF8 are not the latch (real chipsets pass them on as plain IO cycles):
// writes are ignored and reads return all ones.
// Posted writes: a dword write to CONFIG_ADDRESS only sets the latch, so vCPU threads may queue it
// for the owner (device.ts SyncKind.ConfigAddress, a PostedWrite the threads also keep as their
// latch). CONFIG_DATA reads have no side effects, so native vCPU threads answer them from an image
// of every function's configuration space (SyncKind.ConfigData): `onConfigChange` tells the owner
// which function to copy again after each CONFIG_DATA write, and every function after a reset
// (`configImage`). A JavaScript vCPU thread sends them to the owner, which applies queued writes
// first. CONFIG_DATA writes are never posted: they move BARs and PAM, which the guest's next memory
// access must see.
// Left out: type-1 cycles to other buses, PCIe ECAM (q35), special cycles.

import { BootgateError, configError } from '../../errors.js';
import { type BusDevice, getLE, setLE, SyncKind } from '../device.js';
import { formatBdf, type PciFunction } from './pci-function.js';

/** CONFIG_ADDRESS bit 31: the data port reaches config space only while it is set. */
export const CONFIG_ENABLE = 0x8000_0000;

/** The latch for `bdf` and register `offset`, as firmware builds it (SeaBIOS ioconfig_cmd). */
export function configAddress(bus: number, device: number, fn: number, offset: number): number {
  return (CONFIG_ENABLE | (bus << 16) | (device << 11) | (fn << 8) | (offset & 0xfc)) >>> 0;
}

export class PciHost {
  /** CONFIG_ADDRESS latch; register at 0xCF8. */
  readonly addressPort: BusDevice;
  /** CONFIG_DATA window; register at 0xCFC, span 4. */
  readonly dataPort: BusDevice;

  private latch = 0;
  /** Bus 0 functions indexed by devfn (device << 3 | function). */
  private readonly slots: (PciFunction | undefined)[] = new Array(256).fill(undefined);

  constructor() {
    this.addressPort = {
      name: 'pci-conf-idx',
      syncRegisters: [{ offset: 0, span: 4, kind: SyncKind.ConfigAddress }],
      read: (offset, data) => {
        if (offset === 0 && data.length === 4) setLE(data, this.latch);
        else data.fill(0xff);
      },
      write: (offset, data) => {
        if (offset === 0 && data.length === 4) this.latch = getLE(data);
      },
    };
    this.dataPort = {
      name: 'pci-conf-data',
      syncRegisters: [{ offset: 0, span: 4, kind: SyncKind.ConfigData }],
      read: (offset, data) => {
        const fn = this.target();
        if (fn === undefined) data.fill(0xff);
        else setLE(data, fn.readConfig((this.latch & 0xfc) + offset, data.length));
      },
      write: (offset, data) => {
        const fn = this.target();
        if (fn === undefined) return;
        fn.writeConfig((this.latch & 0xfc) + offset, data.length, getLE(data));
        this.onConfigChange?.((this.latch >>> 8) & 0xff);
      },
    };
  }

  /**
   * Told after a CONFIG_DATA write changed function `devfn`'s configuration space, and after a reset
   * (undefined: every function, and the latch): whoever answers reads from an image copies again.
   */
  onConfigChange: ((devfn: number | undefined) => void) | undefined;

  /** Function `devfn`'s configuration space (undefined: none there), or every bus-0 devfn's. */
  configImage(devfn?: number): Array<{ devfn: number; config: Uint8Array | undefined }> {
    const one = (d: number) => ({ devfn: d, config: this.slots[d]?.configBytes() });
    return devfn === undefined ? this.slots.map((_, d) => one(d)) : [one(devfn)];
  }

  /** Attach a function; its BDF must be on bus 0 and free. */
  addFunction(fn: PciFunction): void {
    const { bus, device, function: func } = fn.bdf;
    if (bus !== 0) throw configError(`PCI function ${fn.name} bus`, bus, '0 (only the root bus exists)');
    const devfn = (device << 3) | func;
    const taken = this.slots[devfn];
    if (taken !== undefined) {
      throw new BootgateError('E_CONFIG', `PCI ${formatBdf(fn.bdf)} is taken by ${taken.name}; cannot add ${fn.name}`, {
        hint: 'give each PCI function its own device/function number',
      });
    }
    this.slots[devfn] = fn;
  }

  /** Attached functions in BDF order. */
  functions(): PciFunction[] {
    return this.slots.filter((f): f is PciFunction => f !== undefined);
  }

  /** Current CONFIG_ADDRESS value (for diagnostics). */
  get configAddress(): number {
    return this.latch;
  }

  /** Clear the latch and reset every attached function (each reports its power-on state). */
  reset(): void {
    this.latch = 0;
    for (const fn of this.slots) fn?.reset();
    this.onConfigChange?.(undefined);
  }

  private target(): PciFunction | undefined {
    const latch = this.latch;
    if ((latch & CONFIG_ENABLE) === 0 || ((latch >>> 16) & 0xff) !== 0) return undefined;
    return this.slots[(latch >>> 8) & 0xff];
  }
}
