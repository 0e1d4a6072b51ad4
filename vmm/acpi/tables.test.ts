// FADT, MADT, FACS, RSDT and RSDP field by field (ACPI 6.5 ch. 5 offsets), and each fixed table
// through iasl's disassembler as an independent parser.

import { describe, expect, it } from 'vitest';
import { buildFacs, buildFadt, buildMadt, buildRsdp, buildRsdt, FadtFlag, sdt } from './tables.js';
import { disassemble } from './test-iasl.js';

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

/** Fill in the checksum so iasl does not complain (the loader does this in the guest). */
function checksummed(bytes: Uint8Array, at = 9): Uint8Array {
  const out = Uint8Array.from(bytes);
  let sum = 0;
  for (const b of out) sum = (sum + b) & 0xff;
  out[at] = (out[at]! - sum) & 0xff;
  return out;
}

function expectCleanDisassembly(bytes: Uint8Array): string {
  const dsl = Buffer.from(disassemble(checksummed(bytes)).output).toString('latin1');
  expect(dsl).not.toMatch(/Incorrect checksum|\*\*\*\* |Invalid|Unknown/);
  return dsl;
}

describe('header', () => {
  it('carries QEMU-compatible ids, length and a zero checksum for the loader to fill', () => {
    const { bytes } = sdt('TEST', 2, 4);
    expect(ascii(bytes, 0, 4)).toBe('TEST');
    expect(view(bytes).getUint32(4, true)).toBe(40);
    expect(bytes[8]).toBe(2);
    expect(bytes[9]).toBe(0);
    expect(ascii(bytes, 10, 6)).toBe('BOCHS ');
    expect(ascii(bytes, 16, 8)).toBe('BXPC    ');
    expect(view(bytes).getUint32(24, true)).toBe(1);
    expect(ascii(bytes, 28, 4)).toBe('BXPC');
    expect(view(bytes).getUint32(32, true)).toBe(1);
  });
});

