// The fixed ACPI tables of the `pc` machine: RSDP, RSDT, FADT, FACS, MADT (the DSDT is dsdt.ts).
// Layouts follow ACPI 6.5 ch. 5 (and ACPI 1.0b for the revision-1 FADT); contents follow what
// QEMU 7.2 builds for `pc` (hw/i386/acpi-build.c, hw/i386/acpi-common.c, hw/acpi/aml-build.c
// build_fadt/build_rsdt/build_rsdp), checked against QEMU 7.2's tables as docs/platform.md and
// docs/qemu-7.2-reference.md record them (FADT 116 bytes, MADT 128 for 2 CPUs, RSDP revision 0).
// Every table is returned unplaced, with pointer fields and checksums left for the table-loader.
//
// FADT revision: QEMU's `pc` uses revision 1 (116 bytes; "w2k requires FADT(rev1)"), which has
// no RESET_REG, no IAPC_BOOT_ARCH (reserved in 1.0) and no X_ fields. Linux accepts it: ACPICA
// builds the X_ blocks from the 32-bit ones and, for a table that short, clears IAPC_BOOT_ARCH, so
// x86 keeps assuming an i8042 (found through PNP0303 in the DSDT), and reboot falls from ACPI
// (unavailable) to the keyboard controller. Revision 3 (244 bytes, as QEMU's q35) is available as an
// option: it adds RESET_REG = I/O 0xCF9 <- 0x06 with RESET_REG_SUP, IAPC_BOOT_ARCH 8042 and the X_
// blocks; X_FIRMWARE_CTRL stays 0 and X_DSDT is patched, as QEMU does.
// Left out: HPET (no HPET device), WAET, SRAT/SLIT (no NUMA), SSDTs, MCFG (q35 only), XSDT.

import { PIIX_GPE0_BASE, PIIX_GPE0_SPAN } from '../devices/pci/piix4-pm.js';
import { IOAPIC_BASE, LAPIC_BASE } from '../layout.js';
import type { LinkedTable, TablePointer } from './table-loader.js';

/** Header identification QEMU uses: some guests and firmware quirk on BOCHS/BXPC, so look the same. */
export const ACPI_OEM_ID = 'BOCHS ';
export const ACPI_OEM_TABLE_ID = 'BXPC    ';
export const ACPI_CREATOR_ID = 'BXPC';
export const ACPI_HEADER_SIZE = 36;
/** Offset of the checksum byte in a table header. */
export const ACPI_CHECKSUM_OFFSET = 9;

export const FACS_SIZE = 64;
export const FADT_REV1_SIZE = 116;
export const FADT_REV3_SIZE = 244;
export const RSDP_REV0_SIZE = 20;
export const RSDP_SIGNATURE = 'RSD PTR ';
const RSDP_CHECKSUM_OFFSET = 8;
const RSDP_RSDT_ADDRESS = 16;

// FADT field offsets (ACPI 6.5 table 5.9).
const FADT_FIRMWARE_CTRL = 36;
const FADT_DSDT = 40;
const FADT_X_DSDT = 140;
/** FADT flags (table 5.10). */
export const FadtFlag = {
  WBINVD: 1 << 0,
  PROC_C1: 1 << 2,
  SLP_BUTTON: 1 << 5,
  RTC_S4: 1 << 7,
  TMR_VAL_EXT: 1 << 8,
  RESET_REG_SUP: 1 << 10,
  USE_PLATFORM_CLOCK: 1 << 15,
  FORCE_APIC_CLUSTER_MODEL: 1 << 18,
} as const;
/** IAPC_BOOT_ARCH bit 1: an 8042 keyboard controller is present. */
export const IAPC_BOOT_ARCH_8042 = 1 << 1;
/** CMOS index of the RTC century register (the CmosRtc device keeps it). */
const RTC_CENTURY_INDEX = 0x32;
/** P_LVL2/P_LVL3 latencies above 100/1000 us mean C2/C3 are not supported. */
const C_STATE_UNSUPPORTED_LATENCY = 0x0fff;
/** ACPI 1.0 INT_MODEL: 1 = multiple APIC. */
const INT_MODEL_APIC = 1;
/** PIIX reset control register and the value that resets (bit 2 RST, bit 1 hard reset). */
const RESET_REGISTER_PORT = 0xcf9;
const RESET_VALUE = 0x06;
/** Generic Address Structure space ids and access sizes. */
const GAS_SYSTEM_IO = 1;
const GAS_ACCESS_BYTE = 1;

