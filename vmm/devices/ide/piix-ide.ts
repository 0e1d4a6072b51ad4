// PIIX3 IDE controller, PCI 00:01.1 (8086:7010, class 0101, programming interface 0x80: both
// channels in legacy mode at the ISA ports and IRQs, bus-master capable), as QEMU 7.2's piix3-ide
// presents it (docs/platform.md lists it among the `pc` machine's bus-0 functions). Follows the
// 82371SB datasheet §2.7 (function 1 configuration) and PciFunction's PCI 3.0 header.
// Config space: command 0 and status 0x0280 (fast back-to-back, DEVSEL medium) at reset as in QEMU;
// no interrupt pin (legacy mode uses IRQ 14/15); BAR 4 (BMIBA) a 16-byte I/O BAR for bmdma.ts;
// BARs 0-3 absent and read 0 (legacy mode has no native bases: SeaBIOS writes the legacy ports into
// them and QEMU 7.2 drops those writes too, see targets/qemu/testdata/query-pci-pc-7.2.json);
// IDETIM 0x40/0x42 (primary/secondary; bit 15 "IDE decode enable", which SeaBIOS sets and Linux's
// ata_piix checks before it probes a channel) and SIDETIM 0x44 are stored and read back, and start
// at 0 as in QEMU.
// The function owns the two channels (ide-channel.ts) and the BAR 4 register block; wiring them
// into the buses is the machine's job: commandBlock/control of each channel at the fixed ports
// below, `bmdma` wherever onBarChange says BAR 4 decodes. `stats()` feeds the VMM's report.
// Left out: native-mode channels (programming interface bits 0/2 are read-only 0), the IDETIM
// timing fields and decode-enable gating (stored only: QEMU decodes the legacy ports regardless),
// UDMA registers (PIIX4 0x48-0x4B: the PIIX3 has none), power management, ATAPI drives.

import { configError } from '../../errors.js';
import { PIIX_SLOT } from '../../layout.js';
import type { BusDevice, MachineServices } from '../device.js';
import { PCI_COMMAND, PciFunction, QEMU_SUBSYSTEM_ID, QEMU_SUBSYSTEM_VENDOR } from '../pci/pci-function.js';
import { AtaDrive } from './ata-drive.js';
import { BmDmaRegisters, BMDMA_SPAN } from './bmdma.js';
import { IdeChannel, type IdeChannelStats } from './ide-channel.js';

export const PIIX3_IDE_VENDOR_ID = 0x8086;
export const PIIX3_IDE_DEVICE_ID = 0x7010;
/** Function 1 of the PIIX3 (function 0 is the ISA bridge, 3 the PM function). */
export const PIIX3_IDE_FUNCTION = 1;
/** Mass storage / IDE, legacy mode for both channels, bus master (bit 7). */
const CLASS_IDE_LEGACY_BUS_MASTER = 0x01_01_80;
const PIIX3_IDE_STATUS_RESET = 0x0280;
/** BAR 4: the bus-master register block. */
export const BMIBA_BAR = 4;

export const IDETIM_PRIMARY = 0x40;
export const IDETIM_SECONDARY = 0x42;
export const SIDETIM = 0x44;
/** IDETIM bit 15: the channel's ports are enabled (SeaBIOS writes 0x8000 to both). */
export const IDETIM_DECODE_ENABLE = 0x8000;

/** Legacy ports and IRQs of the two channels (fixed in legacy mode). */
export const IDE_PRIMARY_COMMAND_BASE = 0x1f0;
export const IDE_PRIMARY_CONTROL_PORT = 0x3f6;
export const IDE_PRIMARY_IRQ = 14;
export const IDE_SECONDARY_COMMAND_BASE = 0x170;
export const IDE_SECONDARY_CONTROL_PORT = 0x376;
export const IDE_SECONDARY_IRQ = 15;
/** Command block 8 ports; the control block is one port (the next, 0x3F7, belongs to the floppy controller). */
export const IDE_COMMAND_SPAN = 8;
export const IDE_CONTROL_SPAN = 1;
export { BMDMA_SPAN };

export interface PiixIdeDrives {
  primaryMaster?: AtaDrive;
  primarySlave?: AtaDrive;
  secondaryMaster?: AtaDrive;
  secondarySlave?: AtaDrive;
}

export interface PiixIdeOptions {
  services: Pick<MachineServices, 'setIrqLine' | 'readGuest' | 'writeGuest' | 'guestMisuse'>;
  drives?: PiixIdeDrives;
}

export interface PiixIdeStats {
  primary: IdeChannelStats;
  secondary: IdeChannelStats;
}

const PCI_COMMAND_MASTER = 0x0004;

export class PiixIde extends PciFunction {
  readonly primary: IdeChannel;
  readonly secondary: IdeChannel;
  /** BAR 4's 16 bytes: map it where onBarChange reports BAR BMIBA_BAR. */
  readonly bmdma: BusDevice;

  constructor(options: PiixIdeOptions) {
    super('piix3-ide', { bus: 0, device: PIIX_SLOT, function: PIIX3_IDE_FUNCTION });
    const d = options.drives ?? {};
    const all = [d.primaryMaster, d.primarySlave, d.secondaryMaster, d.secondarySlave].filter((x) => x !== undefined);
    if (new Set(all).size !== all.length) throw configError('piix3-ide drives', 'one AtaDrive in two positions', 'a separate AtaDrive per position');
    for (const [slave, master, where] of [
      [d.primarySlave, d.primaryMaster, 'primary'],
      [d.secondarySlave, d.secondaryMaster, 'secondary'],
    ] as const) {
      // ATA device 0 answers for an absent device 1, never the other way round.
      if (slave !== undefined && master === undefined) throw configError(`piix3-ide ${where} drives`, 'a slave without a master', 'a master first');
    }
    this.setIds(PIIX3_IDE_VENDOR_ID, PIIX3_IDE_DEVICE_ID);
    this.setClass(CLASS_IDE_LEGACY_BUS_MASTER);
    this.setSubsystem(QEMU_SUBSYSTEM_VENDOR, QEMU_SUBSYSTEM_ID);
    this.setStatus(PIIX3_IDE_STATUS_RESET);
    this.addBar(BMIBA_BAR, { kind: 'io', size: BMDMA_SPAN });
    this.define(IDETIM_PRIMARY, 2, 0, 0xffff);
    this.define(IDETIM_SECONDARY, 2, 0, 0xffff);
    this.define(SIDETIM, 1, 0, 0xff);

    const busMaster = () => (this.config[PCI_COMMAND]! & PCI_COMMAND_MASTER) !== 0;
    const channel = (name: string, irq: number, master?: AtaDrive, slave?: AtaDrive) =>
      new IdeChannel({ name: `piix3-ide.${name}`, irq, drives: [master, slave], services: options.services, busMaster });
    this.primary = channel('primary', IDE_PRIMARY_IRQ, d.primaryMaster, d.primarySlave);
    this.secondary = channel('secondary', IDE_SECONDARY_IRQ, d.secondaryMaster, d.secondarySlave);
    this.bmdma = new BmDmaRegisters('piix3-ide-bmdma', [this.primary.dma, this.secondary.dma]);
  }

  override reset(): void {
    super.reset();
    this.primary.reset();
    this.secondary.reset();
  }

  stats(): PiixIdeStats {
    return { primary: this.primary.stats(), secondary: this.secondary.stats() };
  }
}

/** QEMU's serial for the drive at `position` (0 primary master .. 3 secondary slave): QM00001-QM00004. */
export function defaultSerial(position: number): string {
  return `QM${String(position + 1).padStart(5, '0')}`;
}
