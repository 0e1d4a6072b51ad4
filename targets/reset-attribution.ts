// What each machine reset meant, told from the console output since the previous reset, for
// targets that report resets without their cause (QEMU's QMP RESET says `guest-reset` for a
// triple fault and for a 0xCF9 write alike, and comes more than once per reboot):
// - after the probe's reboot line: a reset the guest asked for;
// - with neither a SeaBIOS banner nor a probe line since the previous reset: the firmware's own
//   reset (SeaBIOS on QEMU resets once more on its way back up, before its banner), part of the
//   reboot before it;
// - anything else: a reset nobody asked for (a crash, a triple fault, a reboot loop).
// Pure: unit-tested.

/** The probe's line before it reboots (guests/probe/init-script.ts). */
export const PROBE_REBOOT_LINE = '"event":"reboot"';
const FIRMWARE_BANNER = 'SeaBIOS (version';
const PROBE_LINE = '@@bootgate';

export interface ResetAttribution {
  requested: number;
  firmware: number;
  unrequested: number;
}

export function attributeResets(events: ReadonlyArray<{ event: string; port?: unknown; data?: unknown }>): ResetAttribution {
  const by: ResetAttribution = { requested: 0, firmware: 0, unrequested: 0 };
  let since = '';
  for (const e of events) {
    if (e.event === 'serial' && e.port === 'com1') since += String(e.data);
    else if (e.event === 'reset') {
      if (since.includes(PROBE_REBOOT_LINE)) by.requested++;
      // Late bytes of the kernel's last line may arrive after the reset; POST had not printed yet.
      else if (!since.includes(FIRMWARE_BANNER) && !since.includes(PROBE_LINE)) by.firmware++;
      else by.unrequested++;
      since = '';
    }
  }
  return by;
}
