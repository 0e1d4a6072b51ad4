// ACPI for the `pc` machine, handed to firmware the way QEMU 7.2 does it: three fw_cfg files,
// "etc/acpi/tables" (FACS, DSDT, FADT, MADT, RSDT in one blob, padded to 128 KiB),
// "etc/acpi/rsdp" (20 bytes) and "etc/table-loader" (the commands, padded to 4 KiB), which
// SeaBIOS 1.16.2 (romfile_loader.c) and OVMF (AcpiPlatformDxe/QemuFwCfgAcpi.c) both execute.
// OVMF has no tables of its own; SeaBIOS, once it sees etc/table-loader, moves PMBASE to 0x600
// and drops its built-in tables.
//
// The files are lazy (FwCfg builds each on its first selection and keeps it until reset), because
// the FADT must name the PMBASE the firmware programmed before reading them (0x600 for SeaBIOS,
// 0xB000 for OVMF on pc); QEMU builds on first read for the same reason. Only the FADT's contents
// depend on that PMBASE, and the FADT's size does not, so the three files always agree on offsets
// whichever order they are read in. If PMBASE is not decoded yet the FADT says 0, as QEMU's would.

import type { FwCfg } from '../devices/fwcfg/fwcfg.js';
import { PIIX4_SCI_IRQ } from '../devices/pci/piix4-pm.js';
import { KiB, type PciWindow32, type PciWindow64 } from '../layout.js';
import { buildPcDsdt, PCI_LINK_IRQS } from './dsdt.js';
import { buildFacs, buildFadt, buildMadt, buildRsdp, buildRsdt } from './tables.js';
import { encodeLoaderCommands, type LinkedTable, type LinkResult, linkTables, LoaderZone } from './table-loader.js';

export const ACPI_TABLES_FILE = 'etc/acpi/tables';
export const ACPI_RSDP_FILE = 'etc/acpi/rsdp';
export const TABLE_LOADER_FILE = 'etc/table-loader';
/** Fixed fw_cfg sizes, as QEMU's (ACPI_BUILD_TABLE_SIZE and ACPI_BUILD_ALIGN_SIZE). */
export const ACPI_TABLES_FILE_SIZE = 128 * KiB;
export const TABLE_LOADER_FILE_SIZE = 4 * KiB;
export const ACPI_RSDP_FILE_SIZE = 20;
/** The FACS must be 64-byte aligned; the blob is allocated at 64 so offset alignment carries over. */
const TABLES_ALIGN = 64;
/** The RSDP is searched for on 16-byte boundaries in the F-segment. */
const RSDP_ALIGN = 16;

export interface PcAcpiInputs {
  /** vCPUs (1-255); APIC IDs are 0..cpus-1. */
  cpus: number;
  /** Where the PIIX4 PM block decodes when the tables are built (Piix4Pm.pmIoBase), or null. */
  pmBase: () => number | null;
  /** The SCI's GSI (= ISA IRQ); 9 on PIIX4. */
  sciGsi?: number;
  /** The machine's windows: layout.ts pcPci32Window and pcPci64Window. */
  pci32Window: PciWindow32;
  pci64Window?: PciWindow64;
  /** Bus-0 slots listed in _PRT; default 1-31. */
  pciSlots?: readonly number[];
  /** FADT revision: 1 as QEMU's pc (default) or 3 (reset register, X_ fields). */
  fadtRevision?: 1 | 3;
  /** Called each time etc/acpi/tables is built (once per boot that reads it) with the PMBASE used. */
  onTablesBuilt?: (pmBase: number | null) => void;
}

export interface PcAcpiBuild extends LinkResult {
  /** The PMBASE the FADT was built with. */
  pmBase: number;
  /** The etc/table-loader bytes, unpadded. */
  loader: Uint8Array;
}

