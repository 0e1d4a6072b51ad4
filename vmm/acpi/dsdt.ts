// The `pc` machine's DSDT: what Linux, SeaBIOS (its DSDT parser looks for PNP0303 before it sets
// up PS/2) and OVMF need to find in the namespace. Modelled on what QEMU 7.2 builds for i440fx
// (hw/i386/acpi-build.c build_dsdt, build_piix4_isa_bridge, build_piix4_pci0_int, build_link_dev;
// the ISA devices' build_aml in hw/rtc/mc146818rtc.c, hw/input/pckbd.c, hw/char/serial-isa.c;
// hw/i386/fw_cfg.c fw_cfg_add_acpi_dsdt), encoded with our own aml.ts and aml-resources.ts.
//
// \_SB.PCI0 (PNP0A03, _ADR 0, _UID 0, _BBN 0) with _CRS: bus 0-0xFF, the config ports 0xCF8-0xCFF
//   (consumed), I/O windows 0-0xCF7 and 0xD00-0xFFFF, the VGA window, the 32-bit MMIO window and
//   the 64-bit one when given; a static _PRT (QEMU computes the same table in a While loop):
//   slot S pin P goes to LNK[A+pirqForSlot(S,P)], except 00:01 INTA (the PM function, whose
//   interrupt is the SCI) which goes to LNKS (GSI 9).
// \_SB.PCI0.ISA (_ADR 0x00010000) with the PIRQ route registers 0x60-0x63 as a PCI_Config
//   operation region; under it RTC (PNP0B00), KBD (PNP0303), MOU (PNP0F13), COM1 (PNP0501).
// \_SB.PCI0.GPE0 and \_SB.PCI0.FWCF (QEMU0002, which Linux's qemu_fw_cfg driver binds to) reserve
//   their I/O ports.
// \_SB.LNKA-LNKD (PNP0C0F): _PRS IRQ 5, 10, 11 level/high/shared, _STA/_CRS read the route
//   register (bit 7 = disabled), _SRS writes the IRQ, _DIS sets bit 7. \_SB.LNKS: fixed SCI link.
// \_SB.Cnnn (ACPI0007, _UID = the MADT processor UID) per vCPU, so Linux's processor driver binds.
// \_S5 = {0, 0, 0, 0}: SLP_TYP 0 is what PmIo treats as soft-off.
// Left out, with QEMU's reasons not applying here: \_S3/\_S4 (PmIo implements only S5), ACPI PCI
// hotplug (PCIHP registers, S## slot devices, PCEJ/PCNT, \_GPE._E01), CPU hotplug (0xAF00
// registers, \_GPE._E02: our CPUs are fixed; those ports read all ones), memory hotplug, HPET
// (no device), FDC0 and LPT1 (no floppy or parallel port), the DBG/DBUG debug-port helpers, TPM,
// pvpanic, applesmc, \_GPE with its _HID.

import { FWCFG_IO_SPAN, FWCFG_PORT_SELECTOR } from '../devices/fwcfg/fwcfg-keys.js';
import {
  CMOS_BASE,
  COM1_BASE,
  COM1_IRQ,
  I8042_AUX_IRQ,
  I8042_COMMAND_PORT,
  I8042_DATA_PORT,
  I8042_KBD_IRQ,
  UART_SPAN,
} from '../devices/legacy/index.js';
import { PIIX_GPE0_BASE, PIIX_GPE0_SPAN } from '../devices/pci/piix4-pm.js';
import { PIIX_PIRQ_COUNT, PIIX_PIRQ_ROUTE, pirqForSlot } from '../devices/pci/piix3.js';
import { FOUR_GIB, PIIX_SLOT, type PciWindow32, type PciWindow64, VGA_WINDOW_BASE, VGA_WINDOW_SIZE } from '../layout.js';
import * as aml from './aml.js';
import * as res from './aml-resources.js';
import { ACPI_CHECKSUM_OFFSET, definitionBlock, MAX_XAPIC_CPUS } from './tables.js';
import type { LinkedTable } from './table-loader.js';

