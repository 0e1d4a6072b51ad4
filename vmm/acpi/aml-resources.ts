// AML resource templates (ACPI 6.5 §6.4 resource data types): the descriptors the `pc` DSDT's _CRS
// and _PRS methods need, each builder returning the bytes iasl produces for the same ASL
// (byte-checked against iasl 20200925 in aml-resources.test.ts). A template is an AML Buffer
// (aml.ts) of descriptors ending with the End Tag.
// Covered: IO (Decode16), IRQNoFlags, Interrupt (extended), WordBusNumber, WordIO, DWordMemory and
// QWordMemory, all address-space descriptors as fixed-range producers with no translation.
// Left out: FixedIO, Memory24/32, Memory32Fixed, DMA, vendor-defined and GPIO/serial-bus descriptors,
// resource source fields. A bad argument throws a TypeError naming it.

import { type Aml, buffer, concat, leBytes, toU64 } from './aml.js';

const END_TAG = [0x79, 0x00];
const IO_DESCRIPTOR = 0x47;
const IRQ_NO_FLAGS = 0x22;
const EXTENDED_INTERRUPT = 0x89;
const WORD_ADDRESS_SPACE = 0x88;
const DWORD_ADDRESS_SPACE = 0x87;
const QWORD_ADDRESS_SPACE = 0x8a;
const RESOURCE_MEMORY = 0;
const RESOURCE_IO = 1;
const RESOURCE_BUS = 2;
/** General flags of an address-space descriptor: MinFixed | MaxFixed, positive decode, producer. */
const ADDRESS_FLAGS_FIXED_PRODUCER = 0x0c;
/** WordIO type-specific flags: EntireRange, TypeStatic, DenseTranslation. */
const IO_ENTIRE_RANGE = 0x03;
/** Memory type-specific flags: ReadWrite, and the cacheability in bits 2:1. */
const MEM_READ_WRITE = 0x01;
export const MemCache = { NonCacheable: 0, Cacheable: 1, WriteCombining: 2, Prefetchable: 3 } as const;

/** ResourceTemplate () { descriptors }: a buffer ending with the End Tag (checksum 0, as iasl emits). */
export function resourceTemplate(...descriptors: Uint8Array[]): Aml {
  return buffer(concat(...descriptors, END_TAG));
}

function checkRange(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new TypeError(`${what}: ${value} is not an integer 0-0x${max.toString(16)}`);
}

/** IO (Decode16, min, max, alignment, length). */
export function io(min: number, max: number, alignment: number, length: number): Uint8Array {
  checkRange('IO min', min, 0xffff);
  checkRange('IO max', max, 0xffff);
  checkRange('IO alignment', alignment, 0xff);
  checkRange('IO length', length, 0xff);
  return Uint8Array.of(IO_DESCRIPTOR, 0x01, min & 0xff, min >> 8, max & 0xff, max >> 8, alignment, length);
}

/** IRQNoFlags () { irqs } (ISA IRQs 0-15; edge, active high, exclusive). */
export function irqNoFlags(...irqs: number[]): Uint8Array {
  let mask = 0;
  for (const irq of irqs) {
    checkRange('IRQNoFlags irq', irq, 15);
    mask |= 1 << irq;
  }
  return Uint8Array.of(IRQ_NO_FLAGS, mask & 0xff, mask >> 8);
}

export interface InterruptOptions {
  consumer: boolean;
  level: boolean;
  activeHigh: boolean;
  shared: boolean;
}

/** Interrupt (ResourceConsumer|Producer, Level|Edge, ActiveHigh|Low, Shared|Exclusive) { irqs }. */
export function interrupt(options: InterruptOptions, ...irqs: number[]): Uint8Array {
  if (irqs.length < 1 || irqs.length > 255) throw new TypeError(`Interrupt: ${irqs.length} interrupts (1-255)`);
  const flags = (options.consumer ? 0x01 : 0) | (options.level ? 0 : 0x02) | (options.activeHigh ? 0 : 0x04) | (options.shared ? 0x08 : 0);
  const len = 2 + 4 * irqs.length;
  const out = [EXTENDED_INTERRUPT, len & 0xff, len >> 8, flags, irqs.length];
  for (const irq of irqs) {
    checkRange('Interrupt number', irq, 0xffff_ffff);
    out.push(...leBytes(BigInt(irq), 4));
  }
  return Uint8Array.from(out);
}

function addressSpace(tag: number, width: number, type: number, typeFlags: number, min: bigint, max: bigint, what: string): Uint8Array {
  const limit = (1n << BigInt(8 * width)) - 1n;
  if (min > max || max > limit) {
    throw new TypeError(`${what}: range 0x${min.toString(16)}-0x${max.toString(16)} is empty or wider than ${width * 8} bits`);
  }
  const len = 3 + 5 * width;
  return Uint8Array.from([
    tag,
    len & 0xff,
    len >> 8,
    type,
    ADDRESS_FLAGS_FIXED_PRODUCER,
    typeFlags,
    ...leBytes(0n, width), // granularity
    ...leBytes(min, width),
    ...leBytes(max, width),
    ...leBytes(0n, width), // translation offset
    ...leBytes(max - min + 1n, width),
  ]);
}

/** WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, max - min + 1). */
export function wordBusNumber(min: number, max: number): Uint8Array {
  return addressSpace(WORD_ADDRESS_SPACE, 2, RESOURCE_BUS, 0, toU64(min, 'WordBusNumber min'), toU64(max, 'WordBusNumber max'), 'WordBusNumber');
}

/** WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, length). */
export function wordIo(min: number, max: number): Uint8Array {
  return addressSpace(WORD_ADDRESS_SPACE, 2, RESOURCE_IO, IO_ENTIRE_RANGE, toU64(min, 'WordIO min'), toU64(max, 'WordIO max'), 'WordIO');
}

/** DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, cache, ReadWrite, 0, min, max, 0, length). */
export function dwordMemory(min: number, max: number, cache: number): Uint8Array {
  const flags = MEM_READ_WRITE | ((cache & 3) << 1);
  return addressSpace(DWORD_ADDRESS_SPACE, 4, RESOURCE_MEMORY, flags, toU64(min, 'DWordMemory min'), toU64(max, 'DWordMemory max'), 'DWordMemory');
}

/** QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, cache, ReadWrite, 0, min, max, 0, length). */
export function qwordMemory(min: number | bigint, max: number | bigint, cache: number): Uint8Array {
  const flags = MEM_READ_WRITE | ((cache & 3) << 1);
  return addressSpace(QWORD_ADDRESS_SPACE, 8, RESOURCE_MEMORY, flags, toU64(min, 'QWordMemory min'), toU64(max, 'QWordMemory max'), 'QWordMemory');
}
