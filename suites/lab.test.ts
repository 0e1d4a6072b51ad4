// Nested-lab suite: real lab boots (QEMU TCG, -cpu max, Debian generic kernel, kvm-amd), four in
// all (~1.5 min here). Checks:
// - the lab CPU has SVM and the lab has a working /dev/kvm: inside one lab VM, the raw C exit
//   loop (native/kvm-exit-loop) runs the benchmark guest, and the project's own VMM boots the
//   ROM-write probe guest to a clean power-off with the write trapped; its event stream is
//   written into reports/out/lab/ inside the lab and read back here (target vmm:kvm@lab);
// - stdout, stderr, the exit code and a file written into the project share cross the boundary,
//   with no kernel noise in the command's output;
// - a hung command is killed at the timeout: the run fails with the console tail, and the QEMU
//   process is gone (its pid no longer in /proc);
// - SIGTERM to a `bootgate lab` process takes its lab VM down with it.
// Skipped, with the reason, inside a lab (BOOTGATE_LAB=1: no lab in the lab) and without QEMU.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { buildPioLoop } from '../guests/bench/build.js';
import { assemble } from '../guests/nasm.js';
import { NOT_RUN_CANNOT } from './harness/meta.js';
import { inLab, LAB_SUFFIX, qemuBinary, runInLab } from '../lab/index.js';
import { eventsOf, parseEventStream } from '../targets/boot-result.js';
import { bootMeta, type CaseId } from './harness/properties.js';

const SUITE = 'lab';
const TARGET = `vmm:kvm${LAB_SUFFIX}`;
const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const CLI = join(ROOT, 'dist', 'vmm', 'cli', 'main.js');
const OUT = join(ROOT, 'reports', 'out', 'lab');
const PIO_ITERATIONS = 2000;

function whyNot(): string | undefined {
  if (inLab()) return 'already inside the nested lab (BOOTGATE_LAB=1); the lab does not nest';
  try {
    qemuBinary();
  } catch (err) {
    // A host without QEMU cannot run the lab: the run says it is incomplete rather than passing.
    return `${NOT_RUN_CANNOT}${(err as Error).message}`;
  }
  // A missing build is a broken checkout, not a limit of the host: fail, do not skip.
  if (!existsSync(CLI)) throw new Error(`the bootgate CLI is not built at ${CLI} (fix: npm run build)`);
  return undefined;
}

/** `@@lab key=value` lines the in-lab script prints. */
function labLines(stdout: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const hit = /^@@lab ([\w-]+)=(.*)$/.exec(line);
    if (hit) m.set(hit[1]!, hit[2]!);
  }
  return m;
}