/** The DSDT for these inputs: it does not depend on PMBASE, so a machine builds it once. */
export function buildInputsDsdt(inputs: PcAcpiInputs): LinkedTable {
  const { cpus, pci32Window, pci64Window, pciSlots } = inputs;
  return buildPcDsdt({ cpus, sciIrq: inputs.sciGsi ?? PIIX4_SCI_IRQ, pci32Window, pci64Window, pciSlots });
}

/**
 * Build all three files for one PMBASE (exported for tests and tools; the machine uses
 * installPcAcpi). `dsdt`: the inputs' DSDT if already built (buildInputsDsdt).
 */
export function buildPcAcpi(inputs: PcAcpiInputs, pmBase: number, dsdt: LinkedTable = buildInputsDsdt(inputs)): PcAcpiBuild {
  const sciIrq = inputs.sciGsi ?? PIIX4_SCI_IRQ;
  const { cpus } = inputs;
  const fadt = buildFadt({ revision: inputs.fadtRevision, pmBase, sciIrq, cpus });
  const madt = buildMadt({ cpus, levelIrqs: [...PCI_LINK_IRQS, sciIrq] });
  // QEMU's order: FACS first (64-aligned), then DSDT, FADT, MADT, RSDT.
  const tables = [buildFacs(), dsdt, fadt, madt, buildRsdt([fadt.id, madt.id])];
  const linked = linkTables([
    { name: ACPI_TABLES_FILE, align: TABLES_ALIGN, zone: LoaderZone.High, tables },
    { name: ACPI_RSDP_FILE, align: RSDP_ALIGN, zone: LoaderZone.FSeg, tables: [buildRsdp()] },
  ]);
  return { ...linked, pmBase, loader: encodeLoaderCommands(linked.commands) };
}

/**
 * Register etc/acpi/rsdp, etc/acpi/tables and etc/table-loader on `fw` as lazy files of fixed
 * size. Inputs are checked now (a bad one throws here, not when the guest reads). The DSDT, the
 * one costly table, is built here once; the three files the firmware reads one after the other
 * come from one build per PMBASE (in the nested lab a build of the JavaScript took tens of
 * milliseconds of the firmware's time, three times over).
 */
export function installPcAcpi(fw: FwCfg, inputs: PcAcpiInputs): void {
  if (typeof inputs.pmBase !== 'function') throw new TypeError(`installPcAcpi pmBase: expected a function, got ${typeof inputs.pmBase}`);
  const dsdt = buildInputsDsdt(inputs);
  const probe = buildPcAcpi(inputs, 0, dsdt);
  const tablesSize = probe.files.get(ACPI_TABLES_FILE)!.length;
  if (tablesSize > ACPI_TABLES_FILE_SIZE || probe.loader.length > TABLE_LOADER_FILE_SIZE) {
    throw new TypeError(
      `ACPI tables need ${tablesSize} bytes and ${probe.loader.length} bytes of loader commands; ` +
        `the files hold ${ACPI_TABLES_FILE_SIZE} and ${TABLE_LOADER_FILE_SIZE}`,
    );
  }
  let last: PcAcpiBuild | undefined;
  const build = (file: string) => () => {
    const pmBase = inputs.pmBase();
    if (file === ACPI_TABLES_FILE) inputs.onTablesBuilt?.(pmBase);
    if (last?.pmBase !== (pmBase ?? 0)) last = buildPcAcpi(inputs, pmBase ?? 0, dsdt);
    return file === TABLE_LOADER_FILE ? last.loader : last.files.get(file)!;
  };
  // In name order, as QEMU sorts its fw_cfg directory.
  fw.addFile(ACPI_RSDP_FILE, build(ACPI_RSDP_FILE), ACPI_RSDP_FILE_SIZE);
  fw.addFile(ACPI_TABLES_FILE, build(ACPI_TABLES_FILE), ACPI_TABLES_FILE_SIZE);
  fw.addFile(TABLE_LOADER_FILE, build(TABLE_LOADER_FILE), TABLE_LOADER_FILE_SIZE);
}
