// The lab series without a lab: runSeries with a fake boot and shell (order, the restart after a
// boot that did not end cleanly, the rerun, a runner that died mid-boot), the progress file's
// reading, and the batch script's loop run by a real sh around a fake runner.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BootOutcome, BootOutput } from '../../vmm/cli/boot-command.js';
import { BootgateError } from '../../vmm/errors.js';
import { parseSeriesProgress, SERIES_RESTART, seriesLoop, type SeriesPlan } from './lab-series-plan.js';
import { runSeries, type SeriesDeps, SeriesShell } from './lab-series.js';

function plan(ids: string[], extra: Partial<SeriesPlan['boots'][number]> = {}): SeriesPlan {
  return { setup: 'setup', env: {}, progress: 'p', boots: ids.map((id) => ({ id, argv: [`--id=${id}`], out: `${id}.out`, err: `${id}.err`, before: `arm ${id}`, after: `save ${id}`, ...extra })) };
}

/** Fakes that log every call; `outcome` decides each boot (by its argv's id). */
function fakes(outcome: (id: string, n: number) => BootOutcome | Error, rerun: (id: string) => boolean = () => false) {
  const log: string[] = [];
  const progress: string[] = [];
  const files = new Map<string, string>();
  const count = new Map<string, number>();
  const deps: SeriesDeps = {
    async boot(argv: string[], out: BootOutput) {
      const id = argv[0]!.slice('--id='.length);
      const n = (count.get(id) ?? 0) + 1;
      count.set(id, n);
      log.push(`boot ${id}#${n} shared=${out.sharedProcess}`);
      out.stdout(`console of ${id}`);
      const r = outcome(id, n);
      if (r instanceof Error) throw r;
      return r;
    },
    async shell(text: string) {
      log.push(`sh ${text}`);
      return text.startsWith('rerun? ') && rerun(text.slice('rerun? '.length)) ? 0 : 1;
    },
    say: (line) => log.push(`say ${line}`),
    record: (line) => progress.push(line),
    sync: () => log.push('sync'),
    openOutput(out, err) {
      files.set(out, '');
      files.set(err, '');
      return {
        stdout: (t) => files.set(out, files.get(out)! + t),
        stderr: (t) => files.set(err, files.get(err)! + t),
        close: () => log.push(`close ${out}`),
      };
    },
  };
  return { deps, log, progress, files };
}

const ok: BootOutcome = { code: 0, stuckThreads: [] };

