// Assembles the `pc` machine (i440fx/PIIX, as QEMU 7.2's `pc` where firmware looks; docs/platform.md):
// memory map with PAM-controlled legacy area and the firmware's high copy, the legacy ISA devices,
// PCI config mechanism #1 with the host bridge, PIIX3 (ISA bridge and IDE, with --disk as the
// primary master) and PIIX4 PM, fw_cfg for SeaBIOS.
// PIC, PIT, IOAPIC and LAPIC are KVM's in-kernel models. Left out: VGA, HPET, SMM, floppy.

import { readFileSync } from 'node:fs';
import type { Vm } from '../accel/types.js';
import { installPcAcpi } from '../acpi/pc-acpi.js';
import { installLinuxBoot, LINUXBOOT_BOOTORDER } from '../boot/linux-boot.js';
import type { VmConfig } from '../config.js';
import { Cfi01Flash } from '../devices/flash/cfi01.js';
import { FwCfg } from '../devices/fwcfg/fwcfg.js';
import { FWCFG_IO_SPAN, FWCFG_PORT_SELECTOR } from '../devices/fwcfg/fwcfg-keys.js';
import { encodePciMmio64Mb, OVMF_PCI_MMIO64_FILE, populatePcFwCfg } from '../devices/fwcfg/pc-items.js';
import {
  CMOS_BASE,
  CMOS_SPAN,
  COM1_BASE,
  CmosRtc,
  DEBUGCON_PORT,
  DEBUGCON_SPAN,
  Debugcon,
  I8042,
  I8042_BASE,
  I8042_SPAN,
  ISA_DEBUG_EXIT_BASE,
  IsaDebugExit,
  PORT92_BASE,
  PORT92_SPAN,
  POST_CODE_PORT,
  POST_CODE_SPAN,
  Port92,
  PostCode,
  RESET_CONTROL_PORT,
  RESET_CONTROL_SPAN,
  ResetControl,
  UART_SPAN,
  Uart16550,
} from '../devices/legacy/index.js';
import { AtaDrive } from '../devices/ide/ata-drive.js';
import { CowFileBackend } from '../devices/ide/cow-file-backend.js';
import {
  BMDMA_SPAN,
  defaultSerial,
  IDE_COMMAND_SPAN,
  IDE_CONTROL_SPAN,
  IDE_PRIMARY_COMMAND_BASE,
  IDE_PRIMARY_CONTROL_PORT,
  IDE_PRIMARY_IRQ,
  IDE_SECONDARY_COMMAND_BASE,
  IDE_SECONDARY_CONTROL_PORT,
  PiixIde,
} from '../devices/ide/piix-ide.js';
import { I440fx, PAM_RESET_BIOS_AS_RAM } from '../devices/pci/i440fx.js';
import { PciHost } from '../devices/pci/pci-host.js';
import { parseTestBars, PciTestDevice } from '../devices/pci/pci-test-device.js';
import { IrqTestDevice } from '../devices/pci/irq-test-device.js';
import { Piix3, pirqForSlot } from '../devices/pci/piix3.js';
import { PIIX_GPE0_BASE, PIIX_GPE0_SPAN, PM_IO_SPAN, Piix4Pm, PmIo, PmTimer } from '../devices/pci/piix4-pm.js';
import {
  FIRST_TEST_DEVICE_SLOT,
  FOUR_GIB,
  highFirmwareBase,
  IRQ_TEST_SLOT,
  ovmfFlashLayout,
  PAM_AREA_BASE,
  PAM_AREA_END,
  pcPci32Window,
  pcPci64Window,
  SLOT_FLASH_CODE,
  SLOT_FLASH_VARS,
} from '../layout.js';
import { LowBiosLoader, MissingHighCopy } from './low-bios-loader.js';
import type { HostMemory } from '../memory/host-memory.js';
import { ConsoleBuffer } from './console-buffer.js';
import { IrqPath } from './irq-path.js';
import { Machine } from './machine.js';
import { MemoryMap } from './memory-map.js';

/** PCI config mechanism #1: the address latch owns only 0xCF8 (0xCF9 is the reset control register). */
const PCI_CONFIG_ADDRESS_PORT = 0xcf8;
const PCI_CONFIG_DATA_PORT = 0xcfc;
const PCI_CONFIG_DATA_SPAN = 4;
const PCI_INTA = 1;

