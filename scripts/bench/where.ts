// Where the bench's boots run, so that the stacks compared share one /dev/kvm: here when this
// host's KVM runs Linux guests (VT-x/SVM, or already inside the lab), else all of them inside ONE
// nested lab VM (QEMU TCG with kvm-amd inside): the plan goes in through the repository share,
// inner.ts boots both stacks there, and its samples come back the same way, written after every
// boot. The lab's QEMU can wedge under a nested SMP 8 guest: a lockup line on the lab console or
// a heartbeat that stops ends the lab, and every series left short says so. The PIO comparison
// (own VMM vs the C loop) stays on this host whenever its /dev/kvm opens (pioWhere).

import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostKvmCapability } from '../../lab/capability.js';
import { heartbeatWatch, lockupWatch } from '../../lab/lockup.js';
import { defaultLabQemuKind, type LabQemuKind } from '../../lab/qemu.js';
import { runInLab } from '../../lab/run.js';
import { inLab, labUnavailable } from '../../lab/target.js';
import { BootgateError } from '../../vmm/errors.js';
import { HEARTBEAT_LINE, measure, realStacks, seriesOf } from './inner.js';
import { type BenchPlan, COMPARISONS, type ComparisonName, runsOf, type Samples } from './plan.js';

const LAB_MEM_MIB = 3072;
const LAB_START_S = 120;
/** Per boot, the most it may take inside the lab (its own timeout and Node's start under TCG). */
const PER_BOOT_S = 420;
/** Silence this long on the inner run's heartbeat means a frozen lab (as targets/vmm/lab-batch.ts). */
const HEARTBEAT_STALE_S = 90;

export type Where = 'here' | 'lab';

/** Here when this host's KVM runs Linux guests or this already is the lab; else the lab. */
export function whereToRun(): Where {
  return inLab() || hostKvmCapability().nativeGuests ? 'here' : 'lab';
}

/**
 * Where the PIO comparison runs: here whenever this host's /dev/kvm opens, PVM included. Its guest
 * is a few real-mode instructions that PVM runs, and both sides of it (the own VMM and the C loop)
 * then share this host's device and clock. In the nested lab a clock read costs 25.8 µs under
 * TCG against 0.57 µs here (docs/host-and-lab.md), which the own VMM's exact accounting pays
 * twice per exit and the C loop once: there the ratio measures the lab's clock, not the VMM.
 */
export function pioWhere(boots: Where, device = '/dev/kvm'): Where {
  if (boots === 'here') return 'here';
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
    return 'here';
  } catch {
    return 'lab';
  }
}

/** A lab run that ended before the inner run finished: every series short of its runs gets the reason. */
export function markShort(samples: Samples, plan: BenchPlan, reason: string): Samples {
  const out: Samples = { ...samples };
  for (const comparison of plan.only ?? (Object.keys(COMPARISONS) as ComparisonName[])) {
    const runs = runsOf(comparison, plan);
    if (runs === 0) continue;
    for (const key of seriesOf(comparison, plan)) {
      const s = out[key] ?? { samples: [] };
      if (s.samples.length < runs && s.error === undefined) out[key] = { ...s, error: reason };
    }
  }
  return out;
}

/**
 * The comparisons whose boots the lab-qemu fixture cannot run (targets/target.ts needsPatchedLab):
 * OVMF, and Debian from disk (its SMP 8 series; SMP 1 runs beside it so that the own SMP 8 / SMP 1
 * ratio compares boots under one lab QEMU).
 */
const PATCHED_LAB_COMPARISONS: readonly ComparisonName[] = ['uefi', 'disk'];

/**
 * Runs the plan's boots where the stacks share a /dev/kvm; resolves with what was measured. In the
 * lab, the OVMF and disk comparisons run in a second lab VM under the patched QEMU (built on first
 * use, docs/uefi.md); everything else in one under the lab's default QEMU (lab/qemu.ts: the
 * patched build too, where it can be had).
 */
