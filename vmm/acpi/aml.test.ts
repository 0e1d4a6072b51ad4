// The AML encoder against iasl: each case compiles the same ASL with iasl 20200925
// (`iasl -on`, in a temp dir) and compares the table body (after the 36-byte header) byte for byte.

import { describe, expect, it } from 'vitest';
import * as aml from './aml.js';
import { compileAsl } from './test-iasl.js';

const HEADER = 36;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Compile `body` inside a revision-2 (64-bit integer) definition block and return the AML after the header. */
function iaslBody(body: string): Uint8Array {
  const { output, log } = compileAsl(`DefinitionBlock ("", "SSDT", 2, "BOCHS ", "BXPC    ", 1)\n{\n${body}\n}\n`);
  expect(log).toMatch(/Compilation successful\. 0 Errors/);
  return output.subarray(HEADER);
}

function expectSame(asl: string, ours: Uint8Array): void {
  expect(hex(ours)).toBe(hex(iaslBody(asl)));
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
          aml.name('PRR0', aml.resourceTemplate(aml.interrupt({ consumer: true, level: true, activeHigh: true, shared: true }, 0))),
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

describe('resource templates', () => {
  it('encodes the PCI root bridge descriptors', () => {
    const asl = `Name (_CRS, ResourceTemplate () {
  WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0x0000, 0x0000, 0x00FF, 0x0000, 0x0100,,,)
  IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08,)
  WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8,,,, TypeStatic, DenseTranslation)
  WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300,,,, TypeStatic, DenseTranslation)
  DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite, 0x00000000, 0x000A0000, 0x000BFFFF, 0x00000000, 0x00020000,,,, AddressRangeMemory, TypeStatic)
  DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0x00000000, 0x20000000, 0xFEBFFFFF, 0x00000000, 0xDEC00000,,,, AddressRangeMemory, TypeStatic)
  QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite, 0x0000000000000000, 0x0000000100000000, 0x000000087FFFFFFF, 0x0000000000000000, 0x0000000780000000,,,, AddressRangeMemory, TypeStatic)
})`;
    const ours = aml.name(
      '_CRS',
      aml.resourceTemplate(
        aml.wordBusNumber(0, 0xff),
        aml.io(0xcf8, 0xcf8, 1, 8),
        aml.wordIo(0, 0xcf7),
        aml.wordIo(0xd00, 0xffff),
        aml.dwordMemory(0xa_0000, 0xb_ffff, aml.MemCache.Cacheable),
        aml.dwordMemory(0x2000_0000, 0xfebf_ffff, aml.MemCache.NonCacheable),
        aml.qwordMemory(0x1_0000_0000, 0x8_7fff_ffff, aml.MemCache.Cacheable),
      ),
    );
    expectSame(asl, ours);
  });

  it('encodes ISA device descriptors and extended interrupts', () => {
    const asl = `Name (XCRS, ResourceTemplate () {
  IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08,)
  IRQNoFlags () {4}
  IRQNoFlags () {12}
  Interrupt (ResourceConsumer, Level, ActiveHigh, Shared, ,, ) {5, 10, 11}
  Interrupt (ResourceConsumer, Edge, ActiveLow, Exclusive, ,, ) {9}
})`;
    const ours = aml.name(
      'XCRS',
      aml.resourceTemplate(
        aml.io(0x3f8, 0x3f8, 0, 8),
        aml.irqNoFlags(4),
        aml.irqNoFlags(12),
        aml.interrupt({ consumer: true, level: true, activeHigh: true, shared: true }, 5, 10, 11),
        aml.interrupt({ consumer: true, level: false, activeHigh: false, shared: false }, 9),
      ),
    );
    expectSame(asl, ours);
  });

  it('rejects empty and out-of-range windows', () => {
    expect(() => aml.wordIo(0x100, 0xff)).toThrow(TypeError);
    expect(() => aml.dwordMemory(0, 0x1_0000_0000, 0)).toThrow(TypeError);
    expect(() => aml.io(0, 0x1_0000, 1, 1)).toThrow(TypeError);
    expect(() => aml.irqNoFlags(16)).toThrow(TypeError);
  });
});