/** QEMU's pc DSDT is revision 1: AML integers are 32 bits (QWord resource fields are buffers, unaffected). */
const DSDT_REVISION = 1;
const PIIX_ISA_ADR = PIIX_SLOT << 16;
const PCI_MAX_SLOT = 31;
const PCI_CONFIG_PORT = 0xcf8;
const PCI_CONFIG_SPAN = 8;
const PCI_IO_WINDOW_LOW_END = PCI_CONFIG_PORT - 1;
const PCI_IO_WINDOW_HIGH_BASE = 0x0d00;
const IO_SPACE_END = 0xffff;
/** ISA IRQs the PCI interrupt links may be routed to (QEMU's list). */
export const PCI_LINK_IRQS: readonly number[] = [5, 10, 11];
/** The RTC's IRQ and the 8 ports real chipsets decode at 0x70 (QEMU declares the same). */
const RTC_IRQ = 8;
const RTC_DECLARED_SPAN = 8;
/** PIRQ route register: bit 7 set = routing disabled. */
const PIRQ_DISABLED = 0x80;
/** _STA values: present + functioning (+ enabled + decoding = 0x0B; + shown in UI = 0x0F). */
const STA_PRESENT_DISABLED = 0x09;
const STA_PRESENT_HIDDEN = 0x0b;
const STA_PRESENT_SHOWN = 0x0f;
/** Byte offset of the first interrupt number in an Interrupt() descriptor. */
const INTERRUPT_NUMBER_OFFSET = 5;
const LINK_NAMES = ['LNKA', 'LNKB', 'LNKC', 'LNKD'] as const;
const SCI_LINK = 'LNKS';
const SCI_LINK_UID = 4;
const ROUTE_FIELDS = ['PRQ0', 'PRQ1', 'PRQ2', 'PRQ3'] as const;

export interface PcDsdtOptions {
  cpus: number;
  /** The SCI's ISA IRQ (9). */
  sciIrq: number;
  pci32Window: PciWindow32;
  pci64Window?: PciWindow64;
  /** Bus-0 slots described in _PRT; default 1-31. */
  pciSlots?: readonly number[];
}

const LEVEL_HIGH_SHARED = { consumer: true, level: true, activeHigh: true, shared: true };

function checkWindows(o: PcDsdtOptions): void {
  const w = o.pci32Window;
  const vgaEnd = VGA_WINDOW_BASE + VGA_WINDOW_SIZE - 1;
  if (!w || !Number.isInteger(w.base) || !Number.isInteger(w.end) || w.base <= vgaEnd || w.base > w.end || w.end >= FOUR_GIB) {
    throw new TypeError(`pci32Window ${JSON.stringify(w)}: expected {base, end} with 0x${vgaEnd.toString(16)} < base <= end < 4 GiB`);
  }
  const w64 = o.pci64Window;
  if (w64 !== undefined && w64.size !== 0) {
    const ok = Number.isSafeInteger(w64.base) && Number.isSafeInteger(w64.size) && Number.isSafeInteger(w64.base + w64.size);
    if (!ok || w64.base < FOUR_GIB || w64.size < 0) {
      throw new TypeError(`pci64Window ${JSON.stringify(w64)}: expected {base >= 4 GiB, size >= 0} below 2^53`);
    }
  }
}

function rootBridgeCrs(o: PcDsdtOptions): aml.Aml {
  const descriptors = [
    res.wordBusNumber(0, 0xff),
    res.io(PCI_CONFIG_PORT, PCI_CONFIG_PORT, 1, PCI_CONFIG_SPAN),
    res.wordIo(0, PCI_IO_WINDOW_LOW_END),
    res.wordIo(PCI_IO_WINDOW_HIGH_BASE, IO_SPACE_END),
    res.dwordMemory(VGA_WINDOW_BASE, VGA_WINDOW_BASE + VGA_WINDOW_SIZE - 1, res.MemCache.Cacheable),
    res.dwordMemory(o.pci32Window.base, o.pci32Window.end, res.MemCache.NonCacheable),
  ];
  const w64 = o.pci64Window;
  if (w64 && w64.size > 0) descriptors.push(res.qwordMemory(w64.base, w64.base + w64.size - 1, res.MemCache.Cacheable));
  return aml.name('_CRS', res.resourceTemplate(...descriptors));
}

/** One _PRT entry per (slot, pin): {slot << 16 | 0xFFFF, pin 0-3, link, 0}. */
function routingTable(slots: readonly number[]): aml.Aml {
  const entries: aml.Aml[] = [];
  for (const slot of slots) {
    for (let pin = 1; pin <= 4; pin++) {
      const link = slot === PIIX_SLOT && pin === 1 ? SCI_LINK : LINK_NAMES[pirqForSlot(slot, pin)]!;
      entries.push(aml.pkg(aml.int(slot * 0x1_0000 + 0xffff), aml.int(pin - 1), aml.ref(link), aml.int(0)));
    }
  }
  return aml.name('_PRT', aml.pkg(...entries));
}

