// Targets `<inner>@lab` (`vmm:kvm@lab`, `qemu:kvm@lab`): a stack run inside the nested lab, for
// guests this host's /dev/kvm cannot run (Linux, OVMF on PVM). A suite hands over all its boots at
// once; they run one after another inside ONE lab VM (the lab boot is paid once). The own VMM
// writes each boot's event stream into the project share, which the harness then reads back as a
// BootResult; any other stack runs through targets/boot-to-json.ts, which writes the finished
// BootResult there instead.
//
// What is rerun, and why (rerun decisions are pure functions below, unit-tested):
// - A lab VM that wedges: the outer QEMU TCG sometimes locks up under a nested guest (both lab
//   CPUs report soft lockups, or the lab freezes silently: its TCG vCPUs spin, its kernel prints
//   nothing). A lockup line on the lab console, or a batch heartbeat (a line the batch script
//   prints every few seconds on the lab's virtio-serial stdout; files on the 9p share show up
//   late, through the lab's page cache) that stops, kills the lab; the boots that had not finished
//   run in a fresh lab VM, at most LAB_RESTARTS times. A boot that was running when its lab
//   wedged is a rerun: its result carries `rerun` (reason, attempts) and the wedged lab's console
//   tail and partial event stream are kept under reports/out/lab/kept/ as the first attempt's
//   evidence. Boots that had not started yet run for the first time in the fresh lab.
// - A lab VM that dies (its QEMU ends before the batch reported its exit code: QEMU crashed, a lab
//   vCPU triple-faulted, or the lab kernel oopsed or panicked) is lost the same way and handled the
//   same way: the outer QEMU TCG's emulated SVM breaks the lab's own CPU state under both stacks
//   (docs/lab-fault-rate.md); its exit, stderr, reset log verdict and console are the kept evidence.
// - A triple fault the guest did not ask for (more than a reboot=triple boot's one per reboot) in
//   an own-VMM boot at SMP 2 or more is rerun once, as the lab's: QEMU/KVM, run as a control in the same
//   lab, faulted the same way there (docs/lab-fault-rate.md). The first attempt's event stream is
//   kept, the result carries `rerun`, and the testcase is reported flaky (JUnit, summary, the
//   run's last lines), never as a plain pass; a rerun that faults again fails. At SMP 1 neither
//   stack has faulted unasked in the lab, so a fault there is the boot's failure, not rerun.
//   QEMU reports no triple fault as such (a reset is a reset), so its boots are never rerun for one.
// - A boot whose vCPU state read back impossible at its stop (rip above 4 GiB outside long mode,
//   and the like: vmm/vcpu/impossible-state.ts) is rerun once at any SMP, the same way: the own
//   VMM writes no register outside resets, and a hung QEMU/KVM boot in the same lab showed the
//   same lab-kernel address (docs/lab-fault-rate.md). Native targets report it as the failure it is.
// - Evidence of a shutdown: the batch traces the lab kernel's KVM (lab/kvm-trace.ts; off with
//   BOOTGATE_LAB_KVM_TRACE=0) and stops the trace at the first shutdown exit the boot did not ask
//   for, so the faulting vCPU's last exits and the rip it shut down at (which SVM KVM's reset of
//   the VMCB erases from the registers) are kept beside the first attempt, named in the rerun's
//   reason, and attached to a counted attempt's result (its failure diagnostic). The own VMM saves
//   the guest's first MiB at each triple fault (vmm/machine/memory-snapshot.ts); the traced one's
//   snapshot is kept too, and the bytes at the shutdown rip join the summary.
// - A boot still running OVERRUN_SLACK_S past its own timeout (lab-boot-watch.ts: the stack under
//   test did not end itself, as an own-VMM SMP 8 boot once kept a CI batch waiting 38 minutes)
//   stops its lab VM. That boot fails with the events it left, never rerun (a stack that cannot
//   stop is a finding); the boots behind it run in a fresh lab VM, within LAB_RESTARTS.
// - Quirk boots are never rerun (their failure is the point); BOOTGATE_NO_RERUN=1 reruns nothing
//   (a wedged lab then fails the boots it did not finish).

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kvmTraceExcerpt, kvmTraceShellFunctions, kvmTraceSummary, shutdownFilter } from '../../lab/kvm-trace.js';
import { bytesAtRip } from '../../vmm/machine/memory-snapshot.js';
import { heartbeatWatch, lockupWatch } from '../../lab/lockup.js';
import type { LabQemuKind } from '../../lab/qemu.js';
import { runInLab } from '../../lab/run.js';
import { type BootResult, parseEventStream, type Rerun } from '../boot-result.js';
import type { BootRequest } from '../target.js';
import { parseVmmEvents } from './events-parser.js';
import { shutdownSnapshot } from './shutdown-snapshot.js';
import { batchProgress } from './lab-batch-progress.js';
import { bootOverrunWatch, OVERRUN_SLACK_S } from './lab-boot-watch.js';
import { cliArgs } from './target.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/dist\/$/, '/');
const CLI = 'dist/vmm/cli/main.js';
const BOOT_TO_JSON = 'dist/targets/boot-to-json.js';
/** The stack a batch runs unless told otherwise. */
export const OWN_VMM = 'vmm:kvm';

