// The three fw_cfg files end to end: read through fw_cfg as firmware reads them, executed by a
// loader that does what SeaBIOS's romfile_loader.c does, walked from the RSDP, every table
// checksummed and disassembled by iasl; the command stream against QEMU 7.2's for `pc`.

import { describe, expect, it } from 'vitest';
import { FwCfg } from '../devices/fwcfg/fwcfg.js';
import { FwCfgKey } from '../devices/fwcfg/fwcfg-keys.js';
import { fakeMachine, Guest } from '../devices/fwcfg/test-guest.js';
import {
  ACPI_RSDP_FILE,
  ACPI_TABLES_FILE,
  ACPI_TABLES_FILE_SIZE,
  buildPcAcpi,
  installPcAcpi,
  type PcAcpiInputs,
  TABLE_LOADER_FILE,
  TABLE_LOADER_FILE_SIZE,
} from './pc-acpi.js';
import { decodeLoaderCommands, formatLoaderCommand } from './table-loader.js';
import { disassemble } from './test-iasl.js';
import { byteSum, type LoadedAcpi, runTableLoader, signatureOf } from './test-loader.js';

const INPUTS: PcAcpiInputs = {
  cpus: 2,
  pmBase: () => 0x600,
  pci32Window: { base: 0x4000_0000, end: 0xfebf_ffff },
};

function u32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}

/** Read the three files through fw_cfg by DMA (select + read, as SeaBIOS's romfile copy does). */
function readThroughFwCfg(fw: FwCfg, g: Guest, order = [TABLE_LOADER_FILE, ACPI_RSDP_FILE, ACPI_TABLES_FILE]): Map<string, Uint8Array> {
  const dir = g.readEntry(FwCfgKey.FILE_DIR, 4 + 64 * fw.files().length, 0x1000, 0x2000);
  const sizes = new Map<string, number>();
  for (let i = 0; i < new DataView(dir.buffer).getUint32(0); i++) {
    const e = dir.subarray(4 + 64 * i, 68 + 64 * i);
    const name = String.fromCharCode(...e.subarray(8, 8 + e.subarray(8).indexOf(0)));
    sizes.set(name, new DataView(e.buffer, e.byteOffset).getUint32(0));
  }
  const out = new Map<string, Uint8Array>();
  for (const name of order) out.set(name, g.readEntry(fw.fileKey(name)!, sizes.get(name)!, 0x1000, 0x10_0000));
  return out;
}

function load(inputs: PcAcpiInputs, pmBase = 0x600): LoadedAcpi {
  const b = buildPcAcpi(inputs, pmBase);
  return runTableLoader(b.files, b.loader);
}

