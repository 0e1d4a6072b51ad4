// The bench's output: where the boots ran and exactly what each figure measures on each stack,
// the table (value, and on ratios the target and whether it was met), then every measurement
// that could not be made. `--json` gets the figures as rows.

import type { Failure, Figure } from './figures.js';
import type { Where } from './where.js';

/** What each comparison measures on each stack, printed above the table. */
export const DEFINITIONS: readonly string[] = [
  'PIO exit round trip: the guest writes port 0x80 N times; (last exit - first exit) / (N - 1). Own VMM: from its exit profile (port 0x80 firstMs/lastMs); C loop: CLOCK_MONOTONIC stamps as KVM_RUN returns (native/kvm-exit-loop.c).',
  "VMM start to reset vector (SeaBIOS, until its boot attempt): own VMM: its reset-vector milestone, ms from the VMM's own start (runVm, after Node started and loaded the VMM, which is not counted, nor the device owner's worker, started while the CLI loads) to the return of vCPU 0's single-stepped first KVM_RUN, and the same from the process's start (all of it counted); QEMU -accel kvm: ms from spawning qemu-system-x86_64 (its exec and machine set-up counted) to the return of vCPU 0's first KVM_RUN, from QEMU's kvm_run_exit trace (-msg timestamp=on), QEMU started unpaused.",
  "Debian reset to init (Debian's kernel, the probe initramfs, SeaBIOS, linuxboot_dma.bin): the probe's init line on COM1 minus the guest's start. Own VMM: its reset-vector milestone (every vCPU thread up, first instruction stepped); QEMU: QMP cont answered (started paused with -S). Neither stack's own start-up is counted.",
  'OVMF reset to init: the same probe kernel started by OVMF (ovmf-4m from pflash) instead of SeaBIOS, measured the same way.',
  "Debian from disk, reset to login prompt (the debian-disk image: SeaBIOS, GRUB from the IDE disk, kernel, systemd): the first COM1 serial event that completes 'bootgate-disk login:' minus the guest's start, measured as for Debian reset to init.",
  "AP hand-over wait: the own VMM's exit profile, per SMP 8 Debian boot: AP exits handed to the device-owner thread, the median (sampled) and the longest wait for the answer.",
];

function formatValue(f: Figure): string {
  if (f.unit === 'count') return String(f.value);
  if (f.unit === 'ratio') return f.value.toFixed(2);
  return `${f.value.toFixed(f.unit === 'us' ? 2 : f.value < 10 ? 2 : 0)} ${f.unit === 'us' ? 'µs' : 'ms'}`;
}

export function formatTable(figures: readonly Figure[]): string {
  const width = Math.max(6, ...figures.map((f) => f.label.length));
  const rows = figures.map((f) => {
    const target = f.target === null ? '' : `  (target <= ${f.target.toFixed(2)}: ${f.value <= f.target ? 'met' : 'MISSED'})`;
    return `${f.label.padEnd(width)}  ${formatValue(f).padStart(10)}${target}`;
  });
  return [`${'figure'.padEnd(width)}  ${'value'.padStart(10)}`, ...rows].join('\n');
}

export function jsonRows(figures: readonly Figure[]): Array<Omit<Figure, 'label'>> {
  return figures.map(({ name, value, unit, target }) => ({ name, value, unit, target }));
}

export function printReport(
  head: { runs: number; linuxRuns: number; where: Where; pio?: Where; baseline: string | null },
  figures: readonly Figure[],
  failures: readonly Failure[],
): void {
  const place = head.where === 'here' ? "this host's /dev/kvm" : 'one nested lab VM (QEMU TCG, kvm-amd inside): vmm:kvm@lab, qemu:kvm@lab and the C loop on its /dev/kvm';
  const split = head.where === 'lab' && head.pio === 'here';
  console.log(`bootgate bench: ${head.runs} run(s) per stack (Debian: ${head.linuxRuns}), stacks alternating; medians compared`);
  console.log(`Every boot ran on ${place}${split ? ", except the PIO comparison: own VMM and C loop on this host's /dev/kvm (PVM here), away from the lab's TCG clock" : ''}${head.baseline ? `; --baseline ${head.baseline} built beside this tree and run in the same place` : ''}.`);
  for (const d of DEFINITIONS) console.log(`- ${d}`);
  console.log('');
  console.log(formatTable(figures));
  if (failures.length > 0) {
    console.log('');
    console.log('measurements that could not be made:');
    for (const f of failures) console.log(`  ${f.what}: ${f.reason}`);
  }
}
