// Targets `<inner>@lab` (`vmm:kvm@lab`, `qemu:kvm@lab`): a stack run inside the nested lab, for
// guests this host's /dev/kvm cannot run (Linux, OVMF on PVM). A suite hands over all its boots at
// once; they run one after another inside ONE lab VM (the lab boot is paid once). The own VMM's
// boots run in one Node process there too (lab-series.ts; Node's start-up is paid once, and again
// only after a boot that did not end cleanly), each writing its event stream into the project
// share, which the harness then reads back as a BootResult; any other stack runs a process per
// boot through targets/boot-to-json.ts, which writes the finished BootResult there instead.
//
// What is rerun, and why: lab-rerun.ts (the decisions, pure and unit-tested); this file carries
// them out: lab VMs replaced, first attempts' evidence kept, the batch script's rerun test.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kvmTraceExcerpt, kvmTraceShellFunctions, kvmTraceSummary, shutdownFilter } from '../../lab/kvm-trace.js';
import { bytesAtRip } from '../../vmm/machine/memory-snapshot.js';
import { heartbeatWatch, lockupWatch } from '../../lab/lockup.js';
import type { LabQemuKind } from '../../lab/qemu.js';
import { runInLab } from '../../lab/run.js';
import { type BootResult, parseEventStream } from '../boot-result.js';
import type { BootRequest } from '../target.js';
import { parseVmmEvents } from './events-parser.js';
import { shutdownSnapshot } from './shutdown-snapshot.js';
import { batchProgress } from './lab-batch-progress.js';
import { bootOverrunWatch, OVERRUN_SLACK_S } from './lab-boot-watch.js';
import { cliArgs } from './target.js';
import { seriesLoop, type SeriesPlan } from './lab-series-plan.js';
import { firstAttempt, impossibleStateRerun, labLoss, type LostAttempt, mayRestartLab, requestedTripleFaults, rerunCondition, rerunOf, rerunPolicy, tripleFaultRerunAbove } from './lab-rerun.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/dist\/$/, '/');
const BOOT_TO_JSON = 'dist/targets/boot-to-json.js';
/** The stack a batch runs unless told otherwise. */
export const OWN_VMM = 'vmm:kvm';

export interface LabBoot {
  id: string;
  req: BootRequest;
}

/** Set to 0, the batch does not trace L1 KVM's exits (lab/kvm-trace.ts) for a shutdown's evidence. */
export const KVM_TRACE_ENV = 'BOOTGATE_LAB_KVM_TRACE';
/** Where first attempts' evidence is kept (the batch folder itself is removed). */
export const KEPT_DIR = join(ROOT, 'reports', 'out', 'lab', 'kept');


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
  /** Which of the lab lanes running at once this batch is (`1/2`: lab-lanes.ts), for its folder and progress lines. */
  lane?: string;
}

export async function bootBatchInLab(boots: readonly LabBoot[], opts: LabBatchOptions): Promise<LabBatch> {
  const inner = opts.inner ?? OWN_VMM;
  const own = inner === OWN_VMM;
  const labName = `${inner}@lab`;
  const policy = own ? rerunPolicy() : { ...rerunPolicy(), tripleFaultReruns: 0, impossibleStateReruns: 0 };
  const name = `batch-${process.pid}-${Date.now()}${opts.lane ? `-lane${opts.lane.split('/')[0]}` : ''}`;
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
    // Traced: the ring cleared and the shutdown trigger armed before each boot, the trace saved
    // after it when a shutdown stopped it (lab/kvm-trace.ts).
    const arm = (b: LabBoot) => (traced ? `kvm_trace_arm ${shellQuote(shutdownFilter(requestedTripleFaults(b.req) > 0))}` : undefined);
    const save = (b: LabBoot) => (traced ? `kvm_trace_save ${shellQuote(traceOf(b))}` : undefined);
    /** Shell: true when the first attempt is rerun, its files (events, trace, snapshots) moved aside as `.first`. */
    const rerunTest = (b: LabBoot): string | undefined => {
      const above = tripleFaultRerunAbove(b.req, policy);
      const impossible = impossibleStateRerun(b.req, policy);
      if (above === undefined && !impossible) return undefined;
      // One event per line: grep -c counts the triple faults of the first attempt; the final
      // event's diagnostic names vCPUs whose state read back impossible.
      const ev = shellQuote(eventsOf(b));
      const trace = shellQuote(traceOf(b));
      return `if ${rerunCondition(ev, above, impossible)}; then mv ${ev} ${shellQuote(`${eventsOf(b)}.first`)}; [ ! -e ${trace} ] || mv ${trace} ${shellQuote(`${traceOf(b)}.first`)}; for f in ${ev}.reset-*.lowmem; do [ ! -e "$f" ] || mv "$f" "$f.first"; done; true; else false; fi`;
    };
    if (own) {
      // One Node process runs the boots (lab-series.ts): started again only after a boot that did not end cleanly.
      const plan: SeriesPlan = {
        setup: traced ? `${kvmTraceShellFunctions()}\nkvm_trace_setup` : '',
        // Per lab VM: a fresh lab's kernel has no trigger armed.
        env: traced ? { KT_STATE: join(dir, `kvm-trace-${attempt}.trigger`) } : {},
        progress: join(dir, `series-${attempt}.progress`),
        boots: todo.map((b) => ({
          id: b.id,
          argv: cliArgs(b.req, eventsOf(b)).slice(1),
          out: join(dir, `${b.id}.out`),
          err: join(dir, `${b.id}.err`),
          before: arm(b),
          after: save(b),
          rerunIf: rerunTest(b),
        })),
      };
      const planFile = join(dir, `series-${attempt}.json`);
      writeFileSync(planFile, JSON.stringify(plan));
      lines.push(...seriesLoop(planFile, plan.progress));
    } else {
      // Any other stack: a process per boot (boot-to-json.ts), never rerun (its policy allows none).
      if (traced) lines.push(kvmTraceShellFunctions(), 'kvm_trace_setup');
      for (const b of todo) {
        const reqFile = join(dir, `${b.id}.request.json`);
        writeFileSync(reqFile, JSON.stringify(b.req));
        const args = [BOOT_TO_JSON, '--target', inner, '--request', reqFile, '--result', resultOf(b)].map(shellQuote).join(' ');
        const before = arm(b);
        const after = save(b);
        lines.push(
          `echo "@@batch ${b.id} start"`,
          `${before ? `${before}; ` : ''}node ${args} > ${shellQuote(join(dir, `${b.id}.out`))} 2> ${shellQuote(join(dir, `${b.id}.err`))}; rc=$?${after ? `; ${after}` : ''}`,
          // Flush the boot's files to the share now: a lab killed later loses what its page cache held.
          `echo "@@batch ${b.id} exit $rc"; sync`,
        );
      }
    }
    lines.push('kill $HEARTBEAT');
    const script = join(dir, `batch-${attempt}.sh`);
    writeFileSync(script, `${lines.join('\n')}\n`, { mode: 0o755 });
    const progress = batchProgress(todo, attempt, undefined, labName, opts.lane);
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
