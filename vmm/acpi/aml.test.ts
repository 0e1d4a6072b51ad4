// The AML term encoder (aml.ts) against iasl: each case compiles the same ASL with iasl 20200925
// (`iasl -on`, in a temp dir) and compares the table body (after the 36-byte header) byte for byte.

import { describe, expect, it } from 'vitest';
import * as aml from './aml.js';
import * as res from './aml-resources.js';
import { iaslTermBytes } from './test-iasl.js';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function expectSame(asl: string, ours: Uint8Array): void {
  expect(hex(ours)).toBe(hex(iaslTermBytes(asl)));
}

describe('integers', () => {
  const cases: [number | bigint, string][] = [
    [0, 'Zero'],
    [1, 'One'],
    [2, '0x02'],
    [0xff, '0xFF'],
    [0x100, '0x0100'],
    [0xffff, '0xFFFF'],
    [0x1_0000, '0x00010000'],
    [0xffff_ffff, '0xFFFFFFFF'],
    [0x1_0000_0000, '0x0000000100000000'],
    [0xffff_ffff_ffff_ffffn, '0xFFFFFFFFFFFFFFFF'],
  ];
  for (const [value, asl] of cases) {
    it(`encodes ${asl} as iasl does`, () => {
      expectSame(`Name (XINT, ${asl})`, aml.name('XINT', aml.int(value)));
    });
  }
  it('rejects negative, fractional and too-large values', () => {
    expect(() => aml.int(-1)).toThrow(TypeError);
    expect(() => aml.int(1.5)).toThrow(TypeError);
    expect(() => aml.int(1n << 64n)).toThrow(TypeError);
  });
});

describe('names, strings, packages, buffers', () => {
  it('pads short segments, encodes root, parent, dual and multi name paths', () => {
    expectSame(
      `Device (C) {}
Device (E) { Device (F) {} }
Device (I) { Device (J) { Device (K) {} } }
Name (\\A, Zero)
Device (P) { Device (QQ) { Name (^^B, Zero) } }
Name (\\C.D, Zero)
Name (E.F.GH, Zero)
Name (\\I.J.K.L, Zero)`,
      aml.concat(
        aml.device('C'),
        aml.device('E', aml.device('F')),
        aml.device('I', aml.device('J', aml.device('K'))),
        aml.name('\\A', aml.int(0)),
        aml.device('P', aml.device('QQ', aml.name('^^B', aml.int(0)))),
        aml.name('\\C.D', aml.int(0)),
        aml.name('E.F.GH', aml.int(0)),
        aml.name('\\I.J.K.L', aml.int(0)),
      ),
    );
  });

  it('rejects names that are not AML name segments', () => {
    expect(() => aml.nameString('abc')).toThrow(TypeError);
    expect(() => aml.nameString('TOOLONG')).toThrow(TypeError);
    expect(() => aml.nameString('1ABC')).toThrow(TypeError);
    expect(() => aml.nameString('')).toThrow(TypeError);
  });

  it('encodes strings, EISAIDs and buffers', () => {
    expectSame(
      'Name (XSTR, "GPE0 resources")\nName (_HID, EisaId ("PNP0A03"))\nName (XHID, EisaId ("PNP0C0F"))\nName (XBUF, Buffer () {1, 2, 3})',
      aml.concat(
        aml.name('XSTR', aml.str('GPE0 resources')),
        aml.name('_HID', aml.eisaId('PNP0A03')),
        aml.name('XHID', aml.eisaId('PNP0C0F')),
        aml.name('XBUF', aml.buffer([1, 2, 3])),
      ),
    );
  });

  it('encodes packages of integers and name references', () => {
    expectSame(
      'Device (LNKB) {}\nName (\\_S5, Package (0x04) {Zero, Zero, Zero, Zero})\nName (XPRT, Package () { Package () {0x0002FFFF, One, LNKB, Zero} })',
      aml.concat(
        aml.device('LNKB'),
        aml.name('\\_S5', aml.pkg(aml.int(0), aml.int(0), aml.int(0), aml.int(0))),
        aml.name('XPRT', aml.pkg(aml.pkg(aml.int(0x2ffff), aml.int(1), aml.ref('LNKB'), aml.int(0)))),
      ),
    );
  });

  it('uses a 2- and 3-byte PkgLength once the package outgrows 63 and 4095 bytes', () => {
    const big = (n: number) => Array.from({ length: n }, (_, i) => i & 0xff);
    for (const n of [59, 60, 61, 4000, 4090, 4094, 5000]) {
      const list = big(n).join(', ');
      expectSame(`Name (XBUF, Buffer () {${list}})`, aml.name('XBUF', aml.buffer(big(n))));
    }
  });
});