describe('runSeries', () => {
  it('runs every boot in order in one process, the trace armed before and saved after each, its output in its own files', async () => {
    const f = fakes(() => ok);
    expect(await runSeries(plan(['boot0', 'boot1']), '', 0, f.deps)).toBe(0);
    expect(f.log).toEqual([
      'sh setup',
      'say @@batch boot0 start',
      'sh arm boot0',
      'boot boot0#1 shared=true',
      'close boot0.out',
      'sh save boot0',
      'sync',
      'say @@batch boot0 exit 0',
      'say @@batch boot1 start',
      'sh arm boot1',
      'boot boot1#1 shared=true',
      'close boot1.out',
      'sh save boot1',
      'sync',
      'say @@batch boot1 exit 0',
    ]);
    expect(f.progress).toEqual(['start boot0', 'done boot0 0', 'start boot1', 'done boot1 0']);
    expect(f.files.get('boot1.out')).toBe('console of boot1');
  });

  it('goes on in the same process after a boot that failed its verdict or timed out, every thread of it stopped', async () => {
    const f = fakes((id) => (id === 'boot0' ? { code: 1, stuckThreads: [] } : id === 'boot1' ? { code: 124, stuckThreads: [] } : ok));
    expect(await runSeries(plan(['boot0', 'boot1', 'boot2']), '', 0, f.deps)).toBe(0);
    expect(f.progress).toEqual(['start boot0', 'done boot0 1', 'start boot1', 'done boot1 124', 'start boot2', 'done boot2 0']);
    expect(f.log).toContain('say @@batch boot0 exit 1');
  });

  it('leaves for a fresh process after a boot with a thread that never stopped or a boot that threw, unless it was the last', async () => {
    for (const bad of [{ code: 124, stuckThreads: ['vCPU 1 thread'] }, { code: 0, stuckThreads: ['the device-owner thread'] }, new Error('koffi blew up')]) {
      const f = fakes((id) => (id === 'boot0' ? bad : ok));
      expect(await runSeries(plan(['boot0', 'boot1']), '', 0, f.deps)).toBe(SERIES_RESTART);
      expect(f.log).not.toContain('boot boot1#1 shared=true');
      expect(f.progress.at(-1)).toMatch(/^done boot0 (124|0|70)$/);
      const last = fakes(() => bad);
      expect(await runSeries(plan(['boot0']), '', 0, last.deps)).toBe(0);
    }
    const threw = fakes(() => new Error('koffi blew up'));
    await runSeries(plan(['boot0']), '', 0, threw.deps);
    expect(threw.files.get('boot0.err')).toMatch(/^bootgate: E_INTERNAL: Error: koffi blew up/);
    const stuck = fakes(() => ({ code: 124, stuckThreads: ['vCPU 3 thread'] }));
    await runSeries(plan(['boot0']), '', 0, stuck.deps);
    expect(stuck.files.get('boot0.err')).toContain('vCPU 3 thread never stopped');
  });

  it('answers a refusal as the CLI does (one line, exit 2) and goes on in the same process', async () => {
    const f = fakes((id) => (id === 'boot0' ? new BootgateError('E_CONFIG', 'bad --smp') : ok));
    expect(await runSeries(plan(['boot0', 'boot1']), '', 0, f.deps)).toBe(0);
    expect(f.files.get('boot0.err')).toMatch(/^bootgate: E_CONFIG: bad --smp/);
    expect(f.progress).toContain('done boot0 2');
    const unknown = Object.assign(new TypeError("Unknown option '--smpp'"), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
    const parse = fakes((id) => (id === 'boot0' ? unknown : ok));
    expect(await runSeries(plan(['boot0', 'boot1']), '', 0, parse.deps)).toBe(0);
    expect(parse.files.get('boot0.err')).toBe("bootgate: E_CONFIG: Unknown option '--smpp' (fix: see bootgate boot --help)\n");
  });

  it('goes on after the boots a previous runner finished, recording the one it died in with its exit code', async () => {
    const f = fakes(() => ok);
    expect(await runSeries(plan(['boot0', 'boot1', 'boot2']), 'start boot0\ndone boot0 0\nstart boot1\n', 139, f.deps)).toBe(0);
    expect(f.progress).toEqual(['done boot1 139', 'start boot2', 'done boot2 0']);
    expect(f.log[0]).toBe('say @@batch boot1 exit 139');
    expect(f.log.filter((l) => l.startsWith('boot '))).toEqual(['boot boot2#1 shared=true']);
  });

  it('runs a first attempt the rerun test picks once more: here when it ended cleanly, in a fresh process when not', async () => {
    const rerunPlan = plan(['boot0', 'boot1'], {});
    for (const b of rerunPlan.boots) b.rerunIf = `rerun? ${b.id}`;
    const f = fakes(() => ok, (id) => id === 'boot0');
    expect(await runSeries(rerunPlan, '', 0, f.deps)).toBe(0);
    expect(f.log.filter((l) => l.startsWith('boot ') || l.includes('retry'))).toEqual(['boot boot0#1 shared=true', 'say @@batch boot0 retry', 'boot boot0#2 shared=true', 'boot boot1#1 shared=true']);
    expect(f.progress).toEqual(['start boot0', 'rerun boot0', 'start boot0', 'done boot0 0', 'start boot1', 'done boot1 0']);

    const faulted = fakes((id, n) => (id === 'boot0' && n === 1 ? { code: 1, stuckThreads: ['vCPU 1 thread'] } : ok), (id) => id === 'boot0');
    expect(await runSeries(rerunPlan, '', 0, faulted.deps)).toBe(SERIES_RESTART);
    expect(faulted.progress).toEqual(['start boot0', 'rerun boot0']);
    // The next runner: the second attempt, without a second `start` line to the host.
    const next = fakes(() => ok);
    expect(await runSeries(rerunPlan, faulted.progress.join('\n'), SERIES_RESTART, next.deps)).toBe(0);
    expect(next.log.filter((l) => l.startsWith('boot ') || l.startsWith('say '))).toEqual([
      'boot boot0#1 shared=true',
      'say @@batch boot0 exit 0',
      'say @@batch boot1 start',
      'boot boot1#1 shared=true',
      'say @@batch boot1 exit 0',
    ]);
  });
});

describe('the series progress file', () => {
  it('tells boots done, the one a runner died in, and a second attempt not yet started', () => {
    expect(parseSeriesProgress('')).toEqual({ done: new Set(), inFlight: undefined, rerunPending: undefined });
    expect(parseSeriesProgress('start a\ndone a 0\nstart b\n')).toEqual({ done: new Set(['a']), inFlight: 'b', rerunPending: undefined });
    expect(parseSeriesProgress('start a\nrerun a\n')).toEqual({ done: new Set(), inFlight: undefined, rerunPending: 'a' });
    expect(parseSeriesProgress('start a\nrerun a\nstart a\n')).toEqual({ done: new Set(), inFlight: 'a', rerunPending: undefined });
    expect(parseSeriesProgress('start a\nrerun a\nstart a\ndone a 1\nstart b')).toEqual({ done: new Set(['a']), inFlight: 'b', rerunPending: undefined });
  });
});

describe('the batch script loop (real sh, a fake runner)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bootgate-series-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A runner that appends one line per call and exits with the next code in `codes`. */
  function loop(codes: number[]): { calls: string[]; stderr: string } {
    const progress = join(dir, `progress-${codes.join('-')}`);
    const calls = join(dir, `calls-${codes.join('-')}`);
    const runner = join(dir, `runner-${codes.join('-')}.sh`);
    writeFileSync(
      runner,
      `n=$(cat ${calls} 2>/dev/null | wc -l)\necho "plan=$1 previous=$2" >> ${calls}\ncodes="${codes.join(' ')}"\ni=0\nfor c in $codes; do if [ $i -eq $n ]; then code=$c; fi; i=$((i+1)); done\n[ "$code" = 99 ] || echo "line $n" >> ${progress}\nexit $code\n`,
    );
    const script = seriesLoop('/plan.json', progress, `sh ${runner}`).join('\n');
    const out = execFileSync('sh', ['-c', `${script} 2>&1`], { encoding: 'utf8' });
    return { calls: readFileSync(calls, 'utf8').trim().split('\n'), stderr: out };
  }

  it('starts the runner again while it asks (75) or died, passing the last exit code, and stops at exit 0', () => {
    const r = loop([SERIES_RESTART, 139, 0]);
    expect(r.calls).toEqual(['plan=/plan.json previous=0', 'plan=/plan.json previous=75', 'plan=/plan.json previous=139']);
    expect(r.stderr).toBe('');
  });

  it('stops when a runner recorded nothing, and says so', () => {
    const r = loop([SERIES_RESTART, 99, 0]);
    expect(r.calls).toHaveLength(2);
    expect(r.stderr).toContain('the boot series runner ended with exit 99 before it recorded a boot; the rest are not run');
  });
});

describe('SeriesShell', () => {
  it('keeps shell variables between calls and returns each call status', async () => {
    const sh = new SeriesShell({ GREETING: 'hi' });
    try {
      expect(await sh.run('X=1; [ "$GREETING" = hi ]')).toBe(0);
      expect(await sh.run('[ "$X" = 1 ]')).toBe(0);
      expect(await sh.run('[ "$X" = 2 ]')).toBe(1);
    } finally {
      sh.close();
    }
  });

  it('fails the call it was running when it ends, and every later call, without ending the process', async () => {
    const sh = new SeriesShell({});
    await expect(sh.run('exit 3')).rejects.toThrow("the series' shell ended (exit 3)");
    await expect(sh.run('true')).rejects.toThrow("the series' shell ended (exit 3)");
  });
});