function isaDevices(): aml.Aml[] {
  return [
    aml.device(
      'RTC',
      aml.name('_HID', aml.eisaId('PNP0B00')),
      aml.name('_CRS', res.resourceTemplate(res.io(CMOS_BASE, CMOS_BASE, 1, RTC_DECLARED_SPAN), res.irqNoFlags(RTC_IRQ))),
    ),
    aml.device(
      'KBD',
      aml.name('_HID', aml.eisaId('PNP0303')),
      aml.name('_STA', aml.int(STA_PRESENT_SHOWN)),
      aml.name(
        '_CRS',
        res.resourceTemplate(
          res.io(I8042_DATA_PORT, I8042_DATA_PORT, 1, 1),
          res.io(I8042_COMMAND_PORT, I8042_COMMAND_PORT, 1, 1),
          res.irqNoFlags(I8042_KBD_IRQ),
        ),
      ),
    ),
    aml.device(
      'MOU',
      aml.name('_HID', aml.eisaId('PNP0F13')),
      aml.name('_STA', aml.int(STA_PRESENT_SHOWN)),
      aml.name('_CRS', res.resourceTemplate(res.irqNoFlags(I8042_AUX_IRQ))),
    ),
    aml.device(
      'COM1',
      aml.name('_HID', aml.eisaId('PNP0501')),
      aml.name('_UID', aml.int(1)),
      aml.name('_STA', aml.int(STA_PRESENT_SHOWN)),
      aml.name('_CRS', res.resourceTemplate(res.io(COM1_BASE, COM1_BASE, 0, UART_SPAN), res.irqNoFlags(COM1_IRQ))),
    ),
  ];
}

function pciRoot(o: PcDsdtOptions, slots: readonly number[]): aml.Aml {
  return aml.device(
    'PCI0',
    aml.name('_HID', aml.eisaId('PNP0A03')),
    aml.name('_ADR', aml.int(0)),
    aml.name('_UID', aml.int(0)),
    aml.name('_BBN', aml.int(0)),
    rootBridgeCrs(o),
    routingTable(slots),
    aml.device(
      'ISA',
      aml.name('_ADR', aml.int(PIIX_ISA_ADR)),
      aml.operationRegion('P40C', aml.RegionSpace.PciConfig, PIIX_PIRQ_ROUTE, PIIX_PIRQ_COUNT),
      ...isaDevices(),
    ),
    aml.device(
      'GPE0',
      aml.name('_HID', aml.str('PNP0A06')),
      aml.name('_UID', aml.str('GPE0 resources')),
      aml.name('_STA', aml.int(STA_PRESENT_HIDDEN)),
      aml.name('_CRS', res.resourceTemplate(res.io(PIIX_GPE0_BASE, PIIX_GPE0_BASE, 1, PIIX_GPE0_SPAN))),
    ),
    aml.device(
      'FWCF',
      aml.name('_HID', aml.str('QEMU0002')),
      aml.name('_STA', aml.int(STA_PRESENT_HIDDEN)),
      aml.name('_CRS', res.resourceTemplate(res.io(FWCFG_PORT_SELECTOR, FWCFG_PORT_SELECTOR, 1, FWCFG_IO_SPAN))),
    ),
  );
}

/** IQST(route): _STA of a link; IQCR(route): its current IRQ as an Interrupt() template (IRQ 0 when disabled). */
function linkHelpers(): aml.Aml[] {
  return [
    aml.field(
      'PCI0.ISA.P40C',
      { access: aml.FieldAccess.Byte, lock: false, update: aml.FieldUpdate.Preserve },
      ROUTE_FIELDS.map((name) => ({ name, bits: 8 })),
    ),
    aml.method(
      'IQST',
      1,
      false,
      aml.ifOp(aml.and(aml.int(PIRQ_DISABLED), aml.arg(0)), aml.returnOp(aml.int(STA_PRESENT_DISABLED))),
      aml.returnOp(aml.int(STA_PRESENT_HIDDEN)),
    ),
    aml.method(
      'IQCR',
      1,
      true,
      aml.name('PRR0', res.resourceTemplate(res.interrupt(LEVEL_HIGH_SHARED, 0))),
      aml.createDWordField(aml.ref('PRR0'), aml.int(INTERRUPT_NUMBER_OFFSET), 'PRRI'),
      aml.ifOp(aml.lLess(aml.arg(0), aml.int(PIRQ_DISABLED)), aml.store(aml.arg(0), aml.ref('PRRI'))),
      aml.returnOp(aml.ref('PRR0')),
    ),
  ];
}

