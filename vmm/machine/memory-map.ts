// Guest-physical memory map of the `pc` machine and the slots behind it: low RAM (minus the VGA
// window and the PAM area), RAM above 4 GiB, the firmware's high copy (read-only, ending at 4 GiB),
// and 13 PAM granules over 0xC0000-0xFFFFF whose mapping follows the i440fx PAM registers:
//   mode 0: the firmware alias (E/F segments) read-only, or nothing (C/D segments: reads trap, all ones)
//   mode 1: shadow RAM mapped read-only (writes trap and are dropped)
//   mode 2: unmapped; reads trap and come from the ROM alias, writes trap and go to shadow RAM
//   mode 3: shadow RAM read-write
// The map remembers every region so a rebuilt VM (machine reset) gets the same mapping back.
// Trapped accesses are served by the MMIO devices `pamArea()` and `highFirmware()`. Addresses and
// slot numbers come from layout.ts.

import type { MemoryRegion, Vm } from '../accel/types.js';
import type { BusDevice, MachineServices } from '../devices/device.js';
import {
  BIOS_LOW_SIZE,
  BIOS_SEGMENT_BASE,
  BIOS_SEGMENT_SIZE,
  FOUR_GIB,
  highFirmwareBase,
  PAM_AREA_BASE,
  PAM_AREA_END,
  PAM_GRANULE_SIZE,
  SLOT_FIRMWARE_HIGH,
  SLOT_PAM_FIRST,
  SLOT_RAM_HIGH,
  SLOT_RAM_LOW,
  SLOT_RAM_MID,
  VGA_WINDOW_BASE,
} from '../layout.js';
import type { FlashMemory } from '../devices/flash/romd.js';
import type { HostMemory } from '../memory/host-memory.js';

export type PamMode = 0 | 1 | 2 | 3;
export interface PamSegment {
  base: number;
  size: number;
  mode: PamMode;
}

const RW = { read: true, write: true, exec: true } as const;
const RO = { read: true, write: false, exec: true } as const;

/** The 13 PAM granules at power-on (all mode 0). */
export function initialPamSegments(): PamSegment[] {
  const segs: PamSegment[] = [];
  for (let base = PAM_AREA_BASE; base < BIOS_SEGMENT_BASE; base += PAM_GRANULE_SIZE) segs.push({ base, size: PAM_GRANULE_SIZE, mode: 0 });
  segs.push({ base: BIOS_SEGMENT_BASE, size: BIOS_SEGMENT_SIZE, mode: 0 });
  return segs;
}

export class MemoryMap {
  private readonly regions = new Map<number, MemoryRegion>();
  private pam: PamSegment[] = initialPamSegments();
  /** Bytes of the firmware image aliased below 1 MiB (the last 128 KiB, or all of a smaller image). */
  readonly aliasSize: number;
  readonly aliasBase: number;
  /** Guest writes to the read-only high copy (trapped and dropped). */
  highCopyWrites = 0;
  shadowWritesDropped = 0;

  constructor(
    private vm: Vm,
    readonly ram: HostMemory,
    readonly ramBelow4G: number,
    readonly ramAbove4G: number,
    readonly firmware: HostMemory,
    readonly mapHighCopy: boolean,
  ) {
    this.aliasSize = Math.min(firmware.size, BIOS_LOW_SIZE);
    this.aliasBase = PAM_AREA_END - this.aliasSize;
  }

  /** Map everything (first boot, or after the VM was rebuilt by a machine reset). */
  mapAll(vm: Vm = this.vm): void {
    this.vm = vm;
    this.regions.clear();
    this.set({ slot: SLOT_RAM_LOW, gpa: 0, size: VGA_WINDOW_BASE, hostAddress: this.ram.address, flags: RW, name: 'ram-low' });
    if (this.ramBelow4G > PAM_AREA_END) {
      this.set({
        slot: SLOT_RAM_MID,
        gpa: PAM_AREA_END,
        size: this.ramBelow4G - PAM_AREA_END,
        hostAddress: this.ram.address + BigInt(PAM_AREA_END),
        flags: RW,
        name: 'ram',
      });
    }
    if (this.ramAbove4G > 0) {
      this.set({
        slot: SLOT_RAM_HIGH,
        gpa: FOUR_GIB,
        size: this.ramAbove4G,
        hostAddress: this.ram.address + BigInt(this.ramBelow4G),
        flags: RW,
        name: 'ram-high',
      });
    }
    if (this.mapHighCopy) {
      this.set({
        slot: SLOT_FIRMWARE_HIGH,
        gpa: highFirmwareBase(this.firmware.size),
        size: this.firmware.size,
        hostAddress: this.firmware.address,
        flags: RO,
        name: 'firmware-high',
      });
    }
    this.pam.forEach((seg, i) => this.mapPamSegment(seg, i));
  }

