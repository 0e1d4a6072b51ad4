// The event-stream parser: every kind the VMM writes parses to its typed event; a line that is not
// an event is an error naming the stream, the line number and what is wrong; a line cut off at the
// end of a killed VMM's stream is dropped, not an error. And every event kind the VMM's sources
// emit is one the parser knows (so a new event fails here, not in a lab boot).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { VmmEvent } from '../../vmm/events.js';
import { EventLineError, eventsOfKind, parseVmmEvent, parseVmmEvents, VMM_EVENT_KINDS } from './events-parser.js';

const profile = { wallMs: 900, vcpuRunMs: 500, vcpuRunPct: 55, pioMs: 1, pioPct: 0, mmioMs: 0, mmioPct: 0, exits: {}, totalExits: 3, hottestPorts: [], hottestRegions: [], unassigned: { pio: 0, mmio: 0 } };

/** One event of every kind, as the VMM writes them. */
const SAMPLES: VmmEvent[] = [
  { event: 'config', t: 0.4, config: { smp: 2, memMiB: 512 }, quirks: [] },
  { event: 'milestone', t: 0, name: 'vmm-start' },
  { event: 'milestone', t: 80, name: 'vm-created', detail: '2 vCPU, 512 MiB' },
  {
    event: 'milestone',
    t: 95.5,
    name: 'reset-vector',
    gpa: 0xffff_fff0,
    expected: 0xffff_fff0,
    region: 'bios-high',
    before: { csBase: 0xffff_0000, csSelector: 0xf000, rip: 0xfff0 },
    after: { csBase: 0xf_0000, csSelector: 0xf000, rip: 0xe05b },
  },
  { event: 'serial', t: 120, port: 'debugcon', data: 'SeaBIOS (version 1.16.2)\n' },
  { event: 'firmware-panic', t: 130, port: 'debugcon', line: 'PCI: out of 32bit address space' },
  { event: 'reset', t: 140, source: 'cf9 0x06', count: 1, vcpu: 0, rip: '0xefaac' },
  { event: 'triple-fault', t: 150, vcpu: 1, registers: { rip: '0xfff0' } },
  { event: 'memory-snapshot', t: 150.5, reset: 2, source: 'triple-fault (vCPU 1)', gpa: 0, bytes: 0x10_0000, file: '/r/boot.jsonl.reset-2.lowmem' },
  { event: 'reset-refused', t: 151, source: 'triple-fault (vCPU 1)', count: 4, max: 3, vcpu: 1 },
  { event: 'vcpu-fatal', t: 151, vcpu: 3 },
  { event: 'guest-misuse', t: 152, device: 'cmos', what: 'write to index 0x80' },
  { event: 'rom-write', t: 153, gpa: 0xffff_0000, count: 1 },
  { event: 'linux-boot', t: 1, protocol: 0x20f, setupSize: 17_408, kernelSize: 7_000_000, initrdAddr: 0x1f00_0000, initrdSize: 900_000, cmdlineSize: 80 },
  { event: 'fwcfg-build', t: 2, file: 'etc/acpi/tables', bytes: 4096 },
  { event: 'acpi-tables', t: 3, pmBase: 0x600 },
  { event: 'machine', t: 81, physBits: 40, hostPhysBits: 46, ramBelow4G: 512 << 20, ramAbove4G: 0, memoryMap: [{ name: 'ram', gpa: 0, size: 512 << 20, writable: true }] },
  { event: 'pci-bars', t: 800, bars: [{ bdf: '00:02.0', index: 0, kind: 'mem64', prefetchable: true, size: 2 ** 35, address: 2 ** 35, decoded: true, firstDecoded: 2 ** 35 }] },
  { event: 'irq-test', t: 801, device: { raised: { intx: 1, msi: 2 } }, path: { injected: 3, dropped: 0, held: 0 } },
  {
    event: 'ide',
    t: 801,
    channels: {
      primary: { irq: 14, interruptsRaised: 9, dmaTransfers: 4, pioBytes: 512 },
      secondary: { irq: 15, interruptsRaised: 0, dmaTransfers: 0, pioBytes: 0 },
    },
    path: { injected: 9, dropped: 0, held: 0 },
    diskSectors: 2048,
    overlaySectors: 8,
  },
  { event: 'irq-stall', t: 700, device: 'irq-test', how: 'acked', ms: 90, to: 'INTx GSI 11' },
  { event: 'guest-refusals', t: 805, misuse: 4, dma: [{ device: 'fw_cfg', transfers: 120, refused: 1 }] },
  { event: 'flash', t: 802, code: { exits: 3, budget: 40 }, vars: { exits: 0, budget: 40 } },
  { event: 'rip-samples', t: 803, total: 10, top: [{ gpa: '0xf1234', samples: 7 }] },
  { event: 'firmware-high', t: 804, mapped: true, bytes: 262_144, sha256: 'ab'.repeat(32), writesTrapped: 0 },
  { event: 'exit-profile', t: 900, profile },
  { event: 'final', t: 900, status: 'until-matched', exitCode: 0, resets: 1, wallMs: 900, maxRssBytes: 1 << 26, profile, milestones: { 'boot-attempt': 'Booting from Hard Disk...' } },
];