// PM register block layout at PMBASE (vmm/devices/pci/piix4-pm.ts PmIo).
const PM1_EVT_OFFSET = 0x00;
const PM1_CNT_OFFSET = 0x04;
const PM_TMR_OFFSET = 0x08;
const PM1_EVT_LEN = 4;
const PM1_CNT_LEN = 2;
const PM_TMR_LEN = 4;

// MADT (table 5.43) structures.
const MADT_PCAT_COMPAT = 1;
const MADT_LOCAL_APIC = 0;
const MADT_IO_APIC = 1;
const MADT_INTERRUPT_OVERRIDE = 2;
const MADT_LOCAL_APIC_NMI = 4;
const MADT_LAPIC_ENABLED = 1;
/** MPS INTI flags: polarity active high (01), trigger level (11). */
const MPS_INTI_ACTIVE_HIGH_LEVEL = 0x000d;
const MPS_INTI_CONFORMS = 0x0000;
const ACPI_ALL_PROCESSORS = 0xff;
const LINT1 = 1;
/** The IOAPIC's id and first GSI, as QEMU's (ACPI_BUILD_IOAPIC_ID 0). */
const IOAPIC_ID = 0;
const IOAPIC_GSI_BASE = 0;
/** ISA IRQ 0 (the PIT) is wired to IOAPIC pin 2 (KVM's routing and fw_cfg IRQ0_OVERRIDE). */
const PIT_ISA_IRQ = 0;
const PIT_GSI = 2;
/** xAPIC ids stop at 254 (255 is broadcast); more CPUs need x2APIC structures, not built here. */
export const MAX_XAPIC_CPUS = 255;
/** With more CPUs than this, flat logical APIC mode cannot address them all (QEMU's rule). */
const FLAT_LOGICAL_MAX_CPUS = 8;

function ascii(out: Uint8Array, at: number, text: string): void {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
}

/** A table with a standard 36-byte header in front of `bodyLength` zero bytes; checksum left 0. */
export function sdt(signature: string, revision: number, bodyLength: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(ACPI_HEADER_SIZE + bodyLength);
  const view = new DataView(bytes.buffer);
  ascii(bytes, 0, signature);
  view.setUint32(4, bytes.length, true);
  bytes[8] = revision;
  ascii(bytes, 10, ACPI_OEM_ID);
  ascii(bytes, 16, ACPI_OEM_TABLE_ID);
  view.setUint32(24, 1, true); // OEM revision
  ascii(bytes, 28, ACPI_CREATOR_ID);
  view.setUint32(32, 1, true); // creator revision
  return { bytes, view };
}

/** Wrap an AML body as a definition block (DSDT/SSDT). */
export function definitionBlock(signature: string, revision: number, aml: Uint8Array): Uint8Array {
  const { bytes } = sdt(signature, revision, aml.length);
  bytes.set(aml, ACPI_HEADER_SIZE);
  return bytes;
}

/** FACS (ACPI 1.0 layout, all zero but signature and length); must be 64-byte aligned. */
export function buildFacs(): LinkedTable {
  const bytes = new Uint8Array(FACS_SIZE);
  ascii(bytes, 0, 'FACS');
  new DataView(bytes.buffer).setUint32(4, FACS_SIZE, true);
  return { id: 'FACS', bytes, align: 64 };
}

export interface FadtOptions {
  /** 1 as QEMU's `pc` (default), or 3 for RESET_REG and the X_ fields. */
  revision?: 1 | 3;
  /** PMBASE the firmware programmed; the PM1a event/control and timer blocks follow it. */
  pmBase: number;
  /** The SCI's ISA IRQ (9 on PIIX4). */
  sciIrq: number;
  /** vCPUs, for FORCE_APIC_CLUSTER_MODEL above 8. */
  cpus: number;
}