describe('FADT', () => {
  it('revision 1 is 116 bytes with the PM blocks at PMBASE, GPE0 at 0xAFE0, SCI 9, no SMM', () => {
    const t = buildFadt({ pmBase: 0x600, sciIrq: 9, cpus: 2 });
    const b = t.bytes;
    const v = view(b);
    expect(b.length).toBe(116);
    expect(ascii(b, 0, 4)).toBe('FACP');
    expect(b[8]).toBe(1);
    expect(b[44]).toBe(1); // INT_MODEL: multiple APIC
    expect(v.getUint16(46, true)).toBe(9);
    expect([v.getUint32(48, true), b[52], b[53], b[54]]).toEqual([0, 0, 0, 0]); // SMI_CMD, ACPI_ENABLE/DISABLE, S4BIOS_REQ
    expect(v.getUint32(56, true)).toBe(0x600); // PM1a_EVT_BLK
    expect(v.getUint32(60, true)).toBe(0);
    expect(v.getUint32(64, true)).toBe(0x604); // PM1a_CNT_BLK
    expect(v.getUint32(68, true)).toBe(0);
    expect(v.getUint32(72, true)).toBe(0); // PM2_CNT_BLK
    expect(v.getUint32(76, true)).toBe(0x608); // PM_TMR_BLK
    expect(v.getUint32(80, true)).toBe(0xafe0); // GPE0_BLK
    expect(v.getUint32(84, true)).toBe(0);
    expect([...b.subarray(88, 96)]).toEqual([4, 2, 0, 4, 4, 0, 0, 0]);
    expect([v.getUint16(96, true), v.getUint16(98, true)]).toEqual([0xfff, 0xfff]);
    expect(b[108]).toBe(0x32); // CENTURY
    expect(v.getUint16(109, true)).toBe(0); // IAPC_BOOT_ARCH is reserved in ACPI 1.0
    expect(v.getUint32(112, true)).toBe(0x80a5);
    expect(v.getUint32(112, true) & FadtFlag.TMR_VAL_EXT).toBe(0);
    expect(v.getUint32(112, true) & FadtFlag.RESET_REG_SUP).toBe(0);
    expect(t.pointers).toEqual([
      { at: 36, size: 4, to: 'FACS' },
      { at: 40, size: 4, to: 'DSDT' },
    ]);
    expect(t.checksumAt).toBe(9);
    const dsl = expectCleanDisassembly(b);
    expect(dsl).toMatch(/PM Timer Block Address : 00000608/);
  });

  it('forces the APIC cluster model above 8 CPUs, as QEMU', () => {
    const flags = (cpus: number) => view(buildFadt({ pmBase: 0xb000, sciIrq: 9, cpus }).bytes).getUint32(112, true);
    expect(flags(8) & FadtFlag.FORCE_APIC_CLUSTER_MODEL).toBe(0);
    expect(flags(9) & FadtFlag.FORCE_APIC_CLUSTER_MODEL).toBe(FadtFlag.FORCE_APIC_CLUSTER_MODEL);
  });

  it('revision 3 adds RESET_REG 0xCF9 <- 6, the 8042 boot flag, X_ blocks and an 8-byte X_DSDT pointer', () => {
    const t = buildFadt({ revision: 3, pmBase: 0xb000, sciIrq: 9, cpus: 1 });
    const b = t.bytes;
    const v = view(b);
    expect(b.length).toBe(244);
    expect(b[8]).toBe(3);
    expect(v.getUint16(109, true)).toBe(2);
    expect(v.getUint32(112, true)).toBe(0x80a5 | FadtFlag.RESET_REG_SUP);
    // RESET_REG: System I/O, 8 bits, offset 0, byte access, 0xCF9; RESET_VALUE 6.
    expect([...b.subarray(116, 120)]).toEqual([1, 8, 0, 1]);
    expect(v.getBigUint64(120, true)).toBe(0xcf9n);
    expect(b[128]).toBe(6);
    expect(v.getBigUint64(132, true)).toBe(0n); // X_FIRMWARE_CTRL
    const gasAt = (at: number) => [b[at], b[at + 1], Number(v.getBigUint64(at + 4, true))];
    expect(gasAt(148)).toEqual([1, 32, 0xb000]); // X_PM1a_EVT_BLK
    expect(gasAt(172)).toEqual([1, 16, 0xb004]); // X_PM1a_CNT_BLK
    expect(gasAt(208)).toEqual([1, 32, 0xb008]); // X_PM_TMR_BLK
    expect(gasAt(220)).toEqual([1, 32, 0xafe0]); // X_GPE0_BLK
    expect([gasAt(160), gasAt(184), gasAt(196), gasAt(232)]).toEqual([
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(t.pointers).toContainEqual({ at: 140, size: 8, to: 'DSDT' });
    const dsl = expectCleanDisassembly(b);
    expect(dsl).toMatch(/Reset Register Supported \(V2\) : 1/);
  });

  it('rejects a PMBASE the PIIX4 could not decode', () => {
    expect(() => buildFadt({ pmBase: 0x601, sciIrq: 9, cpus: 1 })).toThrow(TypeError);
    expect(() => buildFadt({ pmBase: 0x10000, sciIrq: 9, cpus: 1 })).toThrow(TypeError);
  });
});

/**
 * QEMU 7.2's own tables, recorded once: Debian's qemu-system-x86_64 7.2 (`-machine pc -accel tcg
 * -cpu max -smp 2 -m 512`, Debian SeaBIOS 1.16.2, Debian 6.1 cloud kernel), read by the guest from
 * /sys/firmware/acpi/tables/{FACP,APIC} with hexdump. SeaBIOS had moved PMBASE to 0x600.
 */
const QEMU_PC_SMP2_FACP = fromHex(`
  46 41 43 50 74 00 00 00 01 c1 42 4f 43 48 53 20 42 58 50 43 20 20 20 20 01 00 00 00 42 58 50 43
  01 00 00 00 00 00 fe 1f 40 00 fe 1f 01 00 09 00 b2 00 00 00 f1 f0 00 00 00 06 00 00 00 00 00 00
  04 06 00 00 00 00 00 00 00 00 00 00 08 06 00 00 e0 af 00 00 00 00 00 00 04 02 00 04 04 00 00 00
  ff 0f ff 0f 00 00 00 00 00 00 00 00 32 00 00 00 a5 80 00 00`);
const QEMU_PC_SMP2_APIC = fromHex(`
  41 50 49 43 80 00 00 00 01 77 42 4f 43 48 53 20 42 58 50 43 20 20 20 20 01 00 00 00 42 58 50 43
  01 00 00 00 00 00 e0 fe 01 00 00 00 00 08 00 00 01 00 00 00 00 08 01 01 01 00 00 00 01 0c 00 00
  00 00 c0 fe 00 00 00 00 02 0a 00 00 02 00 00 00 00 00 02 0a 00 05 05 00 00 00 0d 00 02 0a 00 09
  09 00 00 00 0d 00 02 0a 00 0a 0a 00 00 00 0d 00 02 0a 00 0b 0b 00 00 00 0d 00 04 06 ff 00 00 01`);

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.trim().split(/\s+/), (h) => parseInt(h, 16));
}

describe('against QEMU 7.2 pc', () => {
  it('MADT for 2 CPUs is byte-identical once checksummed', () => {
    expect([...checksummed(buildMadt({ cpus: 2, levelIrqs: [5, 9, 10, 11] }).bytes)]).toEqual([...QEMU_PC_SMP2_APIC]);
  });

  it('FADT matches but for the loader-patched pointers and checksum and the SMM fields (QEMU TCG had SMM)', () => {
    const mask = (b: Uint8Array) => {
      const out = Uint8Array.from(b);
      out.fill(0, 36, 44); // FIRMWARE_CTRL, DSDT
      out.fill(0, 48, 54); // SMI_CMD 0xB2, ACPI_ENABLE 0xF1, ACPI_DISABLE 0xF0 with SMM; 0 without
      out[9] = 0;
      return [...out];
    };
    expect(mask(buildFadt({ pmBase: 0x600, sciIrq: 9, cpus: 2 }).bytes)).toEqual(mask(QEMU_PC_SMP2_FACP));
  });
});

