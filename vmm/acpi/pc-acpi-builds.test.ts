// How often installPcAcpi builds: the DSDT once per machine, the rest once per PMBASE the firmware
// reads the three files under (the builders counted through a module mock; contents are
// pc-acpi.test.ts's job).

import { describe, expect, it, vi } from 'vitest';
import { FwCfg } from '../devices/fwcfg/fwcfg.js';
import { fakeMachine, Guest } from '../devices/fwcfg/test-guest.js';
import { ACPI_RSDP_FILE, ACPI_TABLES_FILE, installPcAcpi, TABLE_LOADER_FILE } from './pc-acpi.js';

const counts = vi.hoisted(() => ({ dsdt: 0, fadt: 0 }));

vi.mock('./dsdt.js', async (original) => {
  const real = await original<typeof import('./dsdt.js')>();
  return { ...real, buildPcDsdt: (...a: Parameters<typeof real.buildPcDsdt>) => (counts.dsdt++, real.buildPcDsdt(...a)) };
});
vi.mock('./tables.js', async (original) => {
  const real = await original<typeof import('./tables.js')>();
  return { ...real, buildFadt: (...a: Parameters<typeof real.buildFadt>) => (counts.fadt++, real.buildFadt(...a)) };
});

describe('installPcAcpi builds', () => {
  it('the DSDT once, and the files once per PMBASE they are read under, across resets', () => {
    const m = fakeMachine(0x40_0000);
    const fw = new FwCfg(m.services);
    const g = new Guest(fw, m);
    let pmBase: number | null = 0x600;
    installPcAcpi(fw, { cpus: 2, pmBase: () => pmBase, pci32Window: { base: 0x4000_0000, end: 0xfebf_ffff } });
    expect(counts).toEqual({ dsdt: 1, fadt: 1 }); // the size check at install
    const readAll = (): void => {
      for (const name of [TABLE_LOADER_FILE, ACPI_RSDP_FILE, ACPI_TABLES_FILE]) g.readEntry(fw.fileKey(name)!, 4, 0x1000, 0x2000);
    };
    readAll();
    expect(counts).toEqual({ dsdt: 1, fadt: 2 });
    fw.reset();
    readAll();
    expect(counts).toEqual({ dsdt: 1, fadt: 2 }); // same PMBASE after the reset: the same build
    fw.reset();
    pmBase = 0xb000;
    readAll();
    expect(counts).toEqual({ dsdt: 1, fadt: 3 });
  });
});