export interface LabBoot {
  id: string;
  req: BootRequest;
}

/** Fresh lab VMs a batch may start after lab VMs that wedged. */
export const LAB_RESTARTS = 2;
/**
 * Whether an unrequested triple fault inside the lab is the lab's (rerun once) rather than the
 * boot's (a failure). True since the QEMU/KVM control faulted in the same lab at SMP 2 and 8
 * (docs/lab-fault-rate.md); only for boots at LAB_FAULT_RERUN_MIN_SMP or more.
 */
export const LAB_TRIPLE_FAULTS_ARE_INFRASTRUCTURE = true;
/** The smallest SMP whose unrequested lab faults are rerun: where the control stack faulted too. */
export const LAB_FAULT_RERUN_MIN_SMP = 2;
/** Set to 1, nothing is rerun: neither a wedged lab nor a triple fault. */
export const NO_RERUN_ENV = 'BOOTGATE_NO_RERUN';
/** Set to 0, the batch does not trace L1 KVM's exits (lab/kvm-trace.ts) for a shutdown's evidence. */
export const KVM_TRACE_ENV = 'BOOTGATE_LAB_KVM_TRACE';
/** Where first attempts' evidence is kept (the batch folder itself is removed). */
export const KEPT_DIR = join(ROOT, 'reports', 'out', 'lab', 'kept');

export interface RerunPolicy {
  /** Fresh lab VMs after wedged ones. */
  labRestarts: number;
  /** Reruns of a non-quirk boot after an unrequested triple fault (0 or 1). */
  tripleFaultReruns: number;
}

export function rerunPolicy(env: NodeJS.ProcessEnv = process.env, tripleFaultsAreInfrastructure = LAB_TRIPLE_FAULTS_ARE_INFRASTRUCTURE): RerunPolicy {
  if (env[NO_RERUN_ENV] === '1') return { labRestarts: 0, tripleFaultReruns: 0 };
  return { labRestarts: LAB_RESTARTS, tripleFaultReruns: tripleFaultsAreInfrastructure ? 1 : 0 };
}

/** How many triple faults a boot asks for: one per reboot with reboot=triple, else none. */
export function requestedTripleFaults(req: BootRequest): number {
  return req.reboot === 'triple' ? (req.reboots ?? 1) : 0;
}

/**
 * The triple-fault count above which the batch reruns the boot once, or undefined when a triple
 * fault never leads to a rerun (policy, a quirk boot, or a boot below LAB_FAULT_RERUN_MIN_SMP).
 */
export function tripleFaultRerunAbove(req: BootRequest, policy: RerunPolicy): number | undefined {
  if (policy.tripleFaultReruns === 0 || (req.quirks?.length ?? 0) > 0 || req.smp < LAB_FAULT_RERUN_MIN_SMP) return undefined;
  return requestedTripleFaults(req);
}

/**
 * Whether a boot is rerun once when its vCPU state read back impossible (vmm/vcpu/impossible-state.ts):
 * at any SMP, since no guest can cause it, but never a quirk boot, and not when reruns are off.
 */
export function impossibleStateRerun(req: BootRequest, policy: RerunPolicy): boolean {
  return policy.tripleFaultReruns > 0 && (req.quirks?.length ?? 0) === 0;
}

/**
 * The batch script's test (sh) whether a finished first attempt, its event stream at `ev` (shell-
 * quoted), is rerun: more triple faults than `above`, or (with `impossible`) an impossible state.
 */