function linkDevice(index: number): aml.Aml {
  const route = aml.ref(ROUTE_FIELDS[index]!);
  return aml.device(
    LINK_NAMES[index]!,
    aml.name('_HID', aml.eisaId('PNP0C0F')),
    aml.name('_UID', aml.int(index)),
    aml.name('_PRS', res.resourceTemplate(res.interrupt(LEVEL_HIGH_SHARED, ...PCI_LINK_IRQS))),
    aml.method('_STA', 0, false, aml.returnOp(aml.call('IQST', route))),
    aml.method('_DIS', 0, false, aml.or(route, aml.int(PIRQ_DISABLED), route)),
    aml.method('_CRS', 0, false, aml.returnOp(aml.call('IQCR', route))),
    aml.method('_SRS', 1, false, aml.createDWordField(aml.arg(0), aml.int(INTERRUPT_NUMBER_OFFSET), 'PRRI'), aml.store(aml.ref('PRRI'), route)),
  );
}

/** The SCI cannot be rerouted or disabled; the link exists to say "level, active high", like the MADT. */
function sciLink(sciIrq: number): aml.Aml {
  return aml.device(
    SCI_LINK,
    aml.name('_HID', aml.eisaId('PNP0C0F')),
    aml.name('_UID', aml.int(SCI_LINK_UID)),
    aml.name('_PRS', res.resourceTemplate(res.interrupt(LEVEL_HIGH_SHARED, sciIrq))),
    aml.method('_STA', 0, false, aml.returnOp(aml.int(STA_PRESENT_HIDDEN))),
    aml.method('_DIS', 0, false),
    aml.method('_CRS', 0, false, aml.returnOp(aml.ref('_PRS'))),
    aml.method('_SRS', 1, false),
  );
}

/** Name of vCPU `index`'s processor device: C000, C001, ... C0FE. */
export function cpuDeviceName(index: number): string {
  return `C${index.toString(16).toUpperCase().padStart(3, '0')}`;
}

function processors(cpus: number): aml.Aml[] {
  const out: aml.Aml[] = [];
  for (let i = 0; i < cpus; i++) out.push(aml.device(cpuDeviceName(i), aml.name('_HID', aml.str('ACPI0007')), aml.name('_UID', aml.int(i))));
  return out;
}

/** The `pc` DSDT as a table for the loader (checksum left 0). */
export function buildPcDsdt(o: PcDsdtOptions): LinkedTable {
  if (!Number.isInteger(o.cpus) || o.cpus < 1 || o.cpus > MAX_XAPIC_CPUS) throw new TypeError(`DSDT cpus ${o.cpus}: expected 1-${MAX_XAPIC_CPUS}`);
  if (!Number.isInteger(o.sciIrq) || o.sciIrq < 1 || o.sciIrq > 15) throw new TypeError(`DSDT sciIrq ${o.sciIrq}: expected an ISA IRQ 1-15`);
  checkWindows(o);
  const slots = [...new Set(o.pciSlots ?? Array.from({ length: PCI_MAX_SLOT }, (_, i) => i + 1))].sort((a, b) => a - b);
  for (const s of slots) {
    if (!Number.isInteger(s) || s < 0 || s > PCI_MAX_SLOT) throw new TypeError(`pciSlots: ${s} is not a slot 0-${PCI_MAX_SLOT}`);
  }
  const body = aml.concat(
    aml.scope('\\_SB', pciRoot(o, slots), ...linkHelpers(), ...LINK_NAMES.map((_, i) => linkDevice(i)), sciLink(o.sciIrq), ...processors(o.cpus)),
    aml.name('\\_S5', aml.pkg(aml.int(0), aml.int(0), aml.int(0), aml.int(0))),
  );
  return { id: 'DSDT', bytes: definitionBlock('DSDT', DSDT_REVISION, body), checksumAt: ACPI_CHECKSUM_OFFSET };
}
