// The device interface (after Firecracker's BusDevice / rust-vmm vm-device): a name, and
// reads/writes relative to the device's base on the bus it is registered on. Sizes are 1, 2 or 4
// (PIO) and 1, 2, 4 or 8 (MMIO). Data is little-endian in `data` (a view into the exit buffer).
// Devices never map memory themselves; they ask through the narrow MachineServices they are given.

/**
 * Registers any vCPU thread may serve with its own instance of the device, without the device
 * owner (after crosvm's BusDeviceSync): they hold no state another thread could see change. The
 * kinds are few and fixed because each thread must be able to build its instance from the kind
 * alone (vmm/devices/sync-devices.ts).
 */
export enum SyncKind {
  /** ACPI PM_TMR: a function of time only. */
  PmTimer = 1,
  /** Port 0x80 POST codes: written, never read back meaningfully (reads are all ones). */
  PostCode = 2,
  /** The 0x402 debug console: reads a constant, byte writes are log output (each thread logs its own). */
  Debugcon = 3,
  /**
   * Not served by the thread: a write of exactly `span` bytes at the register's port may be posted
   * (queued for the owner, who applies it before any later access, vmm/vcpu/posted-writes.ts) so
   * the vCPU need not wait. Only for writes that change no memory mapping, ask for no reset and
   * affect no register another thread serves; reads of the port still go to the owner.
   */
  PostedWrite = 4,
  /**
   * Not served from a thread's own instance: a byte read of the port may be answered from the value
   * the owner published (BusDevice.shadowRead) while that says a read has no side effect. The owner
   * publishes before it answers any request and before any interrupt line rises, so a thread never
   * sees a value older than the last access it made or an interrupt it took.
   */
  ShadowRead = 5,
  /**
   * PCI configuration mechanism #1's CONFIG_ADDRESS: a PostedWrite whose value the threads also
   * keep as their latch, to answer ConfigData reads with.
   */
  ConfigAddress = 6,
  /**
   * CONFIG_DATA: a read may be answered from the configuration-space image the owner publishes
   * (PciHost.onConfigChange: after each configuration write it serves, and at a reset), for the
   * function the latch selects; configuration reads have no side effects. Writes go to the owner.
   * Native vCPU threads only.
   */
  ConfigData = 7,
}

export interface SyncRegister {
  /** Offset from the device's base on its bus. */
  offset: number;
  span: number;
  kind: SyncKind;
}

export interface BusDevice {
  readonly name: string;
  /** Registers of this device that any vCPU thread may serve itself, or post writes to (PIO only). */
  readonly syncRegisters?: readonly SyncRegister[];
  /**
   * For ShadowRead registers: the byte a read at `offset` returns now, when reading it now changes
   * nothing (undefined when it would, e.g. a status read that acknowledges a pending interrupt).
   */
  shadowRead?(offset: number): number | undefined;
  /** Fill `data` (its length is the access size) for a read at `offset` from the device's base. */
  read(offset: number, data: Uint8Array): void;
  /** Consume `data` written at `offset` from the device's base. */
  write(offset: number, data: Uint8Array): void;
  /**
   * String PIO (`rep insw`: one exit moves up to a page): `data.length / size` reads of `size`
   * bytes at `offset`, packed in `data`, with the same effect as that many read() calls. For a data
   * port that can copy whole runs at once; without it the bus calls read() per element.
   */
  readRepeated?(offset: number, size: number, data: Uint8Array): void;
  /** String PIO out (`rep outsw`): as readRepeated, for writes. */
  writeRepeated?(offset: number, size: number, data: Uint8Array): void;
}

/** Read a little-endian value of data.length (1, 2 or 4) bytes. */
export function getLE(data: Uint8Array): number {
  switch (data.length) {
    case 1:
      return data[0]!;
    case 2:
      return data[0]! | (data[1]! << 8);
    case 4:
      return (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0;
    default: {
      let v = 0;
      for (let i = Math.min(data.length, 6) - 1; i >= 0; i--) v = v * 256 + data[i]!;
      return v;
    }
  }
}

/** Store `value` little-endian into all of `data` (bytes past 32 bits are zero unless value is larger). */
export function setLE(data: Uint8Array, value: number): void {
  let v = value;
  for (let i = 0; i < data.length; i++) {
    data[i] = i < 4 ? (v >>> (8 * i)) & 0xff : 0;
  }
  if (data.length > 4 && value > 0xffff_ffff) {
    v = Math.floor(value / 0x1_0000_0000);
    for (let i = 4; i < data.length; i++) data[i] = (v >>> (8 * (i - 4))) & 0xff;
  }
}

/** Services the machine offers devices: interrupts, resets, memory access, events. Narrow on purpose. */
export interface MachineServices {
  /** Drive an ISA/GSI interrupt line (in-kernel irqchip). */
  setIrqLine(gsi: number, level: boolean): void;
  /** Ask for a machine reset (0xCF9, i8042 0xFE, port 0x92); `source` names who asked. */
  requestReset(source: string): void;
  /** Ask for power-off (ACPI S5, isa-debug-exit); `code` is the exit status reported. */
  requestPowerOff(source: string, code?: number): void;
  /** Guest-physical memory access for DMA-style devices (fw_cfg DMA). Throws on unmapped gpa. */
  readGuest(gpa: number, length: number): Uint8Array;
  writeGuest(gpa: number, bytes: Uint8Array): void;
  /** Emit a structured event into the VM's JSON-lines stream. */
  emit(event: Record<string, unknown>): void;
  /** Count a guest misuse (logged, counted, recovered from). */
  guestMisuse(device: string, what: string): void;
}
