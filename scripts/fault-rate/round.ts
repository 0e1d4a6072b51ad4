// On the host: one round's boots in fresh lab VMs, a lab that wedges (a lockup line on its
// console, or the inner run's heartbeat falling silent) replaced at most ROUND_LAB_RESTARTS times
// and the boot it was running recorded as a lockup; and the check that no other QEMU runs on the
// host before a round starts (two labs on two cores change what is measured).

import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { heartbeatWatch, lockupWatch } from '../../lab/lockup.js';
import { runInLab } from '../../lab/run.js';
import { LAB_ENV } from '../../lab/target.js';
import { HEARTBEAT_LINE } from './inner.js';
import { BOOT_TIMEOUT_S, type BootRecord, describe, type PlannedBoot } from './records.js';

const LAB_MEM_MIB = 3072;
const LAB_START_S = 120;
/** Silence this long on the heartbeat means a frozen lab (as targets/vmm/lab-batch.ts). */
const HEARTBEAT_STALE_S = 90;
const START_LINE = /@@fault-rate start (\d+)/g;
const START_OR_BEAT = /@@fault-rate (start \d+|heartbeat)/;
/** Fresh lab VMs a round may use after wedged ones before its remaining boots are given up. */
const ROUND_LAB_RESTARTS = 2;

/** One round's boots in fresh lab VMs, a wedged lab replaced (ROUND_LAB_RESTARTS times) and its boot recorded as a lockup. */
export async function runRound(root: string, outDir: string, boots: PlannedBoot[]): Promise<BootRecord[]> {
  const records: BootRecord[] = [];
  let todo = boots;
  for (let lab = 0; todo.length > 0; lab++) {
    if (lab > ROUND_LAB_RESTARTS) {
      for (const p of todo) records.push({ ...p, failure: `not run: ${ROUND_LAB_RESTARTS + 1} lab VMs wedged in this round` });
      break;
    }
    const planFile = join(outDir, `plan-${process.pid}.json`);
    const out = join(outDir, `round-${process.pid}.jsonl`);
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
      cwd: root,
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
    // How the lab ended, every line before the tails (QEMU's stderr, its reset log's verdict: lab/outcome.ts).
    if (lockup === undefined && result.status !== 'exited') lockup = `lab ${result.status}: ${(result.error?.message.split('\nlab console tail:')[0] ?? '').trim().replaceAll('\n', '; ')}`;
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
export function otherQemus(): string[] {
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
