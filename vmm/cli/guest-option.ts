// `--guest NAME` with its options (--reboot, --reboots, --irqtest, --append), resolved through the
// guest catalog: the same for every target of `bootgate boot`.

import { type RebootMethod, type ResolvedGuest, resolveGuest } from '../../guests/catalog.js';
import { BootgateError } from '../errors.js';

export interface GuestValues {
  guest?: string;
  reboot?: string;
  reboots?: string;
  irqtest?: string;
  append?: string;
}

/** Options that mean something only with --guest, and the guest each needs. */
const GUEST_ONLY = [
  ['reboot', '--reboot', 'debian-probe'],
  ['reboots', '--reboots', 'debian-probe'],
  ['irqtest', '--irqtest', 'debian-irqtest'],
] as const;

/**
 * The --guest named on the command line with its options, or undefined without --guest. A guest
 * option without --guest is refused before anything is built (it would be ignored silently).
 */
export async function guestOf(values: GuestValues): Promise<ResolvedGuest | undefined> {
  checkGuestOptions(values);
  if (!values.guest) return undefined;
  return resolveGuest(values.guest, {
    reboot: values.reboot as RebootMethod | undefined,
    reboots: guestReboots(values.reboots),
    irqtest: values.irqtest,
    append: values.append,
  });
}

/** Refuses a guest option given without --guest (every target, before anything starts). */
export function checkGuestOptions(values: GuestValues): void {
  if (values.guest) return;
  const stray = GUEST_ONLY.filter(([key]) => values[key] !== undefined);
  if (stray.length === 0) return;
  throw new BootgateError('E_CONFIG', `${stray.map(([, flag]) => flag).join(' and ')} need${stray.length === 1 ? 's' : ''} --guest`, {
    hint: `pass --guest ${stray[0]![2]}`,
  });
}

/** --reboots as a number; anything but digits stays NaN, which checkGuestRequest refuses by name. */
export function guestReboots(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  return /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
}