/** Pids whose parent is `ppid`, from /proc/<pid>/stat (field 4; the comm field may hold spaces). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe(`nested lab (${TARGET})`, () => {
  it('the lab CPU has SVM, and a command inside opens /dev/kvm and runs guests (C exit loop, own VMM probe)', async ({ task, skip }) => {
    const why = whyNot();
    if (why) skip(why);
    const probe = await assemble('probes/rom-write.asm');
    const pioGuest = await buildPioLoop(PIO_ITERATIONS);
    await execa('make', ['-C', join(ROOT, 'native')]);
    mkdirSync(OUT, { recursive: true });
    const events = join(OUT, 'rom-write-events.jsonl');
    rmSync(events, { force: true });
    const rel = (p: string) => relative(ROOT, p);
    const script = [
      'echo "@@lab svm=$(grep -c -w svm /proc/cpuinfo)"',
      'echo "@@lab kvm-device=$(test -c /dev/kvm && echo yes || echo no)"',
      `echo "@@lab exit-loop=$(native/build/kvm-exit-loop ${rel(pioGuest)})"`,
      `node dist/vmm/cli/main.js boot --firmware-file ${rel(probe)} --timeout 90 --events ${rel(events)} --debugcon`,
      'echo "@@lab vmm-exit=$?"',
    ].join('\n');
    let stdout = '';
    const r = await runInLab({
      command: ['sh', '-c', script],
      cwd: ROOT,
      timeoutS: 300,
      onOutput: (stream, c) => {
        if (stream === 'stdout') stdout += c.toString();
      },
    });
    const lines = labLines(stdout);
    const boot = existsSync(events) ? parseEventStream(TARGET, readFileSync(events, 'utf8'), r.stderrTail) : undefined;
    const exitLoop = lines.has('exit-loop') ? (JSON.parse(lines.get('exit-loop')!) as { exits: number; roundTripNs: number }) : undefined;
    const id: CaseId = { suite: SUITE, target: TARGET, guest: 'probe-rom-write', smp: 1 };
    task.meta.bootgate = bootMeta(id, boot, [], {
      lab: true,
      'lab.ready.ms': r.timings.readyMs ?? -1,
      'lab.first-output.ms': r.timings.firstOutputMs ?? -1,
      'lab.wall.ms': r.timings.wallMs,
      ...(exitLoop ? { 'lab.kvm-exit-loop.roundtrip.us': Math.round(exitLoop.roundTripNs / 100) / 10 } : {}),
    });

    expect(r.error?.message, r.consoleTail).toBeUndefined();
    expect(r.status).toBe('exited');
    expect(Number(lines.get('svm')), 'every lab CPU must advertise svm in /proc/cpuinfo').toBeGreaterThanOrEqual(1);
    expect(lines.get('kvm-device'), 'kvm-amd must have created /dev/kvm').toBe('yes');
    expect(exitLoop?.exits, `kvm-exit-loop inside the lab: ${r.stderrTail}`).toBe(PIO_ITERATIONS);
    expect(boot, `the own VMM wrote no events into the project share; stderr: ${r.stderrTail}`).toBeDefined();
    expect(boot!.status, boot!.error?.message).toBe('power-off');
    expect(eventsOf(boot!, 'rom-write').length, 'the ROM write must trap on real KVM semantics').toBe(1);
    expect(boot!.debugcon).toContain('rom-write: unchanged');
  });

  it('stdout, stderr, the exit code and a report file cross the boundary, without kernel noise', async ({ task, skip }) => {
    const why = whyNot();
    if (why) skip(why);
    mkdirSync(OUT, { recursive: true });
    const file = join(OUT, 'boundary.txt');
    rmSync(file, { force: true });
    const token = randomBytes(8).toString('hex');
    const script = `echo to-stdout; echo to-stderr >&2; printf '%s\\n' "$LAB_TOKEN" > ${relative(ROOT, file)}; exit 3`;
    const chunks: string[] = [];
    const r = await runInLab({
      command: ['sh', '-c', script],
      cwd: ROOT,
      env: { PATH: '/usr/bin:/bin', LAB_TOKEN: token },
      timeoutS: 120,
      onOutput: (stream, c) => chunks.push(`${stream}:${c.toString()}`),
    });
    task.meta.bootgate = bootMeta({ suite: SUITE, target: TARGET, guest: 'lab-boundary', smp: 2 }, undefined, [], {
      lab: true,
      'lab.ready.ms': r.timings.readyMs ?? -1,
      'lab.first-output.ms': r.timings.firstOutputMs ?? -1,
    });
    expect(r.error?.message).toBeUndefined();
    expect(r.status).toBe('exited');
    expect(r.exitCode).toBe(3);
    expect(r.stdoutTail).toBe('to-stdout');
    expect(r.stderrTail).toBe('to-stderr');
    expect(chunks.join('')).toContain('stdout:to-stdout\n');
    expect(readFileSync(file, 'utf8'), 'the file written inside the lab must be on the host').toBe(`${token}\n`);
    expect(r.consoleTail, 'the command output must not leak into the console').not.toContain('to-stdout');
  });

  it('a hung command is killed at the timeout: the run fails with the console tail and no QEMU is left', async ({ task, skip }) => {
    const why = whyNot();
    if (why) skip(why);
    const r = await runInLab({ command: ['sh', '-c', 'echo hanging; exec sleep infinity'], cwd: ROOT, timeoutS: 20 });
    task.meta.bootgate = bootMeta({ suite: SUITE, target: TARGET, guest: 'lab-timeout', smp: 2 }, undefined, [], {
      lab: true,
      'expected.failure': true,
      'lab.wall.ms': r.timings.wallMs,
    });
    expect(r.status).toBe('timeout');
    expect(r.error?.code).toBe('E_TIMEOUT');
    expect(r.error?.message).toMatch(/timed out after 20 s while the command was running/);
    expect(r.error?.message, 'the error carries the lab console tail').toMatch(/lab console tail:[\s\S]*bootgate-lab: .*ready/);
    expect(r.error?.message).toContain('hanging');
    expect(r.qemuPid).toBeGreaterThan(0);
    expect(alive(r.qemuPid!), `QEMU pid ${r.qemuPid} must be gone`).toBe(false);
    expect(r.timings.wallMs).toBeLessThan(30_000);
  });

  it('SIGTERM to `bootgate lab` takes its lab VM down', async ({ task, skip }) => {
    const why = whyNot();
    if (why) skip(why);
    const cli = spawn(process.execPath, [CLI, 'lab', '--', 'sh', '-c', 'echo started; exec sleep infinity'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    cli.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => cli.once('exit', (code, signal) => resolve({ code, signal })));
    const started = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 90_000);
      cli.stdout.on('data', (c: Buffer) => {
        if (c.toString().includes('started')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    try {
      expect(await started, `bootgate lab never printed the command's output; stderr: ${stderr}`).toBe(true);
      const qemu = childrenOf(cli.pid!);
      expect(qemu.length, 'the lab VM is a child of the bootgate process').toBe(1);
      cli.kill('SIGTERM');
      const end = await exited;
      task.meta.bootgate = bootMeta({ suite: SUITE, target: TARGET, guest: 'lab-sigterm', smp: 2 }, undefined, [], { lab: true });
      expect(end.signal ?? end.code).toBe('SIGTERM');
      expect(alive(qemu[0]!), `QEMU pid ${qemu[0]} must be gone`).toBe(false);
    } finally {
      cli.kill('SIGKILL');
    }
  });
});
