// The sync-reads probe (probes/sync-reads.asm), assembled once into guests/build/: a 64 KiB
// firmware image that reads PCI configuration space, the ACPI PM timer and COM1's LSR back to
// back, checks what it read and prints one line per register (suites/harness/sync-reads-check.ts
// reads them).

import { assemble } from './nasm.js';

/** The line the probe prints last; boots end on it (--until). */
export const SYNC_READS_DONE = 'sync-reads: done';
/** How many reads of each register the probe makes (its READS define). */
export const SYNC_READS = 4000;
/** Where the probe puts the PM block (PMBASE) and so PM_TMR, and COM1's LSR. */
export const SYNC_READS_PM_TMR = 0x608;
export const SYNC_READS_LSR = 0x3fd;
/** PMBASE as the probe writes it (0x600 with the I/O space bit), which it reads back at once. */
export const SYNC_READS_PMBASE = 0x601;
/** CONFIG_DATA, and how many writes the probe makes there (PMBASE, PMIOSE). */
export const SYNC_READS_CONFIG_DATA = 0xcfc;
export const SYNC_READS_CONFIG_WRITES = 2;

export function syncReadsProbe(): Promise<string> {
  return assemble('probes/sync-reads.asm', { READS: SYNC_READS });
}