function gas(view: DataView, at: number, bitWidth: number, address: number, accessSize = 0): void {
  view.setUint8(at, GAS_SYSTEM_IO);
  view.setUint8(at + 1, bitWidth);
  view.setUint8(at + 2, 0);
  view.setUint8(at + 3, accessSize);
  view.setBigUint64(at + 4, BigInt(address), true);
}

/** FADT ("FACP") pointing at FACS and DSDT; PM blocks at `pmBase`, GPE0 at PIIX_GPE0_BASE. */
export function buildFadt(o: FadtOptions): LinkedTable {
  const revision = o.revision ?? 1;
  if (revision !== 1 && revision !== 3) throw new TypeError(`FADT revision ${String(revision)}: expected 1 or 3`);
  if (!Number.isInteger(o.pmBase) || o.pmBase < 0 || o.pmBase > 0xffc0 || o.pmBase % 0x40 !== 0) {
    throw new TypeError(`FADT pmBase ${o.pmBase}: expected a 64-byte-aligned I/O port 0-0xffc0`);
  }
  if (!Number.isInteger(o.sciIrq) || o.sciIrq < 1 || o.sciIrq > 15) throw new TypeError(`FADT sciIrq ${o.sciIrq}: expected an ISA IRQ 1-15`);
  const size = revision === 1 ? FADT_REV1_SIZE : FADT_REV3_SIZE;
  const { bytes, view } = sdt('FACP', revision, size - ACPI_HEADER_SIZE);
  const pm1Evt = o.pmBase + PM1_EVT_OFFSET;
  const pm1Cnt = o.pmBase + PM1_CNT_OFFSET;
  const pmTmr = o.pmBase + PM_TMR_OFFSET;

  bytes[44] = INT_MODEL_APIC; // reserved from ACPI 2.0 on; QEMU writes 1 in every revision
  bytes[45] = 0; // Preferred_PM_Profile: unspecified
  view.setUint16(46, o.sciIrq, true);
  // SMI_CMD, ACPI_ENABLE, ACPI_DISABLE stay 0: no SMM, SCI_EN is already set in PM1a_CNT.
  view.setUint32(56, pm1Evt, true);
  view.setUint32(64, pm1Cnt, true);
  view.setUint32(76, pmTmr, true);
  view.setUint32(80, PIIX_GPE0_BASE, true);
  bytes[88] = PM1_EVT_LEN;
  bytes[89] = PM1_CNT_LEN;
  bytes[91] = PM_TMR_LEN;
  bytes[92] = PIIX_GPE0_SPAN;
  view.setUint16(96, C_STATE_UNSUPPORTED_LATENCY, true);
  view.setUint16(98, C_STATE_UNSUPPORTED_LATENCY, true);
  bytes[108] = RTC_CENTURY_INDEX;
  let flags = FadtFlag.WBINVD | FadtFlag.PROC_C1 | FadtFlag.SLP_BUTTON | FadtFlag.RTC_S4 | FadtFlag.USE_PLATFORM_CLOCK;
  if (o.cpus > FLAT_LOGICAL_MAX_CPUS) flags |= FadtFlag.FORCE_APIC_CLUSTER_MODEL;

  const pointers: TablePointer[] = [
    { at: FADT_FIRMWARE_CTRL, size: 4, to: 'FACS' },
    { at: FADT_DSDT, size: 4, to: 'DSDT' },
  ];
  if (revision === 3) {
    view.setUint16(109, IAPC_BOOT_ARCH_8042, true);
    flags |= FadtFlag.RESET_REG_SUP;
    gas(view, 116, 8, RESET_REGISTER_PORT, GAS_ACCESS_BYTE);
    bytes[128] = RESET_VALUE;
    // 132 X_FIRMWARE_CTRL stays 0: FIRMWARE_CTRL holds the FACS (only one of them may be set).
    gas(view, 148, PM1_EVT_LEN * 8, pm1Evt);
    gas(view, 172, PM1_CNT_LEN * 8, pm1Cnt);
    gas(view, 208, PM_TMR_LEN * 8, pmTmr);
    gas(view, 220, PIIX_GPE0_SPAN * 8, PIIX_GPE0_BASE);
    pointers.push({ at: FADT_X_DSDT, size: 8, to: 'DSDT' });
  }
  view.setUint32(112, flags, true);
  return { id: 'FACP', bytes, checksumAt: ACPI_CHECKSUM_OFFSET, pointers };
}