describe('etc/acpi/tables through the loader', () => {
  for (const cpus of [1, 2, 8]) {
    it(`has valid checksums and disassembles cleanly in iasl (${cpus} CPUs)`, () => {
      const acpi = load({ ...INPUTS, cpus, pci64Window: { base: 0x1_0000_0000, size: 0x8_0000_0000 } });
      expect(byteSum(acpi.rsdp.bytes)).toBe(0);
      expect(acpi.rsdp.address % 16).toBe(0);
      expect(acpi.rsdp.address).toBeGreaterThanOrEqual(0xe_0000);
      expect(acpi.rsdp.address + 20).toBeLessThanOrEqual(0x10_0000);
      expect(acpi.entries.map((e) => e.signature)).toEqual(['FACP', 'APIC']);
      expect(acpi.facs.address % 64).toBe(0);
      for (const t of [acpi.rsdt, acpi.fadt, acpi.dsdt, ...acpi.entries.map((e) => e.table)]) {
        expect(byteSum(t.bytes), signatureOf(t.bytes)).toBe(0);
        const { output } = disassemble(t.bytes);
        const dsl = Buffer.from(output).toString('latin1');
        expect(dsl, signatureOf(t.bytes)).not.toMatch(/Incorrect checksum|Invalid|\*\*\*\* (?!32-bit table \(V1\))/);
      }
      expect(signatureOf(acpi.facs.bytes)).toBe('FACS');
      expect(signatureOf(acpi.dsdt.bytes)).toBe('DSDT');
      // The MADT lists the CPUs the loader-patched tables promise.
      const madt = acpi.entries.find((e) => e.signature === 'APIC')!.table.bytes;
      expect(madt.length).toBe(44 + 8 * cpus + 12 + 50 + 6);
    });
  }

  it('gives the same tables whether the checksums are fixed up the SeaBIOS or the OVMF way', () => {
    const b = buildPcAcpi({ ...INPUTS, fadtRevision: 3 }, 0xb000);
    const seabios = runTableLoader(b.files, b.loader, 'seabios');
    const ovmf = runTableLoader(b.files, b.loader, 'ovmf');
    for (const name of [ACPI_TABLES_FILE, ACPI_RSDP_FILE]) expect(ovmf.files.get(name)!.bytes).toEqual(seabios.files.get(name)!.bytes);
    expect(byteSum(ovmf.dsdt.bytes)).toBe(0);
  });

  it('patches FADT.FIRMWARE_CTRL/DSDT and RSDT entries to the allocated addresses', () => {
    const b = buildPcAcpi(INPUTS, 0x600);
    const acpi = runTableLoader(b.files, b.loader);
    const tables = acpi.files.get(ACPI_TABLES_FILE)!;
    const at = (id: string) => tables.address + b.placement.get(id)!.offset;
    expect(u32(acpi.fadt.bytes, 36)).toBe(at('FACS'));
    expect(u32(acpi.fadt.bytes, 40)).toBe(at('DSDT'));
    expect(u32(acpi.rsdt.bytes, 36)).toBe(at('FACP'));
    expect(u32(acpi.rsdt.bytes, 40)).toBe(at('APIC'));
    expect(u32(acpi.rsdp.bytes, 16)).toBe(at('RSDT'));
  });

  it('revision-3 FADT: the 64-bit X_DSDT is patched too', () => {
    const acpi = load({ ...INPUTS, fadtRevision: 3 });
    expect(acpi.fadt.bytes.length).toBe(244);
    expect(Number(new DataView(acpi.fadt.bytes.buffer, acpi.fadt.bytes.byteOffset).getBigUint64(140, true))).toBe(acpi.dsdt.address);
    expect(byteSum(acpi.fadt.bytes)).toBe(0);
  });
});

describe('command stream', () => {
  it('has the structure of QEMU 7.2 pc (docs/platform.md), without its HPET and WAET tables', () => {
    const b = buildPcAcpi(INPUTS, 0x600);
    const dsdtLength = b.placement.get('DSDT')!.length;
    const fadt = 64 + dsdtLength;
    const madt = fadt + 116;
    const rsdt = madt + 128;
    expect(b.placement.get('FACS')).toEqual({ file: ACPI_TABLES_FILE, offset: 0, length: 64 });
    expect(b.placement.get('RSDT')).toEqual({ file: ACPI_TABLES_FILE, offset: rsdt, length: 44 });
    // QEMU's lines, with its DSDT length (6468) replaced by ours and the offsets following from it.
    expect(decodeLoaderCommands(b.loader).map(formatLoaderCommand)).toEqual([
      'ALLOCATE etc/acpi/rsdp align=16 zone=2',
      'ALLOCATE etc/acpi/tables align=64 zone=1',
      `ADD_CHECKSUM etc/acpi/tables off=73 start=64 len=${dsdtLength}`,
      `ADD_POINTER dst=etc/acpi/tables src=etc/acpi/tables off=${fadt + 36} size=4`,
      `ADD_POINTER dst=etc/acpi/tables src=etc/acpi/tables off=${fadt + 40} size=4`,
      `ADD_CHECKSUM etc/acpi/tables off=${fadt + 9} start=${fadt} len=116`,
      `ADD_CHECKSUM etc/acpi/tables off=${madt + 9} start=${madt} len=128`,
      `ADD_POINTER dst=etc/acpi/tables src=etc/acpi/tables off=${rsdt + 36} size=4`,
      `ADD_POINTER dst=etc/acpi/tables src=etc/acpi/tables off=${rsdt + 40} size=4`,
      `ADD_CHECKSUM etc/acpi/tables off=${rsdt + 9} start=${rsdt} len=44`,
      'ADD_POINTER dst=etc/acpi/rsdp src=etc/acpi/tables off=16 size=4',
      'ADD_CHECKSUM etc/acpi/rsdp off=8 start=0 len=20',
    ]);
  });

  it('does not depend on PMBASE, so files built at different times agree', () => {
    const a = buildPcAcpi(INPUTS, 0x600);
    const c = buildPcAcpi(INPUTS, 0xb000);
    expect(c.loader).toEqual(a.loader);
    expect(c.files.get(ACPI_RSDP_FILE)).toEqual(a.files.get(ACPI_RSDP_FILE));
    expect(c.files.get(ACPI_TABLES_FILE)!.length).toBe(a.files.get(ACPI_TABLES_FILE)!.length);
  });
});

