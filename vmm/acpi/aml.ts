// A small AML (ACPI Machine Language) encoder for terms: the subset the `pc` DSDT needs, each
// builder returning the bytes iasl produces for the same ASL. Follows ACPI 6.5 §20.2 (AML grammar);
// byte-checked against iasl 20200925 in aml.test.ts. Resource templates are aml-resources.ts.
// Covered: name strings (root/parent prefixes, dual and multi name paths), integers with the
// shortest encoding (Zero/One/Ones/Byte/Word/DWord/QWord, as iasl's integer optimisation picks),
// strings, buffers, packages, EISAID, Name, Scope, Device, Method, Return, If/Else, Store, And,
// Or, LEqual, LLess, CreateDWordField, OperationRegion, Field, ArgN/LocalN.
// Left out: everything else (While, Notify, Mutex, Processor, ToUUID, VarPackage for more than
// 255 elements, ...). Builders return plain byte arrays so terms can be nested freely; a bad
// argument throws a TypeError naming it (host misconfiguration, not guest input).

export type Aml = Uint8Array;

const ZERO_OP = 0x00;
const ONE_OP = 0x01;
const NULL_NAME = 0x00;
const NAME_OP = 0x08;
const BYTE_PREFIX = 0x0a;
const WORD_PREFIX = 0x0b;
const DWORD_PREFIX = 0x0c;
const STRING_PREFIX = 0x0d;
const QWORD_PREFIX = 0x0e;
const SCOPE_OP = 0x10;
const BUFFER_OP = 0x11;
const PACKAGE_OP = 0x12;
const METHOD_OP = 0x14;
const DUAL_NAME_PREFIX = 0x2e;
const MULTI_NAME_PREFIX = 0x2f;
const EXT_OP_PREFIX = 0x5b;
const ROOT_CHAR = 0x5c;
const PARENT_PREFIX_CHAR = 0x5e;
const LOCAL0_OP = 0x60;
const ARG0_OP = 0x68;
const STORE_OP = 0x70;
const AND_OP = 0x7b;
const OR_OP = 0x7d;
const CREATE_DWORD_FIELD_OP = 0x8a;
const LEQUAL_OP = 0x93;
const LLESS_OP = 0x95;
const IF_OP = 0xa0;
const ELSE_OP = 0xa1;
const RETURN_OP = 0xa4;
const ONES_OP = 0xff;
const EXT_OP_REGION_OP = 0x80;
const EXT_FIELD_OP = 0x81;
const EXT_DEVICE_OP = 0x82;

/** Operation region spaces (ASL RegionSpaceKeyword). */
export const RegionSpace = { SystemMemory: 0, SystemIO: 1, PciConfig: 2 } as const;
/** Field access types (FieldFlags bits 3:0). */
export const FieldAccess = { Any: 0, Byte: 1, Word: 2, DWord: 3, QWord: 4, Buffer: 5 } as const;
/** Field update rules (FieldFlags bits 6:5). */
export const FieldUpdate = { Preserve: 0, WriteAsOnes: 1, WriteAsZeros: 2 } as const;

const NAME_SEG_RE = /^[A-Z_][A-Z0-9_]{0,3}$/;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;

