// What can be booted by name (`--guest`): the same names work for every target. A guest is a
// firmware plus, for Linux guests, a kernel, an initramfs and a command line.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BootgateError } from '../vmm/errors.js';

/** The script lives in the source tree; from dist/ point back there. */
const IRQTEST_SCRIPT = fileURLToPath(new URL('./irqtest/irqtest.sh', import.meta.url)).replace('/dist/guests/', '/guests/');

export const REBOOT_METHODS = { bios: 'b', pci: 'p', kbd: 'k', acpi: 'a', triple: 't' } as const;
export type RebootMethod = keyof typeof REBOOT_METHODS;

export interface GuestOptions {
  /** Reboot through this method (the kernel's reboot=), `reboots` times, then power off. */
  reboot?: RebootMethod;
  reboots?: number;
  /** Interrupt test: MODE,COUNT,TIMER_HZ (e.g. "intx,64,4000"). */
  irqtest?: string;
  /** Extra kernel command-line words. */
  append?: string;
}

export interface ResolvedGuest {
  name: string;
  firmware: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  /** The guest expects the VMM's interrupt test device. */
  irqTestDevice?: boolean;
}

export const GUESTS = ['seabios', 'seabios-256k', 'debian-probe', 'debian-irqtest'] as const;
export type GuestName = (typeof GUESTS)[number];

export function rebootCmdline(o: GuestOptions): string {
  if (o.reboot === undefined) return '';
  if (!(o.reboot in REBOOT_METHODS)) {
    throw new BootgateError('E_CONFIG', `unknown reboot method ${JSON.stringify(o.reboot)}`, { hint: `use one of: ${Object.keys(REBOOT_METHODS).join(', ')}` });
  }
  return `reboot=${REBOOT_METHODS[o.reboot]} bootgate.reboots=${o.reboots ?? 1}`;
}

/** Most reboots one boot may ask for (each is a full firmware + kernel boot). */
export const MAX_REBOOTS = 100;
/** --irqtest MODE[+MODE],COUNT,TIMER_HZ limits: COUNT interrupts per CPU, the PIT round's rate. */
export const MAX_IRQTEST_COUNT = 100_000;
export const MAX_IRQTEST_HZ = 10_000;
const IRQTEST_SPEC = /^((?:intx|msi)(?:\+(?:intx|msi))*),(\d+),(\d+)$/;

/**
 * Refuses guest options the guest would ignore or choke on, before anything is built: a guest
 * option the named guest has no use for (it would be dropped silently), --reboots without a
 * method, counts out of range, an --irqtest spec the probe script would reject at run time.
 */
export function checkGuestRequest(name: string, o: GuestOptions): void {
  const refuse = (message: string, hint: string): never => {
    throw new BootgateError('E_CONFIG', message, { hint });
  };
  if (name === 'debian-irqtest' && (o.reboot !== undefined || o.reboots !== undefined)) {
    refuse('--reboot and --reboots are for --guest debian-probe; debian-irqtest does not reboot', 'use --guest debian-probe for reboots');
  }
  if (name === 'debian-probe' && o.irqtest !== undefined) refuse('--irqtest is for --guest debian-irqtest; debian-probe has no interrupt test', 'use --guest debian-irqtest');
  if ((name === 'seabios' || name === 'seabios-256k') && (o.reboots !== undefined || o.irqtest !== undefined)) {
    refuse(`--reboots and --irqtest need a Linux guest; ${name} is firmware only`, '--guest debian-probe or debian-irqtest');
  }
  if (o.reboots !== undefined && o.reboot === undefined) refuse('--reboots needs --reboot (the method the kernel reboots through)', 'add --reboot bios|pci|kbd|acpi|triple');
  if (o.reboots !== undefined && (!Number.isInteger(o.reboots) || o.reboots < 1 || o.reboots > MAX_REBOOTS)) {
    refuse(`invalid --reboots: ${JSON.stringify(o.reboots)}; expected 1..${MAX_REBOOTS}`, `pass --reboots as 1..${MAX_REBOOTS}`);
  }
  if (o.irqtest !== undefined) {
    const m = IRQTEST_SPEC.exec(o.irqtest);
    const count = Number(m?.[2]);
    const hz = Number(m?.[3]);
    if (!m || count < 1 || count > MAX_IRQTEST_COUNT || hz > MAX_IRQTEST_HZ) {
      refuse(
        `invalid --irqtest ${JSON.stringify(o.irqtest)}; expected MODE,COUNT,TIMER_HZ with MODE intx, msi or both (msi+intx), COUNT 1..${MAX_IRQTEST_COUNT}, TIMER_HZ 0..${MAX_IRQTEST_HZ}`,
        'e.g. --irqtest msi+intx,64,2000',
      );
    }
  }
}

export async function resolveGuest(name: string, o: GuestOptions = {}): Promise<ResolvedGuest> {
  checkGuestRequest(name, o);
  switch (name) {
    case 'seabios':
    case 'seabios-256k':
      if (o.reboot) throw new BootgateError('E_CONFIG', `--reboot needs a Linux guest; ${name} is firmware only`, { hint: '--guest debian-probe' });
      return { name, firmware: name };
    case 'debian-probe': {
      // The builders (and the tools they run) load only for the guest that needs them: the CLI
      // resolves its guest in every boot, in the nested lab too (vmm/cli/main.ts says why).
      const { buildProbeGuest, PROBE_BASE_CMDLINE } = await import('./probe/initramfs.js');
      const probe = await buildProbeGuest();
      const append = [PROBE_BASE_CMDLINE, rebootCmdline(o), o.append ?? ''].filter(Boolean).join(' ');
      return { name, firmware: 'seabios-256k', kernel: probe.kernel, initrd: probe.initrd, append };
    }
    case 'debian-irqtest': {
      // The probe plus the interrupt test module and script; bootgate.irqtest=MODE,COUNT,TIMER_HZ.
      const [{ buildIrqTestModule }, { buildProbeGuest, PROBE_BASE_CMDLINE }] = await Promise.all([import('./irqtest/build.js'), import('./probe/initramfs.js')]);
      const ko = await buildIrqTestModule();
      const probe = await buildProbeGuest([
        { path: 'lib/modules/bootgate_irqtest.ko', data: readFileSync(ko) },
        { path: 'irqtest.sh', data: readFileSync(IRQTEST_SCRIPT) },
      ]);
      const append = [PROBE_BASE_CMDLINE, `bootgate.irqtest=${o.irqtest ?? 'msi,32,0'}`, o.append ?? ''].filter(Boolean).join(' ');
      return { name, firmware: 'seabios-256k', kernel: probe.kernel, initrd: probe.initrd, append, irqTestDevice: true };
    }
    default:
      throw new BootgateError('E_CONFIG', `unknown guest ${JSON.stringify(name)}`, { hint: `use one of: ${GUESTS.join(', ')}` });
  }
}
