// ROMD ("ROM device") mapping, as QEMU's memory_region_rom_device_set_romd drives KVM and kvmtool's
// hw/cfi_flash.c does it by hand: while a flash is in read-array mode its image is a read-only
// memory slot (code executes from it, reads never exit); while it is in command mode the slot is
// gone so every access traps to the device. The device decides the mode; this class owns the
// slot through `FlashMemory`, which the machine supplies, so devices never touch the accelerator.
//
// Quirks (quirks.ts) reproduce the seed bug (NVMM + QEMU, DragonFlyBSD #3310):
//   romdUnmapped       the slot is never mapped: the reset-vector fetch from flash fails.
//   romdNeverRemapped  the slot is unmapped on the first command and never mapped again while the
//                      VM lives: every later read of the image is an exit (the exit storm).

/** The flash's memory slot, as the machine exposes it. Both calls must be idempotent. */
export interface FlashMemory {
  /** Map the image read-only (and executable) at the flash's base. */
  map(): void;
  /** Remove the slot so every access to the flash exits to the VMM. */
  unmap(): void;
}

export interface RomdQuirks {
  romdUnmapped?: boolean;
  romdNeverRemapped?: boolean;
}

export class RomdSlot {
  private mapped = false;
  private unmappedOnce = false;
  /** map()/unmap() calls made (each is a memory-slot update in the accelerator). */
  maps = 0;
  unmaps = 0;

  constructor(
    private readonly memory: FlashMemory,
    private readonly quirks: RomdQuirks = {},
  ) {}

  get isMapped(): boolean {
    return this.mapped;
  }

  /** Read-array mode: the image should be mapped. */
  arrayMode(): void {
    if (this.mapped || this.quirks.romdUnmapped) return;
    if (this.quirks.romdNeverRemapped && this.unmappedOnce) return;
    this.memory.map();
    this.mapped = true;
    this.maps++;
  }

  /** Command mode: every access must reach the device. */
  commandMode(): void {
    if (!this.mapped) return;
    this.memory.unmap();
    this.mapped = false;
    this.unmappedOnce = true;
    this.unmaps++;
  }

  /**
   * Power-on (first boot, or a machine reset that rebuilt the VM, whose new memory has no flash
   * slot yet): map as at power-on, whatever was mapped before. Even romdNeverRemapped maps here:
   * its bug is on the command path, not in building a VM.
   */
  powerOn(): void {
    this.mapped = false;
    this.unmappedOnce = false;
    this.arrayMode();
  }
}