export interface PcBuild {
  machine: Machine;
  /** OVMF's pflash pair, when the firmware comes with a variable store. */
  flash?: { code: Cfi01Flash; vars: Cfi01Flash };
  irqPath: IrqPath;
  irqTest: IrqTestDevice | undefined;
  /** The PIIX3 IDE function (always present, as on QEMU's pc); its disk when --disk was given. */
  ide: PiixIde;
  disk: CowFileBackend | undefined;
  testDevices: PciTestDevice[];
  memoryMap: MemoryMap;
  fwcfg: FwCfg;
  postCode: PostCode;
  pm: PmIo;
  /** The PCI host (configuration mechanism #1): native vCPU threads read configuration space from its image. */
  pci: PciHost;
  com1: ConsoleBuffer;
  /** COM1's UART itself (its interrupt state goes into a timeout diagnostic). */
  uart: Uart16550;
  debugcon: ConsoleBuffer;
}

export interface PcOptions {
  vm: Vm;
  config: VmConfig;
  firmware: HostMemory;
  ram: HostMemory;
  /** OVMF: the per-VM copy of the variable store; `firmware` is then the CODE volume. */
  vars?: HostMemory;
  ramBelow4G: number;
  ramAbove4G: number;
  emit: (event: Record<string, unknown>) => void;
  /** Epoch (ms, timeOrigin-based) of the PM timer, shared with the vCPU threads' own PM timers. */
  pmTimerEpochMs?: number;
}

