// The fault-rate table: per stack, workload and SMP, the runs, the runs with an unrequested
// fault, the faults, requested triple faults, other failures and lab lockups; from the records
// file alone (`--table`). And the --configs/--smp/--workloads parsing.

import { existsSync, readFileSync } from 'node:fs';
import { type BootRecord, type Stack, STACK_NAMES, WORKLOADS, type Workload } from './records.js';

export interface Row {
  /** The lab's configuration: `default`, or its CPU model and kvm_amd parameters (an A/B run's records say). */
  lab: string;
  stack: Stack;
  workload: Workload;
  smp: number;
  boots: number;
  faulted: number;
  faults: number;
  requested: number;
  otherFailures: number;
  lockups: number;
  notRun: number;
}

export function table(records: readonly BootRecord[]): Row[] {
  const rows = new Map<string, Row>();
  for (const r of records) {
    const lab = labLabel(r);
    const key = `${lab}:${r.workload}:${r.smp}:${r.stack}`;
    const row = rows.get(key) ?? { lab, stack: r.stack, workload: r.workload, smp: r.smp, boots: 0, faulted: 0, faults: 0, requested: 0, otherFailures: 0, lockups: 0, notRun: 0 };
    rows.set(key, row);
    if (r.lockup) row.lockups++;
    else if (r.status === undefined) row.notRun++;
    else {
      row.boots++;
      if ((r.unrequested ?? 0) > 0) row.faulted++;
      row.faults += r.unrequested ?? 0;
      row.requested += r.requested ?? 0;
      if ((r.unrequested ?? 0) === 0 && r.failure !== undefined) row.otherFailures++;
    }
  }
  return [...rows.values()].sort((a, b) => a.lab.localeCompare(b.lab) || a.workload.localeCompare(b.workload) || a.smp - b.smp || a.stack.localeCompare(b.stack));
}

export function formatTable(rows: readonly Row[]): string {
  const lines = [
    '| lab | stack | workload | SMP | runs | runs with an unrequested fault | unrequested faults | requested triple faults | other failures | lab lockups |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.lab} | ${STACK_NAMES[r.stack]} | ${r.workload} | ${r.smp} | ${r.boots} | ${r.faulted}/${r.boots} | ${r.faults} | ${r.requested} | ${r.otherFailures}/${r.boots} | ${r.lockups}${r.notRun ? ` (+${r.notRun} not run)` : ''} |`,
    );
  }
  return lines.join('\n');
}

/** `lab-qemu fixture` (records without `lab`), or `cpu max, kvm_amd vgif=0, QEMU ...` for a lab run with other settings. */
export function labLabel(r: Pick<BootRecord, 'lab'>): string {
  if (r.lab === undefined) return 'lab-qemu fixture';
  return [`cpu ${r.lab.cpu}`, ...(r.lab.kvmAmd.length > 0 ? [`kvm_amd ${r.lab.kvmAmd.join(' ')}`] : []), ...(r.lab.qemu ? [`QEMU ${r.lab.qemu}`] : [])].join(', ');
}

export function readRecords(file: string): BootRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as BootRecord);
}

export function parseConfigs(v: { configs?: string; smp?: string; workloads?: string }): Array<{ workload: Workload; smp: number }> {
  const pairs = v.configs
    ? v.configs.split(',').map((c) => c.split(':') as [string, string])
    : (v.workloads ?? 'irqtest,triple').split(',').flatMap((w) => (v.smp ?? '2,8').split(',').map((s) => [w, s] as [string, string]));
  return pairs.map(([w, s]) => {
    const smp = Number(s);
    if (!(w in WORKLOADS)) throw new TypeError(`unknown workload ${JSON.stringify(w)}; expected ${Object.keys(WORKLOADS).join(' or ')}`);
    if (!Number.isInteger(smp) || smp < 1 || smp > 64) throw new TypeError(`invalid SMP ${JSON.stringify(s)}; expected an integer in [1, 64]`);
    return { workload: w as Workload, smp };
  });
}

