// What the bench measures, as data the host hands to the run that boots (here, or inside one lab
// VM): the series (one stack in one configuration, sampled `runs` times), grouped into the
// comparisons whose stacks alternate, and what each series needs (a guest image, the C loop,
// the --baseline build). A series whose prerequisite could not be made carries the reason and is
// not run. Also the shape the boots come back in (Samples), written after every boot.

import type { LinuxBoot } from '../../targets/index.js';
import type { Sample } from './measures.js';

export const SERIES = {
  'pio.c': { label: 'PIO exit round trip, C loop', unit: 'us' },
  'pio.own': { label: 'PIO exit round trip, own VMM', unit: 'us' },
  'pio.own.native': { label: 'PIO exit round trip, own VMM, vCPU on a native thread (--vcpu-threads native)', unit: 'us' },
  'resetVector.own.smp1': { label: 'VMM start to reset vector, own VMM, SMP 1', unit: 'ms' },
  'resetVector.qemu.smp1': { label: 'VMM start to reset vector, QEMU -accel kvm, SMP 1', unit: 'ms' },
  'resetVector.own.smp8': { label: 'VMM start to reset vector, own VMM, SMP 8', unit: 'ms' },
  'resetVector.qemu.smp8': { label: 'VMM start to reset vector, QEMU -accel kvm, SMP 8', unit: 'ms' },
  'linux.own.smp1': { label: 'Debian reset to init, own VMM, SMP 1', unit: 'ms' },
  'linux.qemu.smp1': { label: 'Debian reset to init, QEMU -accel kvm, SMP 1', unit: 'ms' },
  'linux.own.smp8': { label: 'Debian reset to init, own VMM, SMP 8', unit: 'ms' },
  'linux.qemu.smp8': { label: 'Debian reset to init, QEMU -accel kvm, SMP 8', unit: 'ms' },
  'linux.base.smp8': { label: 'Debian reset to init, own VMM at --baseline, SMP 8', unit: 'ms' },
  'uefi.own.smp1': { label: 'OVMF reset to init, own VMM, SMP 1', unit: 'ms' },
  'uefi.qemu.smp1': { label: 'OVMF reset to init, QEMU -accel kvm, SMP 1', unit: 'ms' },
  'disk.own.smp1': { label: 'Debian from disk, reset to login prompt, own VMM, SMP 1', unit: 'ms' },
  'disk.qemu.smp1': { label: 'Debian from disk, reset to login prompt, QEMU -accel kvm, SMP 1', unit: 'ms' },
  'disk.own.smp8': { label: 'Debian from disk, reset to login prompt, own VMM, SMP 8', unit: 'ms' },
  'disk.qemu.smp8': { label: 'Debian from disk, reset to login prompt, QEMU -accel kvm, SMP 8', unit: 'ms' },
} as const satisfies Record<string, { label: string; unit: 'us' | 'ms' }>;

export type SeriesKey = keyof typeof SERIES;

/** The comparisons, in the order they run; within one, the stacks take turns run by run. */
export const COMPARISONS = {
  // SMP 1 runs vCPU 0 on the device owner by default; the native thread (the default at SMP > 1) is measured too.
  pio: ['pio.c', 'pio.own', 'pio.own.native'],
  resetVector: ['resetVector.own.smp1', 'resetVector.qemu.smp1', 'resetVector.own.smp8', 'resetVector.qemu.smp8'],
  linux: ['linux.own.smp1', 'linux.qemu.smp1', 'linux.own.smp8', 'linux.qemu.smp8', 'linux.base.smp8'],
  // The probe kernel started by OVMF (ovmf-4m from pflash) instead of SeaBIOS; in the nested lab
  // it runs in a lab VM of its own under the patched QEMU (docs/uefi.md).
  uefi: ['uefi.own.smp1', 'uefi.qemu.smp1'],
  // The debian-disk image (systemd, GRUB from the IDE disk; docs/debian-disk.md) to its login prompt.
  disk: ['disk.own.smp1', 'disk.qemu.smp1', 'disk.own.smp8', 'disk.qemu.smp8'],
} as const satisfies Record<string, readonly SeriesKey[]>;

export type ComparisonName = keyof typeof COMPARISONS;

/** What the boots need, made on the host before they start; `skip` names series that cannot run and why. */
export interface BenchPlan {
  /** Runs per stack of the PIO and reset-vector comparisons. */
  runs: number;
  /** Runs per stack of the Debian and OVMF comparisons; 0 leaves them (and the hand-over figures) out. */
  linuxRuns: number;
  /** Only these comparisons (a lab VM that runs part of the plan); default every one. */
  only?: ComparisonName[];
  /** Port-0x80 writes the PIO guest makes. */
  iterations: number;
  /** The PIO guest's image (guests/bench/pio-loop.asm). */
  pioImage?: string;
  /** native/build/kvm-exit-loop. */
  cLoop?: string;
  /** SeaBIOS for the reset-vector boots: a fixture name or a file. */
  seabios: { firmware?: string; firmwareFile?: string };
  /** The probe guest, resolved once so every stack and tree boots the same files, and its firmware. */
  linux?: LinuxBoot;
  linuxFirmware?: string;
  /** The debian-disk image (read-only; each boot writes to its own overlay). */
  diskImage?: string;
  /** The --baseline tree's CLI build, and the ref it was built from. */
  baseline?: { ref: string; cli: string };
  skip: Partial<Record<SeriesKey, string>>;
}

export interface SeriesResult {
  samples: Sample[];
  /** Why the series stopped short (it is not retried after a failure). */
  error?: string;
}

export type Samples = Partial<Record<SeriesKey, SeriesResult>>;

/** The runs per stack of a comparison. */
export function runsOf(comparison: ComparisonName, plan: { runs: number; linuxRuns: number }): number {
  return comparison === 'linux' || comparison === 'uefi' || comparison === 'disk' ? plan.linuxRuns : plan.runs;
}

/**
 * The series a bench runs: every comparison with runs (of `only`'s, when given), the --baseline
 * tree's only when asked for.
 */
export function plannedSeries(linuxRuns: number, baselineAsked: boolean, only: readonly ComparisonName[] | null = null): SeriesKey[] {
  const keys: SeriesKey[] = [...COMPARISONS.pio, ...COMPARISONS.resetVector];
  if (linuxRuns > 0) keys.push(...COMPARISONS.linux.filter((k) => k !== 'linux.base.smp8' || baselineAsked), ...COMPARISONS.uefi, ...COMPARISONS.disk);
  return only === null ? keys : keys.filter((k) => only.some((c) => (COMPARISONS[c] as readonly SeriesKey[]).includes(k)));
}