export interface MadtOptions {
  cpus: number;
  /** ISA IRQs wired level-triggered, active high (PCI links and the SCI): 5, 9, 10, 11 on `pc`. */
  levelIrqs: readonly number[];
}

/**
 * MADT ("APIC"): local APIC at LAPIC_BASE with PC-AT compatible 8259s, one enabled Processor
 * Local APIC per vCPU (UID = APIC ID = index), the IOAPIC, IRQ0 -> GSI 2, level overrides, and
 * LINT1 as NMI on every processor.
 */
export function buildMadt(o: MadtOptions): LinkedTable {
  const { cpus, levelIrqs } = o;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_XAPIC_CPUS) throw new TypeError(`MADT cpus ${cpus}: expected 1-${MAX_XAPIC_CPUS}`);
  for (const irq of levelIrqs) {
    if (!Number.isInteger(irq) || irq < 1 || irq > 15 || irq === PIT_GSI) {
      throw new TypeError(`MADT level IRQ ${irq}: expected an ISA IRQ 1-15 other than 2`);
    }
  }
  const irqs = [...new Set(levelIrqs)].sort((a, b) => a - b);
  const body = 8 + 8 * cpus + 12 + 10 * (1 + irqs.length) + 6;
  const { bytes, view } = sdt('APIC', 1, body);
  let at = ACPI_HEADER_SIZE;
  view.setUint32(at, LAPIC_BASE, true);
  view.setUint32(at + 4, MADT_PCAT_COMPAT, true);
  at += 8;
  for (let i = 0; i < cpus; i++) {
    bytes.set([MADT_LOCAL_APIC, 8, i, i], at);
    view.setUint32(at + 4, MADT_LAPIC_ENABLED, true);
    at += 8;
  }
  bytes.set([MADT_IO_APIC, 12, IOAPIC_ID, 0], at);
  view.setUint32(at + 4, IOAPIC_BASE, true);
  view.setUint32(at + 8, IOAPIC_GSI_BASE, true);
  at += 12;
  const override = (source: number, gsi: number, flags: number) => {
    bytes.set([MADT_INTERRUPT_OVERRIDE, 10, 0 /* ISA bus */, source], at);
    view.setUint32(at + 4, gsi, true);
    view.setUint16(at + 8, flags, true);
    at += 10;
  };
  override(PIT_ISA_IRQ, PIT_GSI, MPS_INTI_CONFORMS);
  for (const irq of irqs) override(irq, irq, MPS_INTI_ACTIVE_HIGH_LEVEL);
  bytes.set([MADT_LOCAL_APIC_NMI, 6, ACPI_ALL_PROCESSORS, 0, 0, LINT1], at);
  return { id: 'APIC', bytes, checksumAt: ACPI_CHECKSUM_OFFSET };
}

/** RSDT listing `entries` (table ids) with 32-bit pointers. */
export function buildRsdt(entries: readonly string[]): LinkedTable {
  const { bytes } = sdt('RSDT', 1, 4 * entries.length);
  return {
    id: 'RSDT',
    bytes,
    checksumAt: ACPI_CHECKSUM_OFFSET,
    pointers: entries.map((to, i) => ({ at: ACPI_HEADER_SIZE + 4 * i, size: 4 as const, to })),
  };
}

/** ACPI 1.0 RSDP (revision 0, 20 bytes) pointing at the RSDT; the loader must place it in the F-segment. */
export function buildRsdp(): LinkedTable {
  const bytes = new Uint8Array(RSDP_REV0_SIZE);
  ascii(bytes, 0, RSDP_SIGNATURE);
  ascii(bytes, 9, ACPI_OEM_ID);
  bytes[15] = 0; // revision 0: no XSDT, no extended checksum
  return { id: 'RSDP', bytes, checksumAt: RSDP_CHECKSUM_OFFSET, pointers: [{ at: RSDP_RSDT_ADDRESS, size: 4, to: 'RSDT' }] };
}
