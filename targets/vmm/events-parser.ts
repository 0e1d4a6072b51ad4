// The one reader of the own VMM's JSON-lines event stream (vmm/events.ts VmmEvent): a line
// becomes a typed event, or an EventLineError naming the line and what is wrong with it. Each
// kind's fields are checked by type (the table below has an entry for every field of every kind,
// so the compiler refuses a VmmEvent change the parser does not follow). Nested payloads are
// checked one level deep: deeper shapes (an exit profile's tables) are the VMM's own output, and
// a consumer that needs more checks what it reads.
// A stream may end in a line without its newline when the VMM was killed mid-write: that line is
// dropped and reported as `truncated`, never an error; a bad line anywhere else is an error.

import { BootgateError } from '../../vmm/errors.js';
import type { MilestoneName, VmmEvent, VmmEventKind } from '../../vmm/events.js';

/** A line of an event stream that is not a VmmEvent: which line, its text, and why. */
export class EventLineError extends BootgateError {
  constructor(
    readonly source: string,
    readonly lineNumber: number,
    readonly line: string,
    readonly why: string,
    /** `json`: the line is not JSON at all (a cut-off write); `shape`: JSON, but not a VmmEvent. */
    readonly problem: 'json' | 'shape' = 'shape',
  ) {
    super('E_INTERNAL', `${source} line ${lineNumber}: ${why}: ${line.length > 200 ? `${line.slice(0, 200)}...` : line}`, {
      hint: 'the VMM and vmm/events.ts disagree; add the event or field to VmmEvent (and the parser table) or fix the writer',
    });
    this.name = 'EventLineError';
  }
}

/** A field check: undefined when the value fits, else what was expected. */
type Check = (v: unknown) => string | undefined;

const is =
  (type: 'string' | 'number' | 'boolean'): Check =>
  (v) =>
    typeof v === type && (type !== 'number' || Number.isFinite(v)) ? undefined : `a ${type}`;
const str = is('string');
const num = is('number');
const bool = is('boolean');
const obj: Check = (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? undefined : 'an object');
const arr: Check = (v) => (Array.isArray(v) ? undefined : 'an array');
const opt =
  (c: Check): Check =>
  (v) =>
    v === undefined ? undefined : c(v);
const orNull =
  (c: Check): Check =>
  (v) =>
    v === null ? undefined : c(v) && `${c(v)} or null`;
