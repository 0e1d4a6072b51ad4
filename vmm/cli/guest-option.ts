// `--guest NAME` with its options (--reboot, --reboots, --irqtest, --append), resolved through the
// guest catalog: the same for every target of `bootgate boot`.

import { type RebootMethod, type ResolvedGuest, resolveGuest } from '../../guests/catalog.js';

export interface GuestValues {
  guest?: string;
  reboot?: string;
  reboots?: string;
  irqtest?: string;
  append?: string;
}

/** The --guest named on the command line with its options, or undefined without --guest. */
export async function guestOf(values: GuestValues): Promise<ResolvedGuest | undefined> {
  if (!values.guest) return undefined;
  return resolveGuest(values.guest, {
    reboot: values.reboot as RebootMethod | undefined,
    reboots: values.reboots === undefined ? undefined : Number(values.reboots),
    irqtest: values.irqtest,
    append: values.append,
  });
}
