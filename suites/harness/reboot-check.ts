// BIOS-reboot checker: one probe boot that reboots through Linux's reboot= method, judged by what
// the guest reported (the boot count the probe keeps in CMOS, its CPUs) and by the reset path the
// machine took (the VMM's reset events: which register, which value, written by whom). Linux
// falls back from one method to the next when a reset does not happen (reboot=pci to a triple
// fault, kbd to ACPI, EFI, BIOS, CF9, triple), so "some reset happened" proves nothing: each
// method must end in its own reset. A target that reports resets without their cause (QEMU: QMP's
// RESET, `guest-reset` for every path, more than one per reboot) is judged on what the resets
// meant instead (targets/reset-attribution.ts): one the guest asked for per reboot, none it did
// not; which path each took is then the caller's to report as not observable (RESET_PATH_ASSERTIONS).

import type { RebootMethod } from '../../guests/catalog.js';
import { type BootResult, eventsOf } from '../../targets/boot-result.js';
import { attributeResets } from '../../targets/reset-attribution.js';
import type { Failure } from './failures.js';
import { type ProbeEvent, probeBoots } from './probe.js';

export const REBOOT = {
  ran: "the boot ran to the probe's end",
  cameBack: 'the guest came back after each reboot',
  asked: 'the probe asked for the method',
  source: 'each reboot resets through its own method',
  noTriple: 'no unrequested triple fault',
  resetsAsked: 'one reset per reboot the guest asked for, none it did not',
  cpus: 'every vCPU back',
  firmware: 'SeaBIOS ran again after each reset',
  highCopy: 'the high BIOS copy stays byte-identical',
} as const;

/** Linux's kernel text and data live in the top 2 GiB of the address space (x86-64 kernel map). */
const KERNEL_SPACE = 0xffff_8000_0000_0000n;
const ONE_MIB = 0x10_0000n;

export interface ResetEvent {
  source: string;
  vcpu?: number;
  rip?: string;
}

export interface ResetPath {
  /** In words, for the messages. */
  what: string;
  matches(e: ResetEvent): boolean;
}

const inKernel = (e: ResetEvent): boolean => e.rip !== undefined && BigInt(e.rip) >= KERNEL_SPACE;
const inFirmware = (e: ResetEvent): boolean => e.rip !== undefined && BigInt(e.rip) < ONE_MIB;

/**
 * The reset each method must end in on this machine (FADT revision 3: RESET_REG is I/O 0xCF9 <- 6).
 * bios: Linux jumps to F000:FFF0; SeaBIOS finds POST already done, copies its pristine image from
 * the high copy (fw/shadow.c qemu_reboot) and writes 0x02, 0x06 to 0xCF9 from its own code.
 */
export const RESET_PATHS: Record<RebootMethod, ResetPath> = {
  pci: { what: "0xCF9 <- 0x0e from the kernel (Linux's cold CF9 reset)", matches: (e) => e.source === 'cf9 0x0e' && inKernel(e) },
  kbd: { what: 'the i8042 reset pulse (command 0xFE)', matches: (e) => e.source === 'i8042' },
  acpi: { what: 'the FADT reset register (0xCF9 <- 0x06) written by the kernel', matches: (e) => e.source === 'cf9 0x06' && inKernel(e) },
  triple: { what: 'a triple fault on vCPU 0 (the reboot CPU)', matches: (e) => e.source === 'triple-fault' && e.vcpu === 0 },
  bios: { what: "0xCF9 <- 0x06 from SeaBIOS's code below 1 MiB (its reboot path)", matches: (e) => e.source === 'cf9 0x06' && inFirmware(e) },
};

export function describeReset(e: ResetEvent): string {
  return `${e.source}${e.vcpu === undefined ? '' : ` on vCPU ${e.vcpu}`}${e.rip === undefined ? '' : ` at ${e.rip}`}`;
}

export interface RebootCase {
  method: RebootMethod;
  smp: number;
  reboots: number;
  /** sha256 of the firmware file, which the high copy must still match. */
  firmwareSha256: string;
  /**
   * Whether the target reports each reset's cause (register, value, code address, vCPU: the own
   * VMM's reset and triple-fault events). Default true. False: the resets are judged by what they
   * meant (REBOOT.resetsAsked) and RESET_PATH_ASSERTIONS are not decided here.
   */
  resetPath?: boolean;
}

/** The assertions only a target that reports each reset's cause can decide. */
export const RESET_PATH_ASSERTIONS: readonly string[] = [REBOOT.source, REBOOT.noTriple];