const stream = (events: readonly unknown[]) => events.map((e) => `${JSON.stringify(e)}\n`).join('');

describe('parseVmmEvents', () => {
  it('reads one event of every kind the VMM writes, typed and in order', () => {
    expect(new Set(SAMPLES.map((e) => e.event))).toEqual(new Set(VMM_EVENT_KINDS));
    const { events, truncated } = parseVmmEvents(stream(SAMPLES));
    expect(events).toEqual(SAMPLES);
    expect(truncated).toBeUndefined();
    const [final] = eventsOfKind(events, 'final');
    expect(final!.profile.totalExits).toBe(3);
    expect(eventsOfKind(events, 'milestone').map((m) => m.name)).toEqual(['vmm-start', 'vm-created', 'reset-vector']);
  });

  it('drops a last line cut off mid-write (a killed VMM), and says so', () => {
    const text = `${stream(SAMPLES.slice(0, 2))}{"event":"serial","t":12,"po`;
    const { events, truncated } = parseVmmEvents(text);
    expect(events).toHaveLength(2);
    expect(truncated).toBe('{"event":"serial","t":12,"po');
  });

  it('names the line of a stream that is not JSON, when it is not the cut-off end', () => {
    const text = `${stream(SAMPLES.slice(0, 1))}{"event":"mile\n${stream(SAMPLES.slice(1, 2))}`;
    expect(() => parseVmmEvents(text, 'boot0.jsonl')).toThrow(EventLineError);
    expect(() => parseVmmEvents(text, 'boot0.jsonl')).toThrow(/^boot0\.jsonl line 2: not JSON \(.*\): \{"event":"mile$/);
  });

  it('does not take a complete line of the wrong shape at the end for a cut-off one', () => {
    expect(() => parseVmmEvents('{"event":"vcpu-fatal","t":1}')).toThrow(/line 1: vcpu-fatal field "vcpu" should be a number, is missing/);
  });
});

describe('parseVmmEvent: failing inputs', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['an array', [1, 2], /not a JSON object/],
    ['no event name', { t: 1 }, /no "event" name/],
    ['an unknown kind', { event: 'teleport', t: 1 }, /unknown event "teleport" \(vmm\/events\.ts VmmEvent lists \d+ kinds\)/],
    ['no time', { event: 'vcpu-fatal', vcpu: 1 }, /"t" is not a number of ms/],
    ['a wrong field type', { event: 'reset', t: 1, source: 'port92', count: '1' }, /reset field "count" should be a number, is "1"/],
    ['an unknown milestone', { event: 'milestone', t: 1, name: 'lunch' }, /milestone field "name" should be one of vmm-start, vm-created, /],
    ['a wrong console', { event: 'serial', t: 1, port: 'com2', data: 'x' }, /serial field "port" should be one of com1, debugcon/],
    ['registers that are not strings', { event: 'triple-fault', t: 1, vcpu: 0, registers: { rip: 65520 } }, /registers" should be an object of string values/],
    ['a final event without its status', { event: 'final', t: 1, exitCode: 0, resets: 0, wallMs: 1, maxRssBytes: 1, profile: {} }, /final field "status" should be one of power-off/],
    ['a region that is neither a name nor null', { event: 'milestone', t: 1, name: 'reset-vector', region: 7 }, /"region" should be a string or null, is 7/],
  ];
  for (const [what, value, message] of cases) {
    it(`${what}: an error naming the line`, () => {
      const line = JSON.stringify(value);
      let err: unknown;
      try {
        parseVmmEvent(line, 'events.jsonl', 7);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EventLineError);
      const e = err as EventLineError;
      expect(e.code).toBe('E_INTERNAL');
      expect(e.lineNumber).toBe(7);
      expect(e.message).toMatch(/^events\.jsonl line 7: /);
      expect(e.message).toMatch(message);
      expect(e.message.endsWith(line)).toBe(true);
    });
  }
});

describe('the kinds the VMM emits', () => {
  it('are all known to the parser (every `event: \'...\'` literal in vmm/)', () => {
    const root = fileURLToPath(new URL('../../vmm/', import.meta.url));
    const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'events.ts');
    const emitted = new Set<string>();
    for (const f of files) for (const m of readFileSync(join(root, f), 'utf8').matchAll(/\bevent: '([a-z0-9-]+)'/g)) emitted.add(m[1]!);
    expect(emitted.size).toBeGreaterThan(10);
    expect([...emitted].filter((k) => !(VMM_EVENT_KINDS as string[]).includes(k))).toEqual([]);
  });

  it("and so are the milestone names it writes (every `event: 'milestone', name: '...'` literal)", () => {
    const root = fileURLToPath(new URL('../../vmm/', import.meta.url));
    const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    const names = files.flatMap((f) => [...readFileSync(join(root, f), 'utf8').matchAll(/event: 'milestone',\s*(?:t: [^,]+,\s*)?name: '([a-z0-9-]+)'/g)].map((m) => m[1]!));
    expect(names.length).toBeGreaterThan(3);
    const refused = (name: string): boolean => {
      try {
        parseVmmEvent(JSON.stringify({ event: 'milestone', t: 1, name }));
        return false;
      } catch {
        return true;
      }
    };
    expect(names.filter(refused)).toEqual([]);
  });
});