  /** Apply a new PAM state (from the i440fx); remaps only granules whose mode changed. */
  setPam(segments: readonly PamSegment[]): void {
    segments.forEach((seg, i) => {
      const old = this.pam[i];
      if (old === undefined || old.mode !== seg.mode) this.mapPamSegment(seg, i);
    });
    this.pam = segments.map((s) => ({ ...s }));
  }

  pamState(): readonly PamSegment[] {
    return this.pam;
  }

  private mapPamSegment(seg: PamSegment, index: number): void {
    const slot = SLOT_PAM_FIRST + index;
    const name = `pam-${seg.base.toString(16)}`;
    const shadow = this.ram.address + BigInt(seg.base);
    switch (seg.mode) {
      case 3:
        this.set({ slot, gpa: seg.base, size: seg.size, hostAddress: shadow, flags: RW, name });
        return;
      case 1:
        this.set({ slot, gpa: seg.base, size: seg.size, hostAddress: shadow, flags: RO, name });
        return;
      case 0:
        if (seg.base >= this.aliasBase) {
          const host = this.firmware.address + BigInt(this.firmware.size - this.aliasSize + (seg.base - this.aliasBase));
          this.set({ slot, gpa: seg.base, size: seg.size, hostAddress: host, flags: RO, name: `${name}-rom` });
          return;
        }
        this.clear(slot);
        return;
      default:
        this.clear(slot);
    }
  }

  private set(region: MemoryRegion): void {
    this.vm.mapMemory(region);
    this.regions.set(region.slot, region);
  }

  private clear(slot: number): void {
    this.vm.unmapMemory(slot);
    this.regions.delete(slot);
  }

  /** A flash device's ROMD slot: mapped read-only in read-array mode, unmapped while it takes commands. */
  flashSlot(slot: number, gpa: number, mem: HostMemory, name: string): FlashMemory {
    const region: MemoryRegion = { slot, gpa, size: mem.size, hostAddress: mem.address, flags: RO, name };
    return { map: () => this.set(region), unmap: () => this.clear(slot) };
  }

  /** The mapped region containing `gpa`, if any (for diagnostics: "nothing is mapped at ..."). */
  regionAt(gpa: number): MemoryRegion | undefined {
    for (const r of this.regions.values()) if (gpa >= r.gpa && gpa < r.gpa + r.size) return r;
    return undefined;
  }

  list(): MemoryRegion[] {
    return [...this.regions.values()].sort((a, b) => a.gpa - b.gpa);
  }

  private pamModeAt(gpa: number): PamMode {
    for (const s of this.pam) if (gpa >= s.base && gpa < s.base + s.size) return s.mode;
    return 0;
  }

  private romAliasByte(gpa: number): number {
    if (gpa < this.aliasBase) return 0xff;
    return this.firmware.bytes[this.firmware.size - this.aliasSize + (gpa - this.aliasBase)]!;
  }

  /** MMIO device for trapped accesses inside 0xC0000-0xFFFFF (modes 0 and 2 reads, mode 0-2 writes). */
  pamArea(services: MachineServices): BusDevice {
    return {
      name: 'pam-area',
      read: (offset, data) => {
        const gpa = PAM_AREA_BASE + offset;
        for (let i = 0; i < data.length; i++) data[i] = this.romAliasByte(gpa + i);
      },
      write: (offset, data) => {
        const gpa = PAM_AREA_BASE + offset;
        if (this.pamModeAt(gpa) === 2) {
          this.ram.bytes.set(data, gpa);
          return;
        }
        this.shadowWritesDropped++;
        if (this.shadowWritesDropped <= 4) services.guestMisuse('pam-area', `write to read-only shadow/ROM at 0x${gpa.toString(16)}`);
      },
    };
  }

  /** MMIO device behind the read-only high copy: reads never trap; writes trap and are dropped. */
  highFirmware(services: MachineServices): BusDevice {
    const base = highFirmwareBase(this.firmware.size);
    return {
      name: 'firmware-high',
      read: (offset, data) => data.set(this.firmware.bytes.subarray(offset, offset + data.length)),
      write: (offset) => {
        this.highCopyWrites++;
        services.emit({ event: 'rom-write', gpa: base + offset, count: this.highCopyWrites });
      },
    };
  }
}