/** Concatenate byte arrays and bytes. */
export function concat(...parts: (Uint8Array | readonly number[])[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A package-length value (§20.2.4) as is: one byte up to 63, else a lead byte whose bits 7:6
 * count 1-3 following bytes, bits 3:0 the low nibble, each following byte 8 more bits. */
function encodeLength(value: number): number[] {
  if (value <= 0x3f) return [value];
  for (let extra = 1; extra <= 3; extra++) {
    if (value < 2 ** (4 + 8 * extra)) {
      const bytes = [(extra << 6) | (value & 0x0f)];
      for (let i = 0; i < extra; i++) bytes.push(Math.floor(value / 2 ** (4 + 8 * i)) & 0xff);
      return bytes;
    }
  }
  throw new TypeError(`AML length too large: ${value} (the most is 2^28 - 1)`);
}

/** PkgLength of a package whose content (after the PkgLength) is `contentLength` bytes: it counts its own bytes too. */
export function pkgLength(contentLength: number): number[] {
  for (let size = 1; size <= 4; size++) {
    const encoded = encodeLength(contentLength + size);
    if (encoded.length === size) return encoded;
  }
  throw new TypeError(`AML package too large: ${contentLength} bytes (the most is 2^28 - 5)`);
}

function withPkgLength(content: Uint8Array): Uint8Array {
  return concat(pkgLength(content.length), content);
}

function nameSeg(seg: string, path: string): number[] {
  if (!NAME_SEG_RE.test(seg)) {
    throw new TypeError(`AML name ${JSON.stringify(path)}: segment ${JSON.stringify(seg)} is not 1-4 of [A-Z0-9_] starting with a letter or _`);
  }
  const padded = seg.padEnd(4, '_');
  return [...padded].map((c) => c.charCodeAt(0));
}

/**
 * A NameString (§20.2.2) from ASL spelling: optional `\` (root) or `^` prefixes (parent), then
 * segments joined by `.`; short segments are padded with `_` as iasl does ("ISA" -> "ISA_").
 */
export function nameString(path: string): Aml {
  if (typeof path !== 'string') throw new TypeError(`AML name: expected a string, got ${typeof path}`);
  const prefix: number[] = [];
  let rest = path;
  if (rest.startsWith('\\')) {
    prefix.push(ROOT_CHAR);
    rest = rest.slice(1);
  } else {
    while (rest.startsWith('^')) {
      prefix.push(PARENT_PREFIX_CHAR);
      rest = rest.slice(1);
    }
  }
  if (rest === '') {
    if (prefix.length === 0) throw new TypeError('AML name: empty');
    return Uint8Array.from([...prefix, NULL_NAME]);
  }
  const segs = rest.split('.').map((s) => nameSeg(s, path));
  if (segs.length > 255) throw new TypeError(`AML name ${JSON.stringify(path)}: more than 255 segments`);
  let body: number[];
  if (segs.length === 1) body = segs[0]!;
  else if (segs.length === 2) body = [DUAL_NAME_PREFIX, ...segs.flat()];
  else body = [MULTI_NAME_PREFIX, segs.length, ...segs.flat()];
  return Uint8Array.from([...prefix, ...body]);
}

/** A reference to a named object used as a term or package element (e.g. a link device in _PRT). */
export const ref = nameString;

/** `value` as `size` little-endian bytes (also used by aml-resources.ts). */
export function leBytes(value: bigint, size: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < size; i++) out.push(Number((value >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** `value` as a u64, or a TypeError naming `what` (also used by aml-resources.ts). */
export function toU64(value: number | bigint, what: string): bigint {
  const v = typeof value === 'bigint' ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
  if (v < 0n || v > MAX_U64) throw new TypeError(`${what}: expected an integer 0-2^64-1, got ${String(value)}`);
  return v;
}

/** An integer constant, shortest encoding first (iasl's integer optimisation). */
export function int(value: number | bigint): Aml {
  const v = toU64(value, 'AML integer');
  if (v === 0n) return Uint8Array.of(ZERO_OP);
  if (v === 1n) return Uint8Array.of(ONE_OP);
  if (v === MAX_U64) return Uint8Array.of(ONES_OP);
  if (v <= 0xffn) return Uint8Array.of(BYTE_PREFIX, Number(v));
  if (v <= 0xffffn) return Uint8Array.from([WORD_PREFIX, ...leBytes(v, 2)]);
  if (v <= 0xffff_ffffn) return Uint8Array.from([DWORD_PREFIX, ...leBytes(v, 4)]);
  return Uint8Array.from([QWORD_PREFIX, ...leBytes(v, 8)]);
}

/** A string constant (printable ASCII, NUL-terminated). */
export function str(text: string): Aml {
  if (typeof text !== 'string' || !/^[\x01-\x7f]*$/.test(text)) {
    throw new TypeError(`AML string: expected 7-bit ASCII without NUL, got ${JSON.stringify(text)}`);
  }
  return Uint8Array.from([STRING_PREFIX, ...[...text].map((c) => c.charCodeAt(0)), 0]);
}

/**
 * EISAID("PNP0A03"): three letters of 5 bits each and four hex digits, stored as the big-endian
 * 32-bit compressed ID (so "PNP0A03" is the integer 0x030AD041 in AML).
 */
export function eisaId(id: string): Aml {
  if (typeof id !== 'string' || !/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) {
    throw new TypeError(`EISAID: expected 3 capitals and 4 hex digits, got ${JSON.stringify(id)}`);
  }
  const letters = [0, 1, 2].map((i) => id.charCodeAt(i) - 0x40);
  const product = parseInt(id.slice(3), 16);
  const be = ((letters[0]! << 26) | (letters[1]! << 21) | (letters[2]! << 16) | product) >>> 0;
  const swapped = (((be & 0xff) << 24) | ((be & 0xff00) << 8) | ((be >>> 8) & 0xff00) | (be >>> 24)) >>> 0;
  return int(swapped);
}

/** Buffer(n) { bytes }: the size is encoded as the shortest integer. */
export function buffer(bytes: Uint8Array | readonly number[]): Aml {
  return concat([BUFFER_OP], withPkgLength(concat(int(bytes.length), bytes)));
}

/** Package(n) { elements }: elements are already-encoded data objects or name references. */
export function pkg(...elements: Aml[]): Aml {
  if (elements.length > 255) throw new TypeError(`AML package: ${elements.length} elements (VarPackage is not supported)`);
  return concat([PACKAGE_OP], withPkgLength(concat([elements.length], ...elements)));
}

/** Name (NAME, value). */
export function name(path: string, value: Aml): Aml {
  return concat([NAME_OP], nameString(path), value);
}

/** Scope (NAME) { terms }. */
export function scope(path: string, ...terms: Aml[]): Aml {
  return concat([SCOPE_OP], withPkgLength(concat(nameString(path), ...terms)));
}

/** Device (NAME) { terms }. */
export function device(path: string, ...terms: Aml[]): Aml {
  return concat([EXT_OP_PREFIX, EXT_DEVICE_OP], withPkgLength(concat(nameString(path), ...terms)));
}

/** Method (NAME, argCount, Serialized|NotSerialized) { terms }; sync level 0. */
export function method(path: string, argCount: number, serialized: boolean, ...terms: Aml[]): Aml {
  if (!Number.isInteger(argCount) || argCount < 0 || argCount > 7) throw new TypeError(`AML method ${path}: argCount ${argCount} is not 0-7`);
  const flags = argCount | (serialized ? 0x08 : 0);
  return concat([METHOD_OP], withPkgLength(concat(nameString(path), [flags], ...terms)));
}

/** NAME (args...): a method invocation; the callee's argument count must match `args`. */
export function call(path: string, ...args: Aml[]): Aml {
  return concat(nameString(path), ...args);
}

/** Return (value). */
export function returnOp(value: Aml): Aml {
  return concat([RETURN_OP], value);
}

/** If (predicate) { terms }. */
export function ifOp(predicate: Aml, ...terms: Aml[]): Aml {
  return concat([IF_OP], withPkgLength(concat(predicate, ...terms)));
}

/** Else { terms }: must directly follow an ifOp. */
export function elseOp(...terms: Aml[]): Aml {
  return concat([ELSE_OP], withPkgLength(concat(...terms)));
}

/** Store (source, destination). */
export function store(source: Aml, destination: Aml): Aml {
  return concat([STORE_OP], source, destination);
}

/** And (a, b, target); without a target the result is only returned. */
export function and(a: Aml, b: Aml, target?: Aml): Aml {
  return concat([AND_OP], a, b, target ?? [NULL_NAME]);
}

/** Or (a, b, target); without a target the result is only returned. */
export function or(a: Aml, b: Aml, target?: Aml): Aml {
  return concat([OR_OP], a, b, target ?? [NULL_NAME]);
}

/** LEqual (a, b). */
export function lEqual(a: Aml, b: Aml): Aml {
  return concat([LEQUAL_OP], a, b);
}

/** LLess (a, b). */
export function lLess(a: Aml, b: Aml): Aml {
  return concat([LLESS_OP], a, b);
}

/** ArgN (0-6). */
export function arg(n: number): Aml {
  if (!Number.isInteger(n) || n < 0 || n > 6) throw new TypeError(`AML Arg${n}: expected 0-6`);
  return Uint8Array.of(ARG0_OP + n);
}

/** LocalN (0-7). */
export function local(n: number): Aml {
  if (!Number.isInteger(n) || n < 0 || n > 7) throw new TypeError(`AML Local${n}: expected 0-7`);
  return Uint8Array.of(LOCAL0_OP + n);
}

/** CreateDWordField (source, byteIndex, NAME). */
export function createDWordField(source: Aml, byteIndex: Aml, fieldName: string): Aml {
  return concat([CREATE_DWORD_FIELD_OP], source, byteIndex, nameString(fieldName));
}

/** OperationRegion (NAME, space, offset, length). */
export function operationRegion(path: string, space: number, offset: number | bigint, length: number | bigint): Aml {
  if (!Number.isInteger(space) || space < 0 || space > 0xff) throw new TypeError(`AML OperationRegion ${path}: space ${space} is not a byte`);
  return concat([EXT_OP_PREFIX, EXT_OP_REGION_OP], nameString(path), [space], int(offset), int(length));
}

export interface FieldUnit {
  /** A NameSeg, or undefined for an unnamed (reserved) gap, i.e. ASL `Offset`/`, n`. */
  name?: string;
  bits: number;
}

export interface FieldOptions {
  access: number;
  lock: boolean;
  update: number;
}

/** Field (REGION, access, Lock|NoLock, update) { NAME, bits, ... }. */
export function field(region: string, options: FieldOptions, units: readonly FieldUnit[]): Aml {
  const { access, lock, update } = options;
  const flags = (access & 0x0f) | (lock ? 0x10 : 0) | ((update & 3) << 5);
  const list: (Uint8Array | number[])[] = [];
  for (const u of units) {
    if (!Number.isInteger(u.bits) || u.bits < 1 || u.bits >= 2 ** 28) throw new TypeError(`AML field ${u.name ?? '(reserved)'}: ${u.bits} bits`);
    const head = u.name === undefined ? [0x00] : nameSeg(u.name, u.name);
    // A field's PkgLength is its width in bits, without counting its own bytes.
    list.push(head, encodeLength(u.bits));
  }
  return concat([EXT_OP_PREFIX, EXT_FIELD_OP], withPkgLength(concat(nameString(region), [flags], ...list)));
}