describe('installPcAcpi on fw_cfg', () => {
  function setup(inputs: Partial<PcAcpiInputs> = {}) {
    const m = fakeMachine(0x40_0000);
    const fw = new FwCfg(m.services);
    let pmBase: number | null = null;
    const builds: (number | null)[] = [];
    installPcAcpi(fw, { ...INPUTS, pmBase: () => pmBase, onTablesBuilt: (b) => builds.push(b), ...inputs });
    return { m, fw, g: new Guest(fw, m), builds, setPmBase: (v: number | null) => (pmBase = v) };
  }

  const fadtPm = (acpi: LoadedAcpi) => [u32(acpi.fadt.bytes, 56), u32(acpi.fadt.bytes, 64), u32(acpi.fadt.bytes, 76), u32(acpi.fadt.bytes, 80)];

  it('announces the sizes QEMU does: rsdp 20, tables 128 KiB, loader 4 KiB', () => {
    const { fw, g } = setup();
    expect(fw.files()).toEqual([ACPI_RSDP_FILE, ACPI_TABLES_FILE, TABLE_LOADER_FILE]);
    const files = readThroughFwCfg(fw, g);
    expect([...files].map(([n, b]) => [n, b.length])).toEqual([
      [TABLE_LOADER_FILE, TABLE_LOADER_FILE_SIZE],
      [ACPI_RSDP_FILE, 20],
      [ACPI_TABLES_FILE, ACPI_TABLES_FILE_SIZE],
    ]);
  });

  it('builds the FADT with the PMBASE seen at first read (SeaBIOS 0x600), keeps it until reset, then rebuilds (OVMF 0xB000)', () => {
    const { fw, g, builds, setPmBase } = setup();
    setPmBase(0x600);
    const first = readThroughFwCfg(fw, g);
    expect(fadtPm(runTableLoader(first, first.get(TABLE_LOADER_FILE)!))).toEqual([0x600, 0x604, 0x608, 0xafe0]);

    setPmBase(0xb000);
    const cached = readThroughFwCfg(fw, g);
    expect(fadtPm(runTableLoader(cached, cached.get(TABLE_LOADER_FILE)!))).toEqual([0x600, 0x604, 0x608, 0xafe0]);

    fw.reset();
    const rebuilt = readThroughFwCfg(fw, g, [ACPI_TABLES_FILE, ACPI_RSDP_FILE, TABLE_LOADER_FILE]);
    const loaded = runTableLoader(rebuilt, rebuilt.get(TABLE_LOADER_FILE)!);
    expect(fadtPm(loaded)).toEqual([0xb000, 0xb004, 0xb008, 0xafe0]);
    expect(byteSum(loaded.fadt.bytes)).toBe(0);
    expect(builds).toEqual([0x600, 0xb000]);
  });

  it('says PMBASE 0 if the firmware reads the tables before decoding the PM block, as QEMU would', () => {
    const { fw, g, builds } = setup();
    const files = readThroughFwCfg(fw, g);
    expect(fadtPm(runTableLoader(files, files.get(TABLE_LOADER_FILE)!))).toEqual([0, 4, 8, 0xafe0]);
    expect(builds).toEqual([null]);
  });

  it('checks its inputs when installed, not when the guest reads', () => {
    const fw = new FwCfg(fakeMachine().services);
    expect(() => installPcAcpi(fw, { ...INPUTS, cpus: 0 })).toThrow(TypeError);
    expect(() => installPcAcpi(fw, { ...INPUTS, pci32Window: { base: 0, end: 0 } })).toThrow(TypeError);
    expect(() => installPcAcpi(fw, { ...INPUTS, pmBase: 0x600 as unknown as () => number })).toThrow(TypeError);
    expect(fw.files()).toEqual([]);
  });
});
