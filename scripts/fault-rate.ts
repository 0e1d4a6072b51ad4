// Unrequested-fault rate in the nested lab, own VMM vs QEMU/KVM (issue 13, item 2): the guests
// whose lab boots used to be rerun after a triple fault, booted again and again on both stacks in
// the same lab VM, interleaved, so a fault rate on one stack can be told from the lab's.
//   irqtest: debian-irqtest, msi+intx, 32 interrupts per CPU, a 2 kHz PIT round, the IPI rounds
//            (the linux-interrupts suite's boot). QEMU has no bootgate interrupt test device; the
//            probe's module drives QEMU's `edu` device instead (guests/irqtest/bootgate_irqtest.c),
//            with the HPET off so the PIT reaches IRQ 0 as on the own VMM, which has no HPET.
//   triple:  debian-probe, reboot=triple once (the bios-reboot suite's boot): one triple fault asked for.
// Per boot: faults the guest did not ask for, any other failure (the probe's done line missing, an
// irqtest error or failed round, the second boot missing), and lab lockups (the lab VM wedged while
// the boot ran). Each reset is attributed by what the console showed since the previous one: the
// probe's reboot line (requested: reboot=t is a triple fault), neither the firmware banner nor a
// probe line (the firmware's own reset: on QEMU, SeaBIOS resets once more right after a reboot,
// before its banner), or anything else (unrequested). The own VMM also names every triple fault (which vCPU, when); its count
// beyond the requested ones is its figure. QEMU's QMP RESET events do not tell a triple fault from
// another guest reset, so the console attribution is its figure.
// On QEMU the probe's boot count (CMOS byte 0x7E through /dev/nvram) does not survive the reset:
// every boot reports boot 1 and reboots again, so a QEMU reboot=triple run loops until its timeout
// (TRIPLE_LOOP_S), several requested faults a run; rates are per requested fault as well as per run. Each round runs every (workload, SMP, stack) once in a FRESH lab
// VM, stacks alternating which goes first, so a lab that degrades over time hits both stacks alike.
// Records go to reports/out/fault-rate/records.jsonl (one line a boot, appended after each round);
// `--table` prints the table from that file alone; touching reports/out/fault-rate/stop ends a run
// after the round in progress.
//
//   npm run fault-rate -- --boots N [--smp 2,8] [--workloads irqtest,triple] [--configs irqtest:2,triple:2,irqtest:8] [--stacks own,qemu]

