// What can be booted by name (`--guest`): the same names work for every target. A guest is a
// firmware plus, for Linux guests, a kernel, an initramfs and a command line.

import { BootgateError } from '../vmm/errors.js';
import { buildProbeGuest, PROBE_BASE_CMDLINE } from './probe/initramfs.js';

export const REBOOT_METHODS = { bios: 'b', pci: 'p', kbd: 'k', acpi: 'a', triple: 't' } as const;
export type RebootMethod = keyof typeof REBOOT_METHODS;

export interface GuestOptions {
  /** Reboot through this method (the kernel's reboot=), `reboots` times, then power off. */
  reboot?: RebootMethod;
  reboots?: number;
  /** Extra kernel command-line words. */
  append?: string;
}

export interface ResolvedGuest {
  name: string;
  firmware: string;
  kernel?: string;
  initrd?: string;
  append?: string;
}

export const GUESTS = ['seabios', 'seabios-256k', 'debian-probe'] as const;
export type GuestName = (typeof GUESTS)[number];

export function rebootCmdline(o: GuestOptions): string {
  if (o.reboot === undefined) return '';
  if (!(o.reboot in REBOOT_METHODS)) {
    throw new BootgateError('E_CONFIG', `unknown reboot method ${JSON.stringify(o.reboot)}`, { hint: `use one of: ${Object.keys(REBOOT_METHODS).join(', ')}` });
  }
  return `reboot=${REBOOT_METHODS[o.reboot]} bootgate.reboots=${o.reboots ?? 1}`;
}

export async function resolveGuest(name: string, o: GuestOptions = {}): Promise<ResolvedGuest> {
  switch (name) {
    case 'seabios':
    case 'seabios-256k':
      if (o.reboot) throw new BootgateError('E_CONFIG', `--reboot needs a Linux guest; ${name} is firmware only`, { hint: '--guest debian-probe' });
      return { name, firmware: name };
    case 'debian-probe': {
      const probe = await buildProbeGuest();
      const append = [PROBE_BASE_CMDLINE, rebootCmdline(o), o.append ?? ''].filter(Boolean).join(' ');
      return { name, firmware: 'seabios-256k', kernel: probe.kernel, initrd: probe.initrd, append };
    }
    default:
      throw new BootgateError('E_CONFIG', `unknown guest ${JSON.stringify(name)}`, { hint: `use one of: ${GUESTS.join(', ')}` });
  }
}
