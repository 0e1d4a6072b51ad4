// The `pc` DSDT: round trip through iasl (disassemble, recompile, same AML), the routing table
// against QEMU's formula, the root bridge windows, the devices a SeaBIOS-style namespace walk finds.

import { describe, expect, it } from 'vitest';
import { buildPcDsdt, cpuDeviceName, type PcDsdtOptions } from './dsdt.js';
import { compileAsl, disassemble } from './test-iasl.js';

const HEADER = 36;
const BASE: PcDsdtOptions = { cpus: 2, sciIrq: 9, pci32Window: { base: 0x2000_0000, end: 0xfebf_ffff } };

function dsl(o: PcDsdtOptions): string {
  const bytes = Uint8Array.from(buildPcDsdt(o).bytes);
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  bytes[9] = (bytes[9]! - sum) & 0xff;
  return Buffer.from(disassemble(bytes).output).toString('latin1');
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('round trip through iasl', () => {
  for (const o of [BASE, { ...BASE, cpus: 8, pci64Window: { base: 0x8_0000_0000, size: 0x8_0000_0000 } }]) {
    it(`disassembles and recompiles to the same AML (${o.cpus} CPUs${o.pci64Window ? ', 64-bit window' : ''})`, () => {
      const ours = buildPcDsdt(o).bytes;
      const source = dsl(o);
      expect(source).toMatch(/DefinitionBlock \("", "DSDT", 1, "BOCHS ", "BXPC {4}", 0x00000001\)/);
      const { output, log } = compileAsl(source);
      expect(log).toMatch(/Compilation successful\. 0 Errors, 1 Warnings/);
      // The one warning is QEMU's too: PCI0 has both _HID and _ADR.
      expect(log).toMatch(/Warning\s+3073 .*\n?.*_HID or _ADR/);
      expect(hex(output.subarray(HEADER))).toBe(hex(ours.subarray(HEADER)));
    });
  }
});

describe('_PRT', () => {
  /** QEMU's build_prt: LNK[D|A|B|C] by (slot + pin) & 3, and slot 1 INTA (the SCI) on LNKS. */
  function qemuLink(slot: number, pin: number): string {
    if (slot === 1 && pin === 0) return 'LNKS';
    return ['LNKD', 'LNKA', 'LNKB', 'LNKC'][(slot + pin) & 3]!;
  }

  function routes(source: string): [number, number, string][] {
    const out: [number, number, string][] = [];
    const re = /Package \(0x04\)\s*\{\s*0x00([0-9A-F]{2})FFFF,\s*(Zero|One|0x0[23]),\s*(LNK[A-DS]),\s*Zero\s*\}/g;
    const pin = (s: string) => (s === 'Zero' ? 0 : s === 'One' ? 1 : Number(s));
    for (const m of source.matchAll(re)) out.push([parseInt(m[1]!, 16), pin(m[2]!), m[3]!]);
    return out;
  }

  it('routes slots 1-31, pins A-D, through the PIIX swizzle, INTA of slot 1 to LNKS', () => {
    const got = routes(dsl(BASE));
    const want: [number, number, string][] = [];
    for (let slot = 1; slot <= 31; slot++) for (let pin = 0; pin < 4; pin++) want.push([slot, pin, qemuLink(slot, pin)]);
    expect(got).toEqual(want);
    expect(got.slice(0, 8)).toEqual([
      [1, 0, 'LNKS'],
      [1, 1, 'LNKB'],
      [1, 2, 'LNKC'],
      [1, 3, 'LNKD'],
      [2, 0, 'LNKB'],
      [2, 1, 'LNKC'],
      [2, 2, 'LNKD'],
      [2, 3, 'LNKA'],
    ]);
  });

  it('lists only the slots asked for', () => {
    expect(routes(dsl({ ...BASE, pciSlots: [3, 2, 3] }))).toEqual([
      [2, 0, 'LNKB'],
      [2, 1, 'LNKC'],
      [2, 2, 'LNKD'],
      [2, 3, 'LNKA'],
      [3, 0, 'LNKC'],
      [3, 1, 'LNKD'],
      [3, 2, 'LNKA'],
      [3, 3, 'LNKB'],
    ]);
    expect(() => buildPcDsdt({ ...BASE, pciSlots: [32] })).toThrow(TypeError);
  });
});

describe('PCI0._CRS', () => {
  const ranges = (source: string) => {
    const crs = source.slice(source.indexOf('Name (_CRS'), source.indexOf('Name (_PRT'));
    const re = /(WordBusNumber|IO|WordIO|DWordMemory|QWordMemory) \([^]*?0x([0-9A-F]+),\s+\/\/ Range Minimum\s+0x([0-9A-F]+),\s+\/\/ Range Maximum/g;
    return [...crs.matchAll(re)].map((m) => `${m[1]} ${m[2]}-${m[3]}`);
  };

  it('declares the bus range, config ports, both I/O windows, VGA and the 32-bit window', () => {
    expect(ranges(dsl(BASE))).toEqual([
      'WordBusNumber 0000-00FF',
      'IO 0CF8-0CF8',
      'WordIO 0000-0CF7',
      'WordIO 0D00-FFFF',
      'DWordMemory 000A0000-000BFFFF',
      'DWordMemory 20000000-FEBFFFFF',
    ]);
  });

  it('adds the 64-bit window when it has a size, and leaves it out for size 0', () => {
    const with64 = ranges(dsl({ ...BASE, pci64Window: { base: 0x1_4000_0000, size: 0x8_0000_0000 } }));
    expect(with64.at(-1)).toBe('QWordMemory 0000000140000000-000000093FFFFFFF');
    expect(ranges(dsl({ ...BASE, pci64Window: { base: 0x1_4000_0000, size: 0 } }))).toHaveLength(6);
  });

  it('rejects windows that overlap VGA, run backwards or sit below 4 GiB', () => {
    expect(() => buildPcDsdt({ ...BASE, pci32Window: { base: 0xb_0000, end: 0xfebf_ffff } })).toThrow(TypeError);
    expect(() => buildPcDsdt({ ...BASE, pci32Window: { base: 0xf000_0000, end: 0xe000_0000 } })).toThrow(TypeError);
    expect(() => buildPcDsdt({ ...BASE, pci32Window: { base: 0xe000_0000, end: 0x1_0000_0000 } })).toThrow(TypeError);
    expect(() => buildPcDsdt({ ...BASE, pci64Window: { base: 0x8000_0000, size: 0x1000 } })).toThrow(TypeError);
  });
});

/**
 * A namespace walk that, like SeaBIOS's dsdt_parser.c, understands only object-level terms (Name,
 * Scope, Device, Method, OperationRegion, Field) and gives up on anything else, recording each
 * device's _HID and _STA. SeaBIOS uses the result to decide whether there is a PS/2 keyboard.
 */
function walk(aml: Uint8Array): Map<string, { hid?: string; sta?: number }> {
  const devices = new Map<string, { hid?: string; sta?: number }>();
  const pkgLength = (at: number): [number, number] => {
    const lead = aml[at]!;
    const extra = lead >> 6;
    if (extra === 0) return [lead & 0x3f, 1];
    let len = lead & 0x0f;
    for (let i = 0; i < extra; i++) len |= aml[at + 1 + i]! << (4 + 8 * i);
    return [len, extra + 1];
  };
  const nameString = (at: number): [string, number] => {
    let s = '';
    let p = at;
    while (aml[p] === 0x5c || aml[p] === 0x5e) s += String.fromCharCode(aml[p++]!);
    let count = 1;
    if (aml[p] === 0x2e) {
      count = 2;
      p++;
    } else if (aml[p] === 0x2f) {
      count = aml[p + 1]!;
      p += 2;
    } else if (aml[p] === 0) {
      return [s, p + 1 - at];
    }
    const segs: string[] = [];
    for (let i = 0; i < count; i++, p += 4) segs.push(String.fromCharCode(...aml.subarray(p, p + 4)).replace(/_+$/, ''));
    return [s + segs.join('.'), p - at];
  };
  const integer = (at: number): [number, number] => {
    const op = aml[at]!;
    const size = op === 0x0a ? 1 : op === 0x0b ? 2 : op === 0x0c ? 4 : 0;
    if (op <= 1) return [op, 1];
    if (size === 0) throw new Error(`integer expected at ${at}, found 0x${op.toString(16)}`);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + aml[at + 1 + i]!;
    return [v, 1 + size];
  };
  const eisa = (v: number) => {
    const be = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
    const letter = (shift: number) => String.fromCharCode(((be >>> shift) & 0x1f) + 0x40);
    return letter(26) + letter(21) + letter(16) + (be & 0xffff).toString(16).toUpperCase().padStart(4, '0');
  };
  const dataObject = (at: number): [number | string, number] => {
    const op = aml[at]!;
    if (op === 0x0d) {
      const end = aml.indexOf(0, at + 1);
      return [String.fromCharCode(...aml.subarray(at + 1, end)), end + 1 - at];
    }
    if (op === 0x11 || op === 0x12) {
      const [len] = pkgLength(at + 1);
      return ['(buffer or package)', 1 + len];
    }
    return integer(at);
  };
  const termList = (at: number, end: number, path: string, device?: { hid?: string; sta?: number }): void => {
    let p = at;
    while (p < end) {
      const op = aml[p]!;
      if (op === 0x08) {
        const [n, nl] = nameString(p + 1);
        const [value, vl] = dataObject(p + 1 + nl);
        if (device && n === '_HID') device.hid = typeof value === 'number' ? eisa(value) : value;
        if (device && n === '_STA' && typeof value === 'number') device.sta = value;
        p += 1 + nl + vl;
      } else if (op === 0x10 || op === 0x14 || (op === 0x5b && aml[p + 1] === 0x82) || (op === 0x5b && aml[p + 1] === 0x81)) {
        const opLen = op === 0x5b ? 2 : 1;
        const [len] = pkgLength(p + opLen);
        const [n, nl] = nameString(p + opLen + pkgLength(p + opLen)[1]);
        const bodyEnd = p + opLen + len;
        const full = n.startsWith('\\') ? n : `${path}.${n}`;
        if (op === 0x10) termList(p + opLen + pkgLength(p + opLen)[1] + nl, bodyEnd, full);
        if (op === 0x5b && aml[p + 1] === 0x82) {
          const dev = {};
          devices.set(full, dev);
          termList(p + opLen + pkgLength(p + opLen)[1] + nl, bodyEnd, full, dev);
        }
        p = bodyEnd;
      } else if (op === 0x5b && aml[p + 1] === 0x80) {
        const [, nl] = nameString(p + 2);
        let q = p + 2 + nl + 1;
        q += integer(q)[1];
        q += integer(q)[1];
        p = q;
      } else {
        throw new Error(`object-level walk: unexpected opcode 0x${op.toString(16)} at ${p} in ${path}`);
      }
    }
  };
  termList(HEADER, aml.length, '');
  return devices;
}

describe('namespace', () => {
  it('is walkable with object-level terms only, and has the devices firmware and Linux look for', () => {
    const devices = walk(buildPcDsdt({ ...BASE, cpus: 3 }).bytes);
    expect(Object.fromEntries(devices)).toEqual({
      '\\_SB.PCI0': { hid: 'PNP0A03' },
      '\\_SB.PCI0.ISA': {},
      '\\_SB.PCI0.ISA.RTC': { hid: 'PNP0B00' },
      '\\_SB.PCI0.ISA.KBD': { hid: 'PNP0303', sta: 0x0f },
      '\\_SB.PCI0.ISA.MOU': { hid: 'PNP0F13', sta: 0x0f },
      '\\_SB.PCI0.ISA.COM1': { hid: 'PNP0501', sta: 0x0f },
      '\\_SB.PCI0.GPE0': { hid: 'PNP0A06', sta: 0x0b },
      '\\_SB.PCI0.FWCF': { hid: 'QEMU0002', sta: 0x0b },
      '\\_SB.LNKA': { hid: 'PNP0C0F' },
      '\\_SB.LNKB': { hid: 'PNP0C0F' },
      '\\_SB.LNKC': { hid: 'PNP0C0F' },
      '\\_SB.LNKD': { hid: 'PNP0C0F' },
      '\\_SB.LNKS': { hid: 'PNP0C0F' },
      '\\_SB.C000': { hid: 'ACPI0007' },
      '\\_SB.C001': { hid: 'ACPI0007' },
      '\\_SB.C002': { hid: 'ACPI0007' },
    });
  });

  it('names one processor device per vCPU with _UID = the MADT processor UID', () => {
    const source = dsl({ ...BASE, cpus: 8 });
    const re = /Device \((C0[0-9A-F]{2})\)\s*\{\s*Name \(_HID, "ACPI0007"[^\n]*\n\s*Name \(_UID, (Zero|One|0x[0-9A-F]+)\)/g;
    const uids = [...source.matchAll(re)].map((m) => [m[1], m[2] === 'Zero' ? 0 : m[2] === 'One' ? 1 : Number(m[2])]);
    expect(uids).toEqual(Array.from({ length: 8 }, (_, i) => [cpuDeviceName(i), i]));
    expect(cpuDeviceName(254)).toBe('C0FE');
  });

  it('declares \\_S5 with SLP_TYP 0 (PmIo soft-off) and no other sleep state', () => {
    const source = dsl(BASE);
    expect(source).toMatch(/Name \(\\_S5, Package \(0x04\)[^{]*\{\s*Zero,\s*Zero,\s*Zero,\s*Zero\s*\}/);
    expect(source).not.toMatch(/_S[1-4]_?[ ,)]/);
  });

  it('gives the link devices IRQs 5, 10, 11 level/high/shared and the SCI link IRQ 9', () => {
    const source = dsl(BASE);
    const re = /Device \((LNK[A-DS])\)[^]*?Interrupt \(ResourceConsumer, Level, ActiveHigh, Shared, ,, \)\s*\{([^}]*)\}/g;
    const prs = [...source.matchAll(re)].map((m) => [m[1], m[2]!.trim().split(/,\s*/).filter(Boolean).map(Number)]);
    expect(prs).toEqual([
      ['LNKA', [5, 10, 11]],
      ['LNKB', [5, 10, 11]],
      ['LNKC', [5, 10, 11]],
      ['LNKD', [5, 10, 11]],
      ['LNKS', [9]],
    ]);
    expect(source).toMatch(/OperationRegion \(P40C, PCI_Config, 0x60, 0x04\)/);
    expect(source).toMatch(/Method \(_SRS, 1, NotSerialized\)[^}]*CreateDWordField \(Arg0, 0x05, PRRI\)\s*PRQ0 = PRRI/);
  });
});