import { appendFileSync, chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { heartbeatWatch, lockupWatch } from '../lab/lockup.js';
import { runInLab } from '../lab/run.js';
import { inLab, LAB_ENV, labUnavailable } from '../lab/target.js';
import type { BootResult } from '../targets/boot-result.js';
import { parseProbeEvents, probeBoots } from '../suites/harness/probe.js';
import { findExecutable, qemuBinary } from '../targets/qemu/binary.js';
import type { BootRequest } from '../targets/index.js';
import { bootOnQemu } from '../targets/qemu/boot.js';
import { bootOnOwnVmm } from '../targets/vmm/target.js';
import { resolveGuest } from '../guests/catalog.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url)).replace(/\/dist\/$/, '/');
const OUT_DIR = join(ROOT, 'reports', 'out', 'fault-rate');
const RECORDS = join(OUT_DIR, 'records.jsonl');
/** Seconds without any other QEMU on the host before a round starts. */
const QUIET_S = 30;
/** Touch this file to end a long run after the round in progress (its records kept). */
const STOP_FILE = join(OUT_DIR, 'stop');
/** Per boot, in the lab: an SMP 8 irqtest boot takes ~70-90 s there; a hung one is a failure, not a wait. */
const BOOT_TIMEOUT_S = 300;
const LAB_MEM_MIB = 3072;
const LAB_START_S = 120;
/** The inner run prints a heartbeat this often; silence this long means a frozen lab (as targets/vmm/lab-batch.ts). */
const HEARTBEAT_EVERY_MS = 5_000;
const HEARTBEAT_STALE_S = 90;
const HEARTBEAT_LINE = '@@fault-rate heartbeat';
const START_LINE = /@@fault-rate start (\d+)/g;
const START_OR_BEAT = /@@fault-rate (start \d+|heartbeat)/;
/** Fresh lab VMs a round may use after wedged ones before its remaining boots are given up. */
const ROUND_LAB_RESTARTS = 2;
const SERIAL_TAIL = 1_500;
/** QEMU reboot=triple runs loop (see the header): stop after this long, ~5 reboots in the lab. */
const TRIPLE_LOOP_S = 60;
const REBOOT_LINE = '"event":"reboot"';
const FIRMWARE_BANNER = 'SeaBIOS (version';

export const WORKLOADS = {
  irqtest: { guest: 'debian-irqtest', irqtest: 'msi+intx,32,2000' },
  triple: { guest: 'debian-probe', reboot: 'triple', reboots: 1 },
} as const;
export type Workload = keyof typeof WORKLOADS;
export type Stack = 'own' | 'qemu';
const STACK_NAMES: Record<Stack, string> = { own: 'own VMM', qemu: 'QEMU 7.2 -accel kvm' };
const DONE = '@@bootgate \\{"event":"done"';

export interface PlannedBoot {
  round: number;
  stack: Stack;
  workload: Workload;
  smp: number;
}

export interface BootRecord extends PlannedBoot {
  /** The lab VM wedged while this boot ran: its console line. Nothing else is known then. */
  lockup?: string;
  status?: BootResult['status'];
  wallMs?: number;
  resets?: number;
  /** Triple faults the guest asked for: the probe's reboot lines (reboot=t). */
  requested?: number;
  /** Faults the guest did not ask for: own VMM, triple faults beyond the requested; QEMU, resets attributed as unrequested. */
  unrequested?: number;
  /** Every reset attributed by the console before it (see the header). */
  resetsBy?: ResetAttribution;
  /** Own VMM: every triple-fault event (which vCPU, when, its registers). */
  tripleFaults?: Array<{ vcpu: number; t: number; registers: Record<string, unknown> }>;
  /** QEMU: when each RESET came (ms since start) and QMP's reason. */
  resetEvents?: Array<{ t: number; source: string }>;
  /** Why the boot failed otherwise (no unrequested reset), or undefined. */
  failure?: string;
  serialTail?: string;
}

/** The interleaved plan: every config and stack once a round, the stack that goes first alternating. */
export function plan(rounds: number, configs: ReadonlyArray<{ workload: Workload; smp: number }>, stacks: readonly Stack[], firstRound = 1): PlannedBoot[] {
  const out: PlannedBoot[] = [];
  for (let round = firstRound; round < firstRound + rounds; round++) {
    const order = round % 2 === 1 ? stacks : [...stacks].reverse();
    for (const c of configs) for (const stack of order) out.push({ round, stack, ...c });
  }
  return out;
}

/** A QEMU reboot=triple run loops (see the header) and ends at its timeout on purpose. */
function loops(p: PlannedBoot): boolean {
  return p.stack === 'qemu' && p.workload === 'triple';
}

export function requestOf(p: PlannedBoot): BootRequest {
  // The own VMM's timeout is scaled by 4 inside the lab (targets/vmm/target.ts TIMEOUT_SCALE); QEMU's is not.
  const timeoutS = p.stack === 'own' ? BOOT_TIMEOUT_S / 4 : loops(p) ? TRIPLE_LOOP_S : BOOT_TIMEOUT_S;
  return { ...WORKLOADS[p.workload], smp: p.smp, timeoutS, until: DONE };
}

export interface ResetAttribution {
  requested: number;
  firmware: number;
  unrequested: number;
}

/** Attributes each reset by the console output since the previous reset (see the header). */
export function attributeResets(events: ReadonlyArray<{ event: string; port?: unknown; data?: unknown }>): ResetAttribution {
  const by: ResetAttribution = { requested: 0, firmware: 0, unrequested: 0 };
  let since = '';
  for (const e of events) {
    if (e.event === 'serial' && e.port === 'com1') since += String(e.data);
    else if (e.event === 'reset') {
      if (since.includes(REBOOT_LINE)) by.requested++;
      // Late bytes of the kernel's last line may arrive after the reset; POST had not printed yet.
      else if (!since.includes(FIRMWARE_BANNER) && !since.includes('@@bootgate')) by.firmware++;
      else by.unrequested++;
      since = '';
    }
  }
  return by;
}

/** What one finished boot shows: faults the guest did not ask for, else any other failure. */
export function classify(p: PlannedBoot, r: Pick<BootResult, 'status' | 'wallMs' | 'resets' | 'events' | 'serial' | 'error' | 'diagnostic'>): BootRecord {
  const requested = r.serial.split(REBOOT_LINE).length - 1;
  const resetsBy = attributeResets(r.events);
  const rec: BootRecord = { ...p, status: r.status, wallMs: Math.round(r.wallMs), resets: r.resets, requested, resetsBy };
  if (p.stack === 'own') {
    rec.tripleFaults = r.events
      .filter((e) => e.event === 'triple-fault')
      .map((e) => ({ vcpu: Number(e.vcpu), t: e.t, registers: (e.registers ?? {}) as Record<string, unknown> }));
    // A reset of another kind the guest did not ask for counts too (none seen so far).
    rec.unrequested = Math.max(rec.tripleFaults.length - requested, resetsBy.unrequested, 0);
  } else {
    rec.resetEvents = r.events.filter((e) => e.event === 'reset').map((e) => ({ t: e.t, source: String(e.source) }));
    rec.unrequested = resetsBy.unrequested;
  }
  rec.failure = otherFailure(p, r);
  if (rec.unrequested > 0 || resetsBy.unrequested > 0 || rec.failure !== undefined) rec.serialTail = r.serial.slice(-SERIAL_TAIL);
  return rec;
}

function otherFailure(p: PlannedBoot, r: Pick<BootResult, 'status' | 'serial' | 'error' | 'diagnostic'>): string | undefined {
  if (loops(p)) {
    const boots = probeBoots(parseProbeEvents(r.serial)).length;
    return boots >= 2 ? undefined : `${r.status}: ${boots} boot(s) reached init in ${TRIPLE_LOOP_S} s`;
  }
  if (r.status !== 'until-matched') return `${r.status}: ${r.error?.message ?? r.diagnostic?.reason ?? 'no done line'}`.slice(0, 300);
  const events = parseProbeEvents(r.serial);
  const bad = events.find((e) => e.event === 'irqtest-error' || e.event === 'error' || (e.event === 'irqtest-round' && e.ok !== true));
  if (bad) return `probe: ${JSON.stringify(bad).slice(0, 300)}`;
  if (p.workload === 'irqtest' && !events.some((e) => e.event === 'irqtest-done')) return 'probe: no irqtest-done line';
  if (p.workload === 'triple') {
    const boots = probeBoots(events);
    if (boots.at(-1) !== 2) return `probe: boots reported ${JSON.stringify(boots)}, expected the last to be 2`;
  }
  return undefined;
}

// --- inside the lab -------------------------------------------------------------------------

/**
 * QEMU with `extra` on the boot's command line (the one with -S); its queries (`-accel help`)
 * untouched. The harness's QEMU command line has no switch for these two, so a wrapper adds them.
 */
function qemuWith(name: string, extra: string): string {
  const real = findExecutable(qemuBinary());
  if (!real) throw new Error(`no ${qemuBinary()} on PATH`);
  const path = join(mkdtempSync(join(tmpdir(), 'fault-rate-')), name);
  writeFileSync(path, `#!/bin/sh\nfor a; do [ "$a" = -S ] && exec ${real} "$@" ${extra}; done\nexec ${real} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** The QEMU per workload: no HPET (the own VMM has none; with it the PIT does not reach IRQ 0), edu for the irqtest probe. */
type QemuByWorkload = Record<Workload, string>;

async function bootOnce(p: PlannedBoot, qemu: QemuByWorkload): Promise<BootResult> {
  const req = requestOf(p);
  if (p.stack === 'own') return bootOnOwnVmm(req);
  // The catalog refuses debian-irqtest on QEMU (it has no bootgate device); edu stands in, so boot its kernel directly.
  const guest = await resolveGuest(req.guest!, { reboot: req.reboot as 'triple' | undefined, reboots: req.reboots, irqtest: req.irqtest });
  const { guest: _g, reboot: _r, reboots: _n, irqtest: _i, ...rest } = req;
  return bootOnQemu('kvm', { ...rest, firmware: guest.firmware, linux: { kernel: guest.kernel!, initrd: guest.initrd, append: guest.append } }, { ...process.env, QEMU: qemu[p.workload] });
}

async function inner(planFile: string, out: string): Promise<void> {
  const boots = JSON.parse(readFileSync(planFile, 'utf8')) as PlannedBoot[];
  const qemu: QemuByWorkload = { irqtest: qemuWith('qemu-edu', '-device edu -machine hpet=off'), triple: qemuWith('qemu-nohpet', '-machine hpet=off') };
  const beat = setInterval(() => console.log(HEARTBEAT_LINE), HEARTBEAT_EVERY_MS);
  try {
    for (const [i, p] of boots.entries()) {
      console.log(`@@fault-rate start ${i}`);
      let rec: BootRecord;
      try {
        rec = classify(p, await bootOnce(p, qemu));
      } catch (err) {
        rec = { ...p, failure: `harness: ${(err as Error).message}`.slice(0, 300) };
      }
      const fd = openSync(out, 'a');
      writeSync(fd, `${JSON.stringify(rec)}\n`);
      fsyncSync(fd);
      closeSync(fd);
      console.log(`@@fault-rate ${describe(rec)}`);
    }
  } finally {
    clearInterval(beat);
  }
}

// --- on the host ------------------------------------------------------------------------------

export function describe(r: BootRecord): string {
  const what = `round ${r.round} ${STACK_NAMES[r.stack]} ${r.workload} SMP ${r.smp}`;
  if (r.lockup) return `${what}: lab wedged (${r.lockup})`;
  const faults = r.tripleFaults?.map((f) => `vCPU ${f.vcpu} at ${(f.t / 1000).toFixed(1)} s`).join(', ');
  const by = r.resetsBy ? ` (after the probe's reboot line ${r.resetsBy.requested}, firmware ${r.resetsBy.firmware}, other ${r.resetsBy.unrequested})` : '';
  return `${what}: ${r.status ?? 'not run'} ${r.wallMs === undefined ? '' : `${(r.wallMs / 1000).toFixed(1)} s`}, ${r.requested ?? '?'} triple fault(s) requested, resets ${r.resets ?? '?'}${by}${faults ? `, triple faults: ${faults}` : ''}, unrequested ${r.unrequested ?? '?'}${r.failure ? `, FAILED: ${r.failure}` : ''}`;
}

/** One round's boots in fresh lab VMs, a wedged lab replaced (ROUND_LAB_RESTARTS times) and its boot recorded as a lockup. */
async function runRound(boots: PlannedBoot[]): Promise<BootRecord[]> {
  const records: BootRecord[] = [];
  let todo = boots;
  for (let lab = 0; todo.length > 0; lab++) {
    if (lab > ROUND_LAB_RESTARTS) {
      for (const p of todo) records.push({ ...p, failure: `not run: ${ROUND_LAB_RESTARTS + 1} lab VMs wedged in this round` });
      break;
    }
    const planFile = join(OUT_DIR, `plan-${process.pid}.json`);
    const out = join(OUT_DIR, `round-${process.pid}.jsonl`);
    writeFileSync(planFile, JSON.stringify(todo));
    rmSync(out, { force: true });
    const abort = new AbortController();
    let lockup: string | undefined;
    let inFlight: number | undefined;
    const heartbeat = heartbeatWatch(HEARTBEAT_STALE_S, (reason) => {
      lockup ??= reason;
      abort.abort();
    });
    const result = await runInLab({
      command: ['node', 'dist/scripts/fault-rate.js', '--inner', planFile, '--out', out],
      cwd: ROOT,
      env: { ...process.env, [LAB_ENV]: '1' },
      memMiB: LAB_MEM_MIB,
      timeoutS: LAB_START_S + todo.length * (BOOT_TIMEOUT_S + 60),
      signal: abort.signal,
      onOutput: (stream, chunk) => {
        const text = chunk.toString('utf8');
        if (text.includes(HEARTBEAT_LINE)) heartbeat.beat();
        for (const m of text.matchAll(START_LINE)) inFlight = Number(m[1]);
        const shown = text.split('\n').filter((l) => l !== '' && !START_OR_BEAT.test(l));
        if (shown.length > 0) process.stderr.write(`${stream === 'stderr' ? '[lab stderr] ' : ''}${shown.join('\n')}\n`);
      },
      onConsole: lockupWatch((line) => {
        lockup ??= line;
        abort.abort();
      }),
    });
    heartbeat.stop();
    const done = existsSync(out)
      ? readFileSync(out, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as BootRecord)
      : [];
    records.push(...done);
    if (lockup === undefined && result.status !== 'exited') lockup = `lab ${result.status}: ${result.error?.message.split('\n')[0] ?? ''}`;
    if (lockup === undefined) {
      for (const p of todo.slice(done.length)) records.push({ ...p, failure: `not run: the lab ended after ${done.length} boots (${result.status}, exit ${result.exitCode})` });
      break;
    }
    // A boot that started and left no record was running when the lab wedged; else none was.
    const wedged = inFlight !== undefined && inFlight >= done.length ? todo[inFlight] : undefined;
    if (wedged) {
      records.push({ ...wedged, lockup });
      console.error(`fault-rate: ${describe({ ...wedged, lockup })}; lab console tail:\n${result.consoleTail.split('\n').slice(-8).join('\n')}`);
    } else console.error(`fault-rate: a lab VM wedged between boots (${lockup})`);
    todo = todo.slice(wedged ? inFlight! + 1 : done.length);
  }
  return records;
}

/** Command lines of the qemu-system processes running on this host (none of ours run between rounds). */
function otherQemus(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (/(^|\/)qemu-system-\S+ /.test(cmd)) out.push(`pid ${pid}: ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export interface Row {
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
    const key = `${r.workload}:${r.smp}:${r.stack}`;
    const row = rows.get(key) ?? { stack: r.stack, workload: r.workload, smp: r.smp, boots: 0, faulted: 0, faults: 0, requested: 0, otherFailures: 0, lockups: 0, notRun: 0 };
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
  return [...rows.values()].sort((a, b) => a.workload.localeCompare(b.workload) || a.smp - b.smp || a.stack.localeCompare(b.stack));
}

export function formatTable(rows: readonly Row[]): string {
  const lines = [
    '| stack | workload | SMP | runs | runs with an unrequested fault | unrequested faults | requested triple faults | other failures | lab lockups |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${STACK_NAMES[r.stack]} | ${r.workload} | ${r.smp} | ${r.boots} | ${r.faulted}/${r.boots} | ${r.faults} | ${r.requested} | ${r.otherFailures}/${r.boots} | ${r.lockups}${r.notRun ? ` (+${r.notRun} not run)` : ''} |`,
    );
  }
  return lines.join('\n');
}

function readRecords(file: string): BootRecord[] {
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

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      inner: { type: 'string' },
      out: { type: 'string' },
      boots: { type: 'string' },
      smp: { type: 'string' },
      workloads: { type: 'string' },
      configs: { type: 'string' },
      stacks: { type: 'string' },
      records: { type: 'string' },
      table: { type: 'boolean' },
    },
  });
  if (values.inner !== undefined) {
    if (!values.out) throw new TypeError('--inner needs --out');
    await inner(values.inner, values.out);
    return 0;
  }
  const records = values.records ?? RECORDS;
  if (values.table) {
    console.log(formatTable(table(readRecords(records))));
    return 0;
  }
  const boots = Number(values.boots ?? '1');
  if (!Number.isInteger(boots) || boots < 1) throw new TypeError(`invalid --boots ${JSON.stringify(values.boots)}; expected a positive integer`);
  const stacks = (values.stacks ?? 'own,qemu').split(',') as Stack[];
  for (const s of stacks) if (s !== 'own' && s !== 'qemu') throw new TypeError(`unknown stack ${JSON.stringify(s)}; expected own or qemu`);
  const configs = parseConfigs(values);
  if (inLab()) throw new Error('run fault-rate on the host: it starts its own lab VMs');
  const why = labUnavailable();
  if (why) throw new Error(`the nested lab cannot start: ${why}`);
  mkdirSync(OUT_DIR, { recursive: true });
  const first = Math.max(0, ...readRecords(records).map((r) => r.round)) + 1;
  console.error(`fault-rate: ${boots} round(s) of ${configs.map((c) => `${c.workload} SMP ${c.smp}`).join(', ')} on ${stacks.map((s) => STACK_NAMES[s]).join(' and ')}, one fresh lab VM a round; records: ${records}`);
  for (let round = first; round < first + boots; round++) {
    if (existsSync(STOP_FILE)) {
      rmSync(STOP_FILE);
      console.error(`fault-rate: ${STOP_FILE} found, stopping after ${round - first} round(s)`);
      break;
    }
    // Two labs on two cores slow each other down and change what is measured: wait for the other,
    // and for QUIET_S without one (a test run starts its labs one after another).
    for (let waited = 0, quiet = 0; quiet < QUIET_S; waited++) {
      const others = otherQemus();
      quiet = others.length > 0 ? 0 : quiet + 5;
      if (others.length > 0 && waited % 24 === 0) console.error(`fault-rate: waiting for another QEMU to end: ${others[0]!.slice(0, 120)}`);
      if (quiet < QUIET_S) await new Promise((r) => setTimeout(r, 5_000));
    }
    const recs = await runRound(plan(1, configs, stacks, round));
    for (const r of recs) appendFileSync(records, `${JSON.stringify(r)}\n`);
    console.error(`fault-rate: round ${round} done`);
  }
  console.log(formatTable(table(readRecords(records))));
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`fault-rate: ${(err as Error).message}`);
      process.exitCode = err instanceof TypeError ? 2 : 1;
    },
  );
}
