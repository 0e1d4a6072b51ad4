// Quirks: named, documented, off-by-default VMM misbehaviours that reproduce the bugs the suites
// must catch (the seeds). Every event stream and JUnit testcase that uses one says so.

import { BootgateError } from './errors.js';

export const QUIRKS = {
  'no-high-bios-copy':
    'map no firmware copy ending at 4 GiB (only the legacy alias below 1 MiB): the reset vector 0xfffffff0 is unmapped and SeaBIOS reboot has no pristine image (seed: OpenBSD vmd)',
  'vmd-low-bios-only':
    "start the BSP at F000:FFF0 with CS base 0xf0000 and keep the firmware only in RAM below 1 MiB, as OpenBSD vmd does: with a 128 KiB SeaBIOS (bios.bin, as vmd ships) the first boot works, but SeaBIOS's reboot path copies its pristine image from the missing high copy (seed: OpenBSD vmd, reboot=bios); bios-256k.bin cannot even start, its init code lives only in the high copy",
  'small-aperture':
    'advertise 36 physical address bits in CPUID 0x80000008 whatever --phys-bits says: firmware may place 64-bit BARs where the guest cannot reach them (seed: 32 GiB GPU BAR vs a 36-bit guest)',
  'irq-to-bsp-only':
    'deliver every device interrupt to the BSP (APIC ID 0) whatever destination the guest programmed in the MSI address or IOAPIC entry (seed: bhyve accelerator ignoring IOAPIC destinations)',
  'drop-every-nth-irq': 'drop every 10th device interrupt on its way to KVM: the device raised it, the guest never sees it (a lost interrupt)',
  'starve-low-priority-irq':
    'hold device interrupts while the PIT runs faster than 1 kHz, as a pump that always serves IRQ 0 first would (seed: IRQ 0 starving IRQ 14)',
  'romd-unmapped':
    "never map OVMF's pflash as ROMD slots: the reset-vector fetch at 0xfffffff0 finds nothing mapped (seed: QEMU+NVMM, 'Mem Assist Failed')",
  'romd-never-remapped':
    'unmap the VARS flash on its first command and never map it back on return to read-array: every later access traps (seed: the incomplete fix, an exit storm)',
  'scrub-irr-live-vector':
    "before every guest entry, clear from the vCPU's local APIC IRR the vector the guest programmed for IOAPIC pin 14 (the IDE disk): a disk interrupt that reached the IRR while the vCPU was out of the guest never arrives (seed: a scrubber for stale firmware vectors that cleared vector 0x20, which Linux had given ATA IRQ 14)",
  'pm-timer-two-clocks':
    "answer the ACPI PM timer from two clocks 2 ms apart: with native vCPU threads (SMP > 1) each thread hands every other read to the device owner and answers the rest from an epoch 2 ms after the owner's, so the 24-bit count steps back (the bug of a VMM whose threads each keep their own timer instance)",
} as const;

export type QuirkName = keyof typeof QUIRKS;

export function parseQuirks(names: readonly string[]): QuirkName[] {
  const out: QuirkName[] = [];
  for (const n of names) {
    if (!(n in QUIRKS)) {
      throw new BootgateError('E_CONFIG', `unknown quirk ${JSON.stringify(n)}`, {
        hint: `use one of: ${Object.keys(QUIRKS).join(', ')}`,
      });
    }
    if (!out.includes(n as QuirkName)) out.push(n as QuirkName);
  }
  return out;
}