export function rerunCondition(ev: string, above: number | undefined, impossible: boolean): string {
  const conditions = [
    ...(above !== undefined ? [`[ "$(grep -c '${TRIPLE_FAULT_EVENT}' ${ev})" -gt ${above} ]`] : []),
    ...(impossible ? [`grep -q '${IMPOSSIBLE_STATE}' ${ev}`] : []),
  ];
  return conditions.length > 0 ? conditions.join(' || ') : 'false';
}

/** Lab console lines of a kernel that failed, not of a QEMU that died under it. */
const KERNEL_FAULT = /Kernel panic|BUG: |Oops|general protection fault|kernel BUG/;

/**
 * Why a batch lost its lab VM, or undefined when the lab ran the batch to its end: a lockup or a
 * stalled heartbeat (`lockup`), or a VM that died (QEMU ended before the batch's exit code).
 */
export function labLoss(lab: { status: string; error?: { message: string }; consoleTail: string }, lockup: string | undefined): string | undefined {
  if (lockup !== undefined) return `wedged (${lockup})`;
  if (lab.status !== 'vm-died') return undefined;
  // A lab kernel that oopsed or panicked and took its VM down is lost like a lab that died: the
  // lab's kernel runs on the outer QEMU's emulated SVM, which was seen to break its CPU state
  // under both stacks (silent lab deaths where QEMU logged a lab vCPU's triple fault, the lab
  // kernel's rip in a nested guest's registers: docs/lab-fault-rate.md). Its first line names it.
  const fault = lab.consoleTail.split('\n').find((l) => KERNEL_FAULT.test(l));
  if (fault !== undefined) return `died, its kernel failed (${fault.trim()})`;
  return `died (${(lab.error?.message ?? 'QEMU ended').split('\nlab console tail:')[0]!.trim()})`;
}

/** Whether a batch whose lab VM number `attempt` (0-based) was lost may start another one. */
export function mayRestartLab(attempt: number, policy: RerunPolicy): boolean {
  return attempt < policy.labRestarts;
}

/** One earlier attempt of a boot that did not count: its reason and its kept evidence. */
export interface LostAttempt {
  reason: string;
  evidence: string;
}

/** The `rerun` a result gets from its lost attempts (undefined when the first attempt counted). */
export function rerunOf(lost: readonly LostAttempt[]): Rerun | undefined {
  if (lost.length === 0) return undefined;
  return { reason: lost.map((l) => l.reason).join('; then '), firstAttempt: lost[0]!.evidence, attempts: lost.length + 1 };
}

const TRIPLE_FAULT_EVENT = '"event":"triple-fault"';
/** In the final event's diagnostic: vCPUs whose registers read back in a state no CPU can be in. */
const IMPOSSIBLE_STATE = '"impossibleStates":';
/** The batch script touches its heartbeat file this often (s); silence this long (s) = frozen lab. */
const HEARTBEAT_EVERY_S = 5;
const HEARTBEAT_STALE_S = 90;
const HEARTBEAT_LINE = '@@lab-heartbeat';
/** The batch script's line before each boot starts: which boot a wedged lab was running. */
const START_LINE = /@@batch (\S+) start/g;