describe('scopes, devices, methods and the operators the DSDT uses', () => {
  it('encodes a device with a serialized method, If/Else, Store, And, Or, LLess, LEqual, CreateDWordField', () => {
    const asl = `Scope (\\_SB) {
  Device (LNKA) {
    Name (_HID, EisaId ("PNP0C0F"))
    Name (_UID, Zero)
    Method (IQST, 1, NotSerialized) {
      If ((0x80 & Arg0)) { Return (0x09) }
      Return (0x0B)
    }
    Method (IQCR, 1, Serialized) {
      Name (PRR0, ResourceTemplate () { Interrupt (ResourceConsumer, Level, ActiveHigh, Shared, ,, ) {0} })
      CreateDWordField (PRR0, 0x05, PRRI)
      Local0 = 0x0B
      If ((Arg0 < 0x80)) { PRRI = Arg0 } Else { PRRI = Local0 }
      Return (PRR0)
    }
    Method (_DIS, 0, NotSerialized) { Local1 = Zero
      Local1 |= 0x80 }
    Method (_SRS, 1, NotSerialized) {
      CreateDWordField (Arg0, 0x05, PRRJ)
      If ((PRRJ == 0x0A)) { Local2 = PRRJ }
      Return (Local2)
    }
  }
}`;
    const ours = aml.scope(
      '\\_SB',
      aml.device(
        'LNKA',
        aml.name('_HID', aml.eisaId('PNP0C0F')),
        aml.name('_UID', aml.int(0)),
        aml.method('IQST', 1, false, aml.ifOp(aml.and(aml.int(0x80), aml.arg(0)), aml.returnOp(aml.int(9))), aml.returnOp(aml.int(0x0b))),
        aml.method(
          'IQCR',
          1,
          true,
          aml.name('PRR0', res.resourceTemplate(res.interrupt({ consumer: true, level: true, activeHigh: true, shared: true }, 0))),
          aml.createDWordField(aml.ref('PRR0'), aml.int(5), 'PRRI'),
          aml.store(aml.int(0x0b), aml.local(0)),
          aml.ifOp(aml.lLess(aml.arg(0), aml.int(0x80)), aml.store(aml.arg(0), aml.ref('PRRI'))),
          aml.elseOp(aml.store(aml.local(0), aml.ref('PRRI'))),
          aml.returnOp(aml.ref('PRR0')),
        ),
        aml.method('_DIS', 0, false, aml.store(aml.int(0), aml.local(1)), aml.or(aml.local(1), aml.int(0x80), aml.local(1))),
        aml.method(
          '_SRS',
          1,
          false,
          aml.createDWordField(aml.arg(0), aml.int(5), 'PRRJ'),
          aml.ifOp(aml.lEqual(aml.ref('PRRJ'), aml.int(0x0a)), aml.store(aml.ref('PRRJ'), aml.local(2))),
          aml.returnOp(aml.local(2)),
        ),
      ),
    );
    expectSame(asl, ours);
  });

  it('encodes a PCI config operation region and a byte field with a reserved gap', () => {
    const asl = `Device (ISA) {
  Name (_ADR, 0x00010000)
  OperationRegion (P40C, PCI_Config, 0x60, 0x04)
}
Field (ISA.P40C, ByteAcc, NoLock, Preserve) { PRQ0, 8, PRQ1, 8, , 8, PRQ3, 8 }
OperationRegion (BIGR, SystemIO, 0xAFE0, 0x10)
Field (BIGR, DWordAcc, Lock, WriteAsZeros) { WIDE, 100 }`;
    const ours = aml.concat(
      aml.device('ISA', aml.name('_ADR', aml.int(0x10000)), aml.operationRegion('P40C', aml.RegionSpace.PciConfig, 0x60, 4)),
      aml.field('ISA.P40C', { access: aml.FieldAccess.Byte, lock: false, update: aml.FieldUpdate.Preserve }, [
        { name: 'PRQ0', bits: 8 },
        { name: 'PRQ1', bits: 8 },
        { bits: 8 },
        { name: 'PRQ3', bits: 8 },
      ]),
      aml.operationRegion('BIGR', aml.RegionSpace.SystemIO, 0xafe0, 0x10),
      aml.field('BIGR', { access: aml.FieldAccess.DWord, lock: true, update: aml.FieldUpdate.WriteAsZeros }, [{ name: 'WIDE', bits: 100 }]),
    );
    expectSame(asl, ours);
  });
});