export function buildPc(o: PcOptions): PcBuild {
  const { config } = o;
  const machine = new Machine(o.vm, o.ram, o.ramBelow4G, o.ramAbove4G, o.emit);
  // With pflash (OVMF) the flash devices map CODE and VARS themselves; the legacy alias below 1 MiB
  // still shows the last 128 KiB of CODE, as QEMU's isa-bios does.
  const mapHighCopy = !o.vars && !config.quirks.includes('no-high-bios-copy') && !config.quirks.includes('vmd-low-bios-only');
  const memoryMap = new MemoryMap(o.vm, o.ram, o.ramBelow4G, o.ramAbove4G, o.firmware, mapHighCopy);
  memoryMap.mapAll();
  let flash: PcBuild['flash'];
  if (o.vars) {
    const l = ovmfFlashLayout(o.firmware.size, o.vars.size);
    const romd = { romdUnmapped: config.quirks.includes('romd-unmapped'), romdNeverRemapped: config.quirks.includes('romd-never-remapped') };
    const code = machine.onReset(
      new Cfi01Flash({ name: 'pflash-code', storage: o.firmware.bytes, readOnly: true, memory: memoryMap.flashSlot(SLOT_FLASH_CODE, l.codeBase, o.firmware, 'pflash-code'), services: machine, ...romd }),
    );
    const vars = machine.onReset(
      new Cfi01Flash({ name: 'pflash-vars', storage: o.vars.bytes, readOnly: false, memory: memoryMap.flashSlot(SLOT_FLASH_VARS, l.varsBase, o.vars, 'pflash-vars'), services: machine, ...romd }),
    );
    machine.mmio.insert(l.codeBase, l.codeSize, code);
    machine.mmio.insert(l.varsBase, l.varsSize, vars);
    flash = { code, vars };
  }
  machine.mmio.insert(PAM_AREA_BASE, PAM_AREA_END - PAM_AREA_BASE, memoryMap.pamArea(machine));
  if (mapHighCopy) {
    const base = highFirmwareBase(o.firmware.size);
    machine.mmio.insert(base, FOUR_GIB - base, memoryMap.highFirmware(machine));
  }

  const { pio } = machine;
  const com1 = new ConsoleBuffer((text) => o.emit({ event: 'serial', port: 'com1', data: text }));
  const debugcon = new ConsoleBuffer((text) => o.emit({ event: 'serial', port: 'debugcon', data: text }));
  const uart = machine.onReset(new Uart16550(machine, { onOutput: (b) => com1.push(b) }));
  pio.insert(COM1_BASE, UART_SPAN, uart);
  pio.insert(DEBUGCON_PORT, DEBUGCON_SPAN, new Debugcon(machine, { onOutput: (b) => debugcon.push(b) }));
  pio.insert(
    CMOS_BASE,
    CMOS_SPAN,
    machine.onReset(new CmosRtc(machine, { ramBelow4G: o.ramBelow4G, ramAbove4G: o.ramAbove4G, cpus: config.smp })),
  );
  pio.insert(I8042_BASE, I8042_SPAN, machine.onReset(new I8042(machine)));
  pio.insert(PORT92_BASE, PORT92_SPAN, machine.onReset(new Port92(machine)));
  pio.insert(RESET_CONTROL_PORT, RESET_CONTROL_SPAN, machine.onReset(new ResetControl(machine)));
  pio.insert(ISA_DEBUG_EXIT_BASE, 1, new IsaDebugExit(machine));
  const postCode = machine.onReset(new PostCode());
  pio.insert(POST_CODE_PORT, POST_CODE_SPAN, postCode);

  const fwcfg = machine.onReset(new FwCfg(machine));
  populatePcFwCfg(fwcfg, {
    cpus: config.smp,
    maxCpus: config.smp,
    ramBelow4G: o.ramBelow4G,
    ramAbove4G: o.ramAbove4G,
    nographic: true,
    bootorder: config.kernel ? [LINUXBOOT_BOOTORDER] : undefined,
  });
  if (config.kernel) {
    const layout = installLinuxBoot(
      fwcfg,
      { kernel: readFileSync(config.kernel), initrd: config.initrd ? readFileSync(config.initrd) : undefined, cmdline: config.append ?? '' },
      o.ramBelow4G,
      config.linuxbootRom ? readFileSync(config.linuxbootRom) : undefined,
    );
    o.emit({ event: 'linux-boot', ...layout });
  }
  pio.insert(FWCFG_PORT_SELECTOR, FWCFG_IO_SPAN, fwcfg);

  // PCI: host bridge, ISA bridge, PM function; the PM I/O block follows PMBASE/PMIOSE.
  const pci = machine.onReset(new PciHost());
  pio.insert(PCI_CONFIG_ADDRESS_PORT, 1, pci.addressPort);
  pio.insert(PCI_CONFIG_DATA_PORT, PCI_CONFIG_DATA_SPAN, pci.dataPort);
  // The PM timer counts from the VMM start, so vCPU threads can answer it locally with the same count.
  const pm = machine.onReset(new PmIo(machine, { timer: new PmTimer({ epochMs: o.pmTimerEpochMs }) }));
  // vmd-low-bios-only: like OpenBSD vmd, the firmware's last 128 KiB sit in RAM below 1 MiB from
  // power-on (reloaded at every machine reset), with no high copy: SeaBIOS never needs to copy
  // itself on a cold boot, and its reboot path finds no pristine image.
  const vmdLayout = config.quirks.includes('vmd-low-bios-only');
  if (vmdLayout) {
    machine.onReset(new LowBiosLoader(machine, o.firmware.bytes));
    const base = highFirmwareBase(o.firmware.size);
    machine.mmio.insert(base, FOUR_GIB - base, new MissingHighCopy(base));
  }
  const hostBridge = new I440fx({ onPamChange: (segments) => memoryMap.setPam(segments), pamReset: vmdLayout ? PAM_RESET_BIOS_AS_RAM : undefined });
  // Power-on is not a reset() call: map what the PAM registers say from the start (a no-op with
  // the default all-zero PAM; vmd-low-bios-only starts with RAM there).
  memoryMap.setPam(hostBridge.pamSegments());
  pci.addFunction(hostBridge);
  let irqTest: IrqTestDevice | undefined;
  const piix3 = new Piix3({ onPirqChange: () => irqTest?.refreshIntx() });
  pci.addFunction(piix3);
  const pmFunction = new Piix4Pm({
    onPmIoChange: (base) => {
      // PM_TMR inside the block is a sync register: the bus tells the vCPU threads where it went.
      try {
        pio.move(pm, base, PM_IO_SPAN);
      } catch (e) {
        // PMBASE over another device's ports (0x40 covers the i8042): undefined on hardware, so the
        // block stays unmapped until the guest moves it somewhere free (found by the device fuzzer).
        pio.remove(pm);
        machine.guestMisuse('piix4-pm', `PMBASE 0x${base?.toString(16)}: ${(e as Error).message}`);
      }
    },
  });
  pci.addFunction(pmFunction);
  pio.insert(PIIX_GPE0_BASE, PIIX_GPE0_SPAN, pm.gpe);
  // Device interrupts reach KVM through the accounted (and, under quirks, buggy) interrupt path.
  // With a disk, IRQ 14's edges are timed: the debian-disk check counts those inside the probe's window.
  const epoch = o.pmTimerEpochMs ?? performance.timeOrigin;
  const edgeTimes = config.disk === undefined ? undefined : { gsis: [IDE_PRIMARY_IRQ], now: () => performance.timeOrigin + performance.now() - epoch };
  const irqPath = machine.onReset(new IrqPath(() => machine.vm, config.quirks, edgeTimes));
  const { ide, disk } = installIde(machine, irqPath, config.disk);
  pci.addFunction(ide);
  const testDevices = config.pciTestDevices.map((spec, i) => {
    const dev = new PciTestDevice({ bus: 0, device: FIRST_TEST_DEVICE_SLOT + i, function: 0 }, parseTestBars(spec), machine, (what) =>
      machine.guestMisuse('pci-test', what),
    );
    pci.addFunction(dev);
    return dev;
  });
  if (config.irqTestDevice) {
    const pirq = pirqForSlot(IRQ_TEST_SLOT, PCI_INTA);
    irqTest = machine.onReset(
      new IrqTestDevice({
        bdf: { bus: 0, device: IRQ_TEST_SLOT, function: 0 },
        mmio: machine.mmio,
        services: {
          setIrqLine: (gsi, level) => irqPath.setIrqLine(gsi, level),
          signalMsi: (lo, hi, data) => irqPath.signalMsi(lo, hi, data),
          guestMisuse: (device, what) => machine.guestMisuse(device, what),
          emit: (event) => o.emit(event),
          pitHz: () => irqPath.pitPeriodicHz(),
        },
        // PIRQ IRQ n is GSI n on pc.
        gsiFor: () => piix3.pirqRoute(pirq),
      }),
    );
    pci.addFunction(irqTest);
  }
  // ACPI through the table-loader, built on the firmware's first read (after it programmed PMBASE).
  // FADT revision 3 (QEMU's pc uses 1) so the reset register 0xCF9 exists and reboot=acpi means ACPI.
  installPcAcpi(fwcfg, {
    cpus: config.smp,
    pmBase: () => pmFunction.pmIoBase(),
    pci32Window: pcPci32Window(o.ramBelow4G),
    pci64Window: pcPci64Window(o.ramAbove4G, o.vm.physBits),
    fadtRevision: 3,
    onTablesBuilt: (pmBase) => o.emit({ event: 'acpi-tables', pmBase }),
  });
  if (config.reservedMemoryEnd !== undefined) fwcfg.addFile('etc/reserved-memory-end', u64le(config.reservedMemoryEnd));
  if (config.pciMmio64Mb !== undefined) fwcfg.addFile(OVMF_PCI_MMIO64_FILE, encodePciMmio64Mb(config.pciMmio64Mb));

  return { machine, flash, irqPath, irqTest, ide, disk, testDevices, memoryMap, fwcfg, postCode, pm, pci, com1, uart, debugcon };
}

