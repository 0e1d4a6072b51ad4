// The BAR checker's Linux half: after the probe guest booted, compare Linux's view of every PCI
// test-device BAR (/sys/bus/pci/devices/*/resource, reported by the probe) with the device's own
// state (the VMM's pci-bars event: where the BAR is now, and where firmware had put it when
// decode first came on), and collect what Linux said about it in dmesg ("no space for",
// "failed to assign"). One verdict per BAR:
//   kept        Linux uses the firmware's address and the device decodes there
//   moved       Linux reassigned the BAR and the device decodes at the new address
//   unassigned  Linux holds no address for it (IORESOURCE_UNSET or start 0): its dmesg reason
//   disagree    Linux believes the BAR is somewhere the device does not decode (size or address)
//   beyond-phys-bits  Linux placed it above the guest's physical address width
// The width is the guest's own (the probe's /proc/cpuinfo "address sizes", from CPUID 0x80000008)
// when the probe reported it, else what the VMM says it advertised. linuxBarFailures() turns the
// verdicts into the good-run assertions by name (failures.ts).

import type { Bar, Machine } from './bar-check.js';
import { formatSize } from './bar-check.js';
import type { Failure } from './failures.js';
import type { ProbeEvent } from './probe.js';

export const LINUX_BAR = {
  verdicts: 'Linux keeps every BAR where firmware put it',
  width: 'the guest sees the configured physical address width',
} as const;

/** Linux's struct resource flag for a resource it could not place. */
export const IORESOURCE_UNSET = 0x2000_0000;
export const PCI_TEST_ID = '0x1b36:0x0005';

export interface LinuxBar {
  bdf: string;
  index: number;
  start: number;
  end: number;
  flags: number;
}

/** `assigned`: Linux uses the BAR where the device decodes it, and the stack did not record where firmware had put it (firstDecoded absent), so kept and moved cannot be told apart. */
export type LinuxVerdict = 'kept' | 'moved' | 'assigned' | 'unassigned' | 'disagree' | 'beyond-phys-bits';

export interface LinuxBarVerdict {
  bar: Bar;
  linux: LinuxBar | undefined;
  verdict: LinuxVerdict;
  detail: string;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
/** "0000:00:02.0" (sysfs) and "00:02.0" (the VMM) name the same function. */
const shortBdf = (bdf: string): string => bdf.replace(/^0000:/, '');

/** Every sized resource line of the devices with `id`, from the probe's pci events. */
export function linuxBarsOf(events: readonly ProbeEvent[], id = PCI_TEST_ID): LinuxBar[] {
  const out: LinuxBar[] = [];
  for (const e of events) {
    if (e.event !== 'pci' || e.id !== id || !Array.isArray(e.bars)) continue;
    for (const [index, start, end, flags] of e.bars as Array<[number, string, string, string]>) {
      out.push({ bdf: shortBdf(String(e.bdf)), index, start: Number(BigInt(start)), end: Number(BigInt(end)), flags: Number(BigInt(flags)) });
    }
  }
  return out;
}

/** The physical address width the guest's kernel reported (CPUID 0x80000008), if the probe said. */
export function guestPhysBits(events: readonly ProbeEvent[]): number | undefined {
  const bits = events.find((e) => e.event === 'init')?.physBits;
  return typeof bits === 'number' ? bits : undefined;
}

export function checkLinuxBars(deviceBars: readonly Bar[], linuxBars: readonly LinuxBar[], trouble: readonly string[], machine: Machine, guestBits?: number): LinuxBarVerdict[] {
  const physBits = guestBits ?? machine.physBits;
  const limit = 2 ** physBits;
  return deviceBars.map((bar) => {
    const linux = linuxBars.find((l) => l.bdf === shortBdf(bar.bdf) && l.index === bar.index);
    const v = (verdict: LinuxVerdict, detail: string): LinuxBarVerdict => ({ bar, linux, verdict, detail });
    const said = trouble.filter((t) => t.includes(bar.bdf) && new RegExp(`BAR ${bar.index}\\b|\\[mem|\\[io`).test(t));
    if (!linux) return v('unassigned', `Linux lists no resource ${bar.index} for ${bar.bdf}${said.length ? `; dmesg: ${said.join(' | ')}` : ''}`);
    if (linux.flags & IORESOURCE_UNSET || linux.start === 0) {
      return v('unassigned', `Linux could not place it${said.length ? `; dmesg: ${said.join(' | ')}` : ' (no dmesg line)'}`);
    }
    const size = linux.end - linux.start + 1;
    if (size !== bar.size) return v('disagree', `Linux sizes it ${formatSize(size)}, the device has ${formatSize(bar.size)}`);
    if (linux.start !== bar.address || !bar.decoded) {
      return v('disagree', `Linux uses ${hex(linux.start)}, the device ${bar.decoded ? `decodes at ${hex(bar.address)}` : 'does not decode it'}`);
    }
    if (linux.end + 1 > limit) return v('beyond-phys-bits', `Linux uses ${hex(linux.start)}-${hex(linux.end)}, beyond the guest's ${physBits}-bit physical address width`);
    if (bar.firstDecoded === undefined) return v('assigned', `at ${hex(linux.start)}; where firmware had put it was not recorded`);
    if (bar.firstDecoded === linux.start) return v('kept', `at the firmware's ${hex(linux.start)}`);
    return v('moved', `firmware had ${bar.firstDecoded == null ? 'not enabled it' : hex(bar.firstDecoded)}, Linux moved it to ${hex(linux.start)}`);
  });
}

/** One report line per BAR: device, index, size, Linux's address, verdict and reason. */
export function formatLinuxVerdict(v: LinuxBarVerdict): string {
  const b = v.bar;
  return `${b.bdf} bar${b.index} ${b.kind}${b.prefetchable ? 'pref' : ''} ${formatSize(b.size)} linux=${v.linux ? hex(v.linux.start) : '-'} ${v.verdict}: ${v.detail}`;
}

export function linuxBarProperties(verdicts: readonly LinuxBarVerdict[]): Record<string, string> {
  return Object.fromEntries(verdicts.map((v, i) => [`linux.bar.${i + 1}`, formatLinuxVerdict(v)]));
}

/**
 * The Linux half's good-run assertions: each BAR's verdict is the one expected (by default kept:
 * Linux uses what firmware assigned and the device decodes it), and the width the guest reported
 * is the one configured (when one was: --phys-bits).
 */
export function linuxBarFailures(
  verdicts: readonly LinuxBarVerdict[],
  expected: readonly LinuxVerdict[],
  guest: { physBits: number | undefined; configured?: number },
): Failure[] {
  const failures: Failure[] = [];
  if (verdicts.length !== expected.length) {
    failures.push({ assertion: LINUX_BAR.verdicts, message: `${verdicts.length} test-device BARs judged, expected ${expected.length}` });
  }
  verdicts.forEach((v, i) => {
    const want = expected[i] ?? 'kept';
    if (v.verdict !== want) failures.push({ assertion: LINUX_BAR.verdicts, message: `expected ${want}: ${formatLinuxVerdict(v)}` });
  });
  if (guest.configured !== undefined && guest.physBits !== guest.configured) {
    failures.push({
      assertion: LINUX_BAR.width,
      message: `the guest's kernel reports ${guest.physBits ?? 'no'}-bit physical addresses (CPUID 0x80000008), --phys-bits was ${guest.configured}`,
    });
  }
  return failures;
}
