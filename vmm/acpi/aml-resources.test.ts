// The resource-template encoder against iasl: each case compiles the same ASL with iasl 20200925
// (`iasl -on`, in a temp dir) and compares the bytes after the table header.

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
      res.resourceTemplate(
        res.wordBusNumber(0, 0xff),
        res.io(0xcf8, 0xcf8, 1, 8),
        res.wordIo(0, 0xcf7),
        res.wordIo(0xd00, 0xffff),
        res.dwordMemory(0xa_0000, 0xb_ffff, res.MemCache.Cacheable),
        res.dwordMemory(0x2000_0000, 0xfebf_ffff, res.MemCache.NonCacheable),
        res.qwordMemory(0x1_0000_0000, 0x8_7fff_ffff, res.MemCache.Cacheable),
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
      res.resourceTemplate(
        res.io(0x3f8, 0x3f8, 0, 8),
        res.irqNoFlags(4),
        res.irqNoFlags(12),
        res.interrupt({ consumer: true, level: true, activeHigh: true, shared: true }, 5, 10, 11),
        res.interrupt({ consumer: true, level: false, activeHigh: false, shared: false }, 9),
      ),
    );
    expectSame(asl, ours);
  });

  it('rejects empty and out-of-range windows', () => {
    expect(() => res.wordIo(0x100, 0xff)).toThrow(TypeError);
    expect(() => res.dwordMemory(0, 0x1_0000_0000, 0)).toThrow(TypeError);
    expect(() => res.io(0, 0x1_0000, 1, 1)).toThrow(TypeError);
    expect(() => res.irqNoFlags(16)).toThrow(TypeError);
  });
});