const oneOf =
  (values: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? undefined : `one of ${values.join(', ')}`;
const recordOf =
  (c: Check, of: string): Check =>
  (v) =>
    obj(v) ?? (Object.values(v as object).every((x) => c(x) === undefined) ? undefined : `an object of ${of} values`);

const MILESTONE_NAMES: Record<MilestoneName, true> = {
  'vmm-start': true,
  'vm-created': true,
  'reset-vector': true,
  'firmware-banner': true,
  'boot-attempt': true,
  'option-rom': true,
  'kernel-entry': true,
  init: true,
  'probe-done': true,
  reset: true,
  'power-off': true,
};

/** Every field of one kind except `event` and `t`, optional ones included. */
type FieldsOf<K extends VmmEventKind> = { [F in Exclude<keyof Extract<VmmEvent, { event: K }>, 'event' | 't'>]-?: Check };

const FIELDS: { [K in VmmEventKind]: FieldsOf<K> } = {
  config: { config: obj, quirks: arr, processMs: opt(num) },
  milestone: {
    name: oneOf(Object.keys(MILESTONE_NAMES)),
    detail: opt(str),
    vcpu: opt(num),
    gpa: opt(num),
    expected: opt(num),
    region: opt(orNull(str)),
    before: opt(obj),
    after: opt(obj),
  },
  serial: { port: oneOf(['com1', 'debugcon']), data: str },
  'firmware-panic': { port: str, line: str },
  reset: { source: str, count: num, vcpu: opt(num), rip: opt(str) },
  'triple-fault': { vcpu: num, registers: recordOf(str, 'string') },
  'memory-snapshot': { reset: num, source: str, gpa: num, bytes: num, file: str },
  'reset-refused': { source: str, count: num, max: num, vcpu: opt(num) },
  'vcpu-fatal': { vcpu: num },
  'guest-misuse': { device: str, what: str },
  'rom-write': { gpa: num, count: num },
  'linux-boot': { protocol: num, setupSize: num, kernelSize: num, initrdAddr: num, initrdSize: num, cmdlineSize: num },
  'fwcfg-build': { file: str, bytes: num },
  'acpi-tables': { pmBase: num },
  machine: { physBits: num, hostPhysBits: opt(num), ramBelow4G: num, ramAbove4G: num, memoryMap: arr },
  'pci-bars': { bars: arr },
  'irq-test': { device: obj, path: obj },
  ide: { channels: obj, path: obj, diskSectors: num, overlaySectors: num },
  'irq-stall': { device: str, how: str, ms: num, to: str },
  'guest-refusals': { misuse: num, dma: arr },
  flash: { code: obj, vars: obj },
  'rip-samples': { total: num, top: arr },
  'firmware-high': { mapped: bool, bytes: num, sha256: str, writesTrapped: num },
  'exit-profile': { profile: obj },
  final: {
    status: oneOf(['power-off', 'until-matched', 'timeout', 'error', 'killed']),
    exitCode: num,
    resets: num,
    wallMs: num,
    maxRssBytes: opt(num),
    profile: obj,
    error: opt(obj),
    diagnostic: opt(obj),
    milestones: opt(recordOf(str, 'string')),
  },
};

/** The kinds of event the VMM writes, for readers that list them. */
export const VMM_EVENT_KINDS = Object.keys(FIELDS) as VmmEventKind[];

function isKind(kind: string): kind is VmmEventKind {
  return Object.hasOwn(FIELDS, kind);
}

/** One line as a VmmEvent; throws EventLineError naming `source` and `lineNumber`. */
export function parseVmmEvent(line: string, source = 'event stream', lineNumber = 1): VmmEvent {
  const fail = (why: string): never => {
    throw new EventLineError(source, lineNumber, line, why);
  };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new EventLineError(source, lineNumber, line, `not JSON (${(err as Error).message})`, 'json');
  }
  if (obj(value) !== undefined) fail('not a JSON object');
  const ev = value as Record<string, unknown>;
  if (typeof ev.event !== 'string') fail('no "event" name');
  const kind = ev.event as string;
  if (!isKind(kind)) fail(`unknown event "${kind}" (vmm/events.ts VmmEvent lists ${VMM_EVENT_KINDS.length} kinds)`);
  if (num(ev.t) !== undefined) fail(`"t" is not a number of ms`);
  const checks = FIELDS[kind as VmmEventKind] as Record<string, Check>;
  for (const [field, check] of Object.entries(checks)) {
    const wrong = check(ev[field]);
    if (wrong !== undefined) fail(`${kind} field "${field}" should be ${wrong}, is ${JSON.stringify(ev[field]) ?? 'missing'}`);
  }
  return ev as unknown as VmmEvent;
}

export interface ParsedEvents {
  events: VmmEvent[];
  /** The last line, cut off without its newline (a VMM killed mid-write), when it did not parse. */
  truncated?: string;
}

/** A whole stream; blank lines are skipped. Throws EventLineError for a bad line other than a cut-off last one. */
export function parseVmmEvents(text: string, source = 'event stream'): ParsedEvents {
  const lines = text.split('\n');
  const last = lines.length - 1;
  const events: VmmEvent[] = [];
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    try {
      events.push(parseVmmEvent(line, source, i + 1));
    } catch (err) {
      // Only the final piece can lack its newline (the VMM writes whole lines), and only a cut-off write is not JSON.
      if (i === last && err instanceof EventLineError && err.problem === 'json') return { events, truncated: line };
      throw err;
    }
  }
  return { events };
}

/** Events of one kind, typed. */
export function eventsOfKind<K extends VmmEventKind>(events: readonly VmmEvent[], kind: K): Array<Extract<VmmEvent, { event: K }>> {
  return events.filter((e): e is Extract<VmmEvent, { event: K }> => e.event === kind);
}