describe('MADT', () => {
  for (const n of [1, 2, 8]) {
    it(`lists exactly ${n} enabled local APIC(s) with IDs 0..${n - 1}, the IOAPIC, the overrides and LINT1 NMI`, () => {
      const b = buildMadt({ cpus: n, levelIrqs: [5, 9, 10, 11] }).bytes;
      const v = view(b);
      expect(ascii(b, 0, 4)).toBe('APIC');
      expect(b.length).toBe(44 + 8 * n + 12 + 5 * 10 + 6);
      expect(v.getUint32(4, true)).toBe(b.length);
      expect(v.getUint32(36, true)).toBe(0xfee0_0000);
      expect(v.getUint32(40, true)).toBe(1); // PCAT_COMPAT
      const subtables: number[][] = [];
      for (let at = 44; at < b.length; at += b[at + 1]!) subtables.push([...b.subarray(at, at + b[at + 1]!)]);
      const lapics = subtables.filter((s) => s[0] === 0);
      expect(lapics).toEqual(Array.from({ length: n }, (_, i) => [0, 8, i, i, 1, 0, 0, 0]));
      expect(subtables.filter((s) => s[0] === 1)).toEqual([[1, 12, 0, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0]]);
      expect(subtables.filter((s) => s[0] === 2)).toEqual([
        [2, 10, 0, 0, 2, 0, 0, 0, 0x00, 0],
        [2, 10, 0, 5, 5, 0, 0, 0, 0x0d, 0],
        [2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0],
        [2, 10, 0, 10, 10, 0, 0, 0, 0x0d, 0],
        [2, 10, 0, 11, 11, 0, 0, 0, 0x0d, 0],
      ]);
      expect(subtables.filter((s) => s[0] === 4)).toEqual([[4, 6, 0xff, 0, 0, 1]]);
      expect(subtables.length).toBe(n + 1 + 5 + 1);
      const dsl = expectCleanDisassembly(b);
      expect(dsl.match(/\[Processor Local APIC\]/g)).toHaveLength(n);
    });
  }

  it('is 128 bytes for 2 CPUs, as QEMU 7.2 pc builds it (docs/platform.md)', () => {
    expect(buildMadt({ cpus: 2, levelIrqs: [5, 9, 10, 11] }).bytes.length).toBe(128);
  });

  it('rejects CPU counts that need x2APIC structures and IRQ 2 as a level override', () => {
    expect(() => buildMadt({ cpus: 0, levelIrqs: [] })).toThrow(TypeError);
    expect(() => buildMadt({ cpus: 256, levelIrqs: [] })).toThrow(TypeError);
    expect(() => buildMadt({ cpus: 1, levelIrqs: [2] })).toThrow(TypeError);
  });
});

describe('FACS, RSDT, RSDP', () => {
  it('FACS is 64 bytes, 64-aligned, without a checksum', () => {
    const t = buildFacs();
    expect(t.bytes.length).toBe(64);
    expect(ascii(t.bytes, 0, 4)).toBe('FACS');
    expect(view(t.bytes).getUint32(4, true)).toBe(64);
    expect(t.bytes.subarray(8).every((b) => b === 0)).toBe(true);
    expect(t.align).toBe(64);
    expect(t.checksumAt).toBeUndefined();
    expect(Buffer.from(disassemble(t.bytes).output).toString('latin1')).toMatch(/Signature : "FACS"/);
  });

  it('RSDT has one 32-bit pointer per entry', () => {
    const t = buildRsdt(['FACP', 'APIC']);
    expect(t.bytes.length).toBe(44);
    expect(ascii(t.bytes, 0, 4)).toBe('RSDT');
    expect(t.bytes[8]).toBe(1);
    expect(t.pointers).toEqual([
      { at: 36, size: 4, to: 'FACP' },
      { at: 40, size: 4, to: 'APIC' },
    ]);
    expectCleanDisassembly(t.bytes);
  });

  it('RSDP is ACPI 1.0 (revision 0, 20 bytes) with its checksum at 8 and the RSDT pointer at 16', () => {
    const t = buildRsdp();
    expect(t.bytes.length).toBe(20);
    expect(ascii(t.bytes, 0, 8)).toBe('RSD PTR ');
    expect(ascii(t.bytes, 9, 6)).toBe('BOCHS ');
    expect(t.bytes[15]).toBe(0);
    expect(t.checksumAt).toBe(8);
    expect(t.pointers).toEqual([{ at: 16, size: 4, to: 'RSDT' }]);
  });
});