/**
 * The IDE function with the image (if any) as primary master: both channels at their legacy
 * ports, the bus-master block wherever the firmware puts BAR 4, IRQ 14/15 through the interrupt
 * path (so its accounting and quirks apply to the disk too), DMA through the machine's guest-RAM access.
 */
function installIde(machine: Machine, irqPath: IrqPath, diskPath: string | undefined): { ide: PiixIde; disk: CowFileBackend | undefined } {
  const disk = diskPath === undefined ? undefined : new CowFileBackend(diskPath);
  const ide = new PiixIde({
    services: {
      setIrqLine: (gsi, level) => irqPath.setIrqLine(gsi, level),
      readGuest: (gpa, length) => machine.readGuest(gpa, length),
      writeGuest: (gpa, bytes) => machine.writeGuest(gpa, bytes),
      guestMisuse: (device, what) => machine.guestMisuse(device, what),
    },
    drives: disk ? { primaryMaster: new AtaDrive(disk, { serial: defaultSerial(0) }) } : {},
  });
  const { pio } = machine;
  pio.insert(IDE_PRIMARY_COMMAND_BASE, IDE_COMMAND_SPAN, ide.primary.commandBlock);
  pio.insert(IDE_PRIMARY_CONTROL_PORT, IDE_CONTROL_SPAN, ide.primary.control);
  pio.insert(IDE_SECONDARY_COMMAND_BASE, IDE_COMMAND_SPAN, ide.secondary.commandBlock);
  pio.insert(IDE_SECONDARY_CONTROL_PORT, IDE_CONTROL_SPAN, ide.secondary.control);
  ide.onBarChange = (change) => {
    try {
      pio.move(ide.bmdma, change.newBase, BMDMA_SPAN);
    } catch (e) {
      // BAR 4 placed over another device's ports: left unmapped, as the conflict is undefined on hardware.
      pio.remove(ide.bmdma);
      machine.guestMisuse(ide.name, `BAR 4 at 0x${change.newBase?.toString(16)}: ${(e as Error).message}`);
    }
  };
  return { ide, disk };
}

function u64le(value: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(value), true);
  return b;
}