export function checkReboot(r: BootResult, events: readonly ProbeEvent[], c: RebootCase): Failure[] {
  const failures: Failure[] = [];
  const fail = (assertion: string, message: string) => failures.push({ assertion, message });
  const want = Array.from({ length: c.reboots + 1 }, (_, i) => i + 1);
  if (r.status !== 'until-matched') fail(REBOOT.ran, `the boot ended ${r.status}: ${r.error?.message ?? r.diagnostic?.reason ?? 'no reason given'}`);
  const boots = probeBoots([...events]);
  if (boots.join(',') !== want.join(',')) {
    fail(REBOOT.cameBack, `the probe reported boot${boots.length === 1 ? '' : 's'} ${boots.join(', ') || 'none'}; expected ${want.join(', ')}, one per reboot`);
  }
  const asked = events.filter((e) => e.event === 'reboot').map((e) => String(e.method));
  if (asked.length === 0 || asked.some((m) => m !== c.method.charAt(0))) {
    fail(REBOOT.asked, `the probe rebooted with reboot=${asked.join(',') || '(no reboot line)'}, expected ${c.method.charAt(0)}`);
  }
  if (c.resetPath === false) {
    const by = attributeResets(r.events);
    if (by.requested !== c.reboots || by.unrequested > 0) {
      fail(
        REBOOT.resetsAsked,
        `${c.reboots} reboot${c.reboots === 1 ? '' : 's'} asked for; the machine reset ${by.requested} time${by.requested === 1 ? '' : 's'} after the probe's reboot line, ${by.unrequested} time${by.unrequested === 1 ? '' : 's'} when nobody asked (and ${by.firmware} time${by.firmware === 1 ? '' : 's'} as the firmware's own reset before its banner)`,
      );
    }
    checkAfterReset(r, events, c, fail);
    return failures;
  }
  const resets = eventsOf(r, 'reset') as unknown as ResetEvent[];
  const path = RESET_PATHS[c.method];
  const wrong = resets.filter((e) => !path.matches(e));
  if (resets.length !== c.reboots || wrong.length > 0) {
    fail(
      REBOOT.source,
      `reboot=${c.method} must reset ${c.reboots} time${c.reboots === 1 ? '' : 's'} through ${path.what}; the VMM saw ${resets.length}: ${resets.map(describeReset).join('; ') || 'none'}`,
    );
  }
  const faults = eventsOf(r, 'triple-fault') as unknown as Array<{ vcpu: number; registers?: Record<string, string> }>;
  const requested = c.method === 'triple' ? c.reboots : 0;
  const unrequested = c.method === 'triple' ? faults.filter((f) => f.vcpu !== 0) : faults;
  if (unrequested.length > 0 || faults.length > requested) {
    fail(
      REBOOT.noTriple,
      `${faults.length} triple fault${faults.length === 1 ? '' : 's'}, ${requested} requested: ${faults.map((f) => `vCPU ${f.vcpu} at rip ${f.registers?.rip ?? '?'}`).join('; ')}`,
    );
  }
  checkAfterReset(r, events, c, fail);
  return failures;
}

/** Every vCPU back, SeaBIOS again after each reset, the high copy untouched. */
function checkAfterReset(r: BootResult, events: readonly ProbeEvent[], c: RebootCase, fail: (assertion: string, message: string) => void): void {
  const lastInit = events.find((e) => e.event === 'init' && e.boot === c.reboots + 1);
  if (lastInit && lastInit.cpus !== c.smp) fail(REBOOT.cpus, `after the last reboot the probe found ${String(lastInit.cpus)} CPUs of ${c.smp}`);
  const banners = r.serial.match(/SeaBIOS \(version/g)?.length ?? 0;
  if (banners < c.reboots + 1) fail(REBOOT.firmware, `SeaBIOS printed its banner ${banners} times for ${c.reboots} reboot${c.reboots === 1 ? '' : 's'}`);
  const high = eventsOf(r, 'firmware-high')[0] as unknown as { sha256?: string; mapped?: boolean } | undefined;
  if (high?.sha256 !== c.firmwareSha256) {
    const unread = eventsOf(r, 'firmware-high-unread')[0] as unknown as { reason?: string } | undefined;
    fail(
      REBOOT.highCopy,
      high
        ? `the high copy hashes to ${String(high.sha256).slice(0, 16)}, the file to ${c.firmwareSha256.slice(0, 16)}`
        : `the stack reported no high copy${unread?.reason ? ` (${unread.reason})` : ''}`,
    );
  }
}