export interface LabBatch {
  results: Map<string, BootResult>;
  /** Lab VMs that locked up (replaced, unless no rerun was allowed), with the console line that showed it. */
  lockups: string[];
  /** Lab wall time, and when the first boot started (lab + Node start-up). */
  wallMs: number;
  readyMs?: number;
  consoleTail: string;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

export interface LabBatchOptions {
  smp?: number;
  memMiB?: number;
  timeoutS: number;
  qemu?: LabQemuKind;
  /** The target run inside the lab (a selectedTargets name): `vmm:kvm` (default) or `qemu:<accel>`. */
  inner?: string;
}

export async function bootBatchInLab(boots: readonly LabBoot[], opts: LabBatchOptions): Promise<LabBatch> {
  const inner = opts.inner ?? OWN_VMM;
  const own = inner === OWN_VMM;
  const labName = `${inner}@lab`;
  const policy = own ? rerunPolicy() : { ...rerunPolicy(), tripleFaultReruns: 0 };
  const name = `batch-${process.pid}-${Date.now()}`;
  const dir = join(ROOT, 'reports', 'out', 'lab', name);
  const kept = join(KEPT_DIR, name);
  mkdirSync(dir, { recursive: true });
  const eventsOf = (b: LabBoot) => join(dir, `${b.id}.jsonl`);
  const traceOf = (b: LabBoot) => join(dir, `${b.id}.kvm-trace`);
  const traced = process.env[KVM_TRACE_ENV] !== '0';
  const resultOf = (b: LabBoot) => join(dir, `${b.id}.result.json`);
  const finished = (b: LabBoot) =>
    own ? existsSync(eventsOf(b)) && hasFinal(parseVmmEvents(readFileSync(eventsOf(b), 'utf8'), eventsOf(b)).events) : existsSync(resultOf(b));
  const keep = (from: string, as: string): string => {
    mkdirSync(kept, { recursive: true });
    const to = join(kept, as);
    renameSync(from, to);
    return to;
  };
  /**
   * A saved L1 KVM trace, kept (whole) with its excerpt; undefined without a file or a shutdown in
   * it. With the boot's events, the low-memory snapshot of the traced shutdown is kept too and the
   * bytes at its rip join the summary (`suffix`: '.first' for a first attempt's files).
   */
  const keptTrace = (file: string, as: string, events: readonly BootResult['events'][number][], suffix = ''): BootResult['kvmTrace'] => {
    if (!existsSync(file)) return undefined;
    const excerpt = kvmTraceExcerpt(readFileSync(file, 'utf8'));
    let summary = kvmTraceSummary(excerpt);
    const snap = excerpt ? shutdownSnapshot(events, excerpt.vcpu) : undefined;
    if (excerpt && snap !== undefined && existsSync(`${snap}${suffix}`)) {
      const bytes = bytesAtRip(readFileSync(`${snap}${suffix}`), Number(excerpt.rip));
      summary += `; ${bytes} (snapshot: ${keep(`${snap}${suffix}`, `${as}.lowmem`)})`;
    }
    return { summary, lines: excerpt?.lines ?? [], file: keep(file, `${as}.kvm-trace.txt`) };
  };
  const lost = new Map<string, LostAttempt[]>(boots.map((b) => [b.id, []]));
  const lockups: string[] = [];
  /** Boots that ran far past their own timeout (lab-boot-watch.ts): failed, never rerun. */
  const overran = new Map<string, { ranS: number; lab: number; consoleTail: string }>();
  let wallMs = 0;
  let readyMs: number | undefined;
  let lab: Awaited<ReturnType<typeof runInLab>> | undefined;
  for (let attempt = 0; ; attempt++) {
    const todo = boots.filter((b) => !finished(b) && !overran.has(b.id));
    if (todo.length === 0) break;
    const lines = [
      '#!/bin/sh',
      `cd ${shellQuote(ROOT)}`,
      `(while :; do echo ${HEARTBEAT_LINE}; sleep ${HEARTBEAT_EVERY_S}; done) &`,
      'HEARTBEAT=$!',
    ];
    if (traced) lines.push(kvmTraceShellFunctions(), 'kvm_trace_setup');
    for (const b of todo) {
      let args: string;
      if (own) {
        args = `${CLI} ${cliArgs(b.req, eventsOf(b)).map(shellQuote).join(' ')}`;
      } else {
        const reqFile = join(dir, `${b.id}.request.json`);
        writeFileSync(reqFile, JSON.stringify(b.req));
        args = [BOOT_TO_JSON, '--target', inner, '--request', reqFile, '--result', resultOf(b)].map(shellQuote).join(' ');
      }
      // Traced: the ring cleared and the shutdown trigger armed before the boot, the trace saved
      // after it when a shutdown stopped it (lab/kvm-trace.ts).
      const arm = traced ? `kvm_trace_arm ${shellQuote(shutdownFilter(requestedTripleFaults(b.req) > 0))}; ` : '';
      const save = traced ? `; kvm_trace_save ${shellQuote(traceOf(b))}` : '';
      const run = `${arm}node ${args} > ${shellQuote(join(dir, `${b.id}.out`))} 2> ${shellQuote(join(dir, `${b.id}.err`))}; rc=$?${save}`;
      lines.push(`echo "@@batch ${b.id} start"`, run);
      const above = tripleFaultRerunAbove(b.req, policy);
      const impossible = own && impossibleStateRerun(b.req, policy);
      if (above !== undefined || impossible) {
        // One event per line: grep -c counts the triple faults of the first attempt; the final
        // event's diagnostic names vCPUs whose state read back impossible.
        const ev = shellQuote(eventsOf(b));
        const trace = shellQuote(traceOf(b));
        lines.push(
          `if ${rerunCondition(ev, above, impossible)}; then mv ${ev} ${shellQuote(`${eventsOf(b)}.first`)}; [ ! -e ${trace} ] || mv ${trace} ${shellQuote(`${traceOf(b)}.first`)}; for f in ${ev}.reset-*.lowmem; do [ ! -e "$f" ] || mv "$f" "$f.first"; done; echo "@@batch ${b.id} retry"; ${run}; fi`,
        );
      }
      // Flush the boot's files to the share now: a lab killed later loses what its page cache held.
      lines.push(`echo "@@batch ${b.id} exit $rc"; sync`);
    }
    lines.push('kill $HEARTBEAT');
    const script = join(dir, `batch-${attempt}.sh`);
    writeFileSync(script, `${lines.join('\n')}\n`, { mode: 0o755 });
    const progress = batchProgress(todo, attempt, undefined, labName);
    const abort = new AbortController();
    let lockup: string | undefined;
    let stdout = '';
    const heartbeat = heartbeatWatch(HEARTBEAT_STALE_S, (reason) => {
      lockup ??= reason;
      abort.abort();
    });
    let overrun: { id: string; ranS: number } | undefined;
    const timeoutOf = new Map(todo.map((b) => [b.id, b.req.timeoutS]));
    const watch = bootOverrunWatch(
      (id) => timeoutOf.get(id),
      (id, ranS) => {
        overrun = { id, ranS };
        abort.abort();
      },
    );
    lab = await runInLab({
      command: ['sh', script],
      cwd: ROOT,
      smp: opts.smp,
      memMiB: opts.memMiB,
      timeoutS: opts.timeoutS,
      qemu: opts.qemu,
      // The patched QEMU may be built first (minutes): say so.
      log: opts.qemu === 'patched' ? (line) => process.stderr.write(`${line}\n`) : undefined,
      signal: abort.signal,
      onOutput: (stream, chunk) => {
        const text = chunk.toString('utf8');
        if (text.includes(HEARTBEAT_LINE)) heartbeat.beat();
        if (stream === 'stdout') {
          watch.feed(text);
          const before = stdout.length;
          stdout += text.replaceAll(`${HEARTBEAT_LINE}\n`, '');
          for (const line of progress.feed(stdout.slice(before))) process.stderr.write(`${line}\n`);
        }
      },
      onConsole: lockupWatch((line) => {
        lockup ??= line;
        abort.abort();
      }),
    });
    heartbeat.stop();
    watch.stop();
    wallMs += lab.timings.wallMs;
    readyMs ??= lab.timings.readyMs;
    if (overrun !== undefined && lockup === undefined) {
      // The boot's own failure (its stack did not end itself), not the lab's: the boots behind it
      // run in a fresh lab, within the same restart budget.
      overran.set(overrun.id, { ranS: overrun.ranS, lab: attempt + 1, consoleTail: lab.consoleTail });
      if (!mayRestartLab(attempt, policy)) break;
      continue;
    }
    const loss = labLoss(lab, lockup);
    if (loss === undefined) break;
    lockups.push(loss);
    if (!mayRestartLab(attempt, policy)) break;
    // The boot the wedged lab was running is rerun; keep what it left and the lab's console.
    const started = new Set([...stdout.matchAll(START_LINE)].map((m) => m[1]!));
    const inFlight = todo.filter((b) => !finished(b) && (started.has(b.id) || existsSync(eventsOf(b))));
    if (inFlight.length === 0) continue;
    mkdirSync(kept, { recursive: true });
    const consoleFile = join(kept, `lab-${attempt + 1}-console.txt`);
    writeFileSync(consoleFile, `${loss}\n\n${lab.consoleTail}\n`);
    for (const b of inFlight) {
      if (existsSync(eventsOf(b))) keep(eventsOf(b), `${b.id}.lab-${attempt + 1}.jsonl`);
      lost.get(b.id)!.push({ reason: `lab VM ${attempt + 1} ${loss} while the boot ran`, evidence: consoleFile });
    }
  }
  const results = new Map<string, BootResult>();
  for (const b of boots) {
    const events = eventsOf(b);
    const err = join(dir, `${b.id}.err`);
    const stderr = existsSync(err) ? readFileSync(err, 'utf8') : '';
    const r = own ? parseEventStream(labName, existsSync(events) ? readFileSync(events, 'utf8') : '', stderr, events) : readResult(resultOf(b), labName, stderr);
    const first = `${events}.first`;
    if (existsSync(first)) {
      const firstText = readFileSync(first, 'utf8');
      const why = firstAttempt(firstText);
      const trace = keptTrace(`${traceOf(b)}.first`, `${b.id}.first`, parseEventStream(labName, firstText, '').events, '.first');
      lost.get(b.id)!.push({ reason: trace ? `${why}; ${trace.summary} (trace: ${trace.file})` : why, evidence: keep(first, `${basename(events, '.jsonl')}.first.jsonl`) });
    }
    const trace = keptTrace(traceOf(b), b.id, r.events);
    if (trace) r.kvmTrace = trace;
    r.rerun = rerunOf(lost.get(b.id)!);
    const over = overran.get(b.id);
    if (over !== undefined) {
      r.status = 'error';
      r.error = {
        code: 'E_TIMEOUT',
        message: `boot ${b.id} was still running ${over.ranS} s after it started in lab VM ${over.lab}, ${OVERRUN_SLACK_S} s past its own ${b.req.timeoutS} s timeout: ${labName} did not end itself (its partial event stream is judged; the lab VM was stopped and the boots after this one ran in a fresh one); that lab's console tail:\n${over.consoleTail}\nstderr: ${r.stderr.slice(-1500)}`,
      };
    } else if (!finished(b)) {
      r.status = 'error';
      // How the lab ended (QEMU's exit signal or code and its stderr), without the tails repeated below.
      const how = lab?.error ? `: ${lab.error.message.split('\nlab console tail:')[0]!.trim()}` : '';
      r.error ??= {
        code: lab?.status === 'timeout' ? 'E_TIMEOUT' : 'E_INTERNAL',
        message: `boot ${b.id} left no final event (lab ${lab?.status}${how}${lockups.length ? `; ${lockups.length} lab VM(s) lost: ${lockups.join(' | ')}` : ''}); lab console tail:\n${lab?.consoleTail}\nstderr: ${r.stderr.slice(-1500)}`,
      };
    }
    results.set(b.id, r);
  }
  if (process.env.BOOTGATE_KEEP_LAB_OUTPUT === undefined) rmSync(dir, { recursive: true, force: true });
  return { results, lockups, wallMs, readyMs, consoleTail: lab?.consoleTail ?? '' };
}

function hasFinal(events: ReadonlyArray<{ event: string }>): boolean {
  return events.some((e) => e.event === 'final');
}

/**
 * A BootResult boot-to-json.ts wrote, under the lab target's name; without the file, an empty
 * result (status killed), which the caller turns into an error naming how the lab ended.
 */
export function readResult(file: string, name: string, stderr: string): BootResult {
  if (!existsSync(file)) return parseEventStream(name, '', stderr);
  const r = JSON.parse(readFileSync(file, 'utf8')) as BootResult;
  return { ...r, target: name, stderr: r.stderr || stderr };
}

/** What ended the first attempt of a boot rerun after an unrequested triple fault or an impossible vCPU state, for the report. */
export function firstAttempt(text: string): string {
  const parsed = parseEventStream('vmm:kvm@lab', text, '');
  const impossible = parsed.diagnostic?.impossibleStates ?? [];
  if (impossible.length > 0) {
    return `in the first attempt the lab's KVM returned a CPU state no x86 CPU can be in (${impossible.map((i) => `vCPU ${i.vcpu}: ${i.why}`).join('; ')}); the boot ended ${parsed.status}`;
  }
  const faults = parsed.events.filter((e) => e.event === 'triple-fault');
  const at = faults.length > 0 ? faults.map((f) => `vCPU ${String(f.vcpu)} triple-faulted ${(f.t / 1000).toFixed(1)} s into the boot`).join(', then ') : 'it triple-faulted';
  return `in the first attempt ${at}, more often than the guest asked for`;
}