export async function measureWhereKvmRunsLinux(root: string, plan: BenchPlan, where: Where, pio: Where = where): Promise<Samples> {
  if (where === 'here') return measure(plan, realStacks(plan));
  const wanted = plan.only ?? (Object.keys(COMPARISONS) as ComparisonName[]);
  const pioHere = pio === 'here' && wanted.includes('pio');
  const here = pioHere ? await measure({ ...plan, only: ['pio'] }, realStacks(plan)) : {};
  const all = pioHere ? wanted.filter((c) => c !== 'pio') : wanted;
  if (all.length === 0) return here;
  const why = labUnavailable();
  if (why) throw new BootgateError('E_CONFIG', `this host's /dev/kvm cannot run the bench's guests and the nested lab cannot start: ${why}`);
  const patched = plan.linuxRuns === 0 ? [] : all.filter((c) => PATCHED_LAB_COMPARISONS.includes(c));
  const rest = all.filter((c) => !PATCHED_LAB_COMPARISONS.includes(c));
  const samples = { ...here, ...(rest.length > 0 ? await measureInLab(root, { ...plan, only: rest }, defaultLabQemuKind()) : {}) };
  if (patched.length === 0) return samples;
  return { ...samples, ...(await measureInLab(root, { ...plan, only: patched }, 'patched')) };
}

async function measureInLab(root: string, plan: BenchPlan & { only: ComparisonName[] }, qemu: LabQemuKind): Promise<Samples> {
  const dir = join(root, 'reports', 'out', 'bench');
  mkdirSync(dir, { recursive: true });
  const planFile = join(dir, `plan-${process.pid}.json`);
  const out = join(dir, `samples-${process.pid}.json`);
  writeFileSync(planFile, JSON.stringify(plan));
  rmSync(out, { force: true });
  const boots = plan.only.reduce((n, c) => n + COMPARISONS[c].length * runsOf(c, plan), 0);
  const abort = new AbortController();
  let wedged: string | undefined;
  const heartbeat = heartbeatWatch(HEARTBEAT_STALE_S, (reason) => {
    wedged ??= reason;
    abort.abort();
  });
  try {
    const lab = await runInLab({
      command: ['node', 'dist/scripts/bench/inner.js', '--plan', planFile, '--out', out],
      cwd: root,
      memMiB: LAB_MEM_MIB,
      timeoutS: LAB_START_S + boots * PER_BOOT_S,
      qemu,
      // The patched QEMU may be built first (minutes): say so.
      log: qemu === 'patched' ? (line) => process.stderr.write(`${line}\n`) : undefined,
      signal: abort.signal,
      onOutput: (_stream, chunk) => {
        const text = chunk.toString('utf8');
        if (text.includes(HEARTBEAT_LINE)) heartbeat.beat();
        const shown = text.split('\n').filter((l) => l !== '' && !l.includes(HEARTBEAT_LINE));
        if (shown.length > 0) process.stderr.write(`${shown.join('\n')}\n`);
      },
      onConsole: lockupWatch((line) => {
        wedged ??= line;
        abort.abort();
      }),
    });
    let samples: Samples = {};
    try {
      samples = JSON.parse(readFileSync(out, 'utf8')) as Samples;
    } catch {
      // Nothing written: every series gets the reason below.
    }
    if (wedged !== undefined) return markShort(samples, plan, `the nested lab wedged before this stack finished: ${wedged}`);
    if (lab.status !== 'exited' || lab.exitCode !== 0) {
      const ended = `the lab run ended (${lab.status}${lab.exitCode === undefined ? '' : `, exit code ${lab.exitCode}`}) before this stack finished; stderr tail: ${lab.stderrTail.slice(-400)}; console tail: ${lab.consoleTail.slice(-400)}`;
      return markShort(samples, plan, ended);
    }
    return samples;
  } finally {
    heartbeat.stop();
    rmSync(planFile, { force: true });
    rmSync(out, { force: true });
  }
}
