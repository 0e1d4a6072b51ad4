// bootBatchInLab when a boot inside the lab never ends: runInLab is mocked (no lab starts) and
// plays a batch (the series plan its script names) whose second boot hangs past its timeout while the lab stays alive (the
// heartbeat goes on). The boot must fail with the overrun named, and the boot behind it must run in
// a second lab VM instead of waiting for the batch's deadline.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LabResult, LabRunOptions } from '../../lab/run.js';
import type { SeriesPlan } from './lab-series-plan.js';

vi.mock('../../lab/run.js', () => ({ runInLab: vi.fn() }));
const { runInLab } = await import('../../lab/run.js');
const { bootBatchInLab } = await import('./lab-batch.js');
const { OVERRUN_SLACK_S } = await import('./lab-boot-watch.js');

const profile = { wallMs: 900, vcpuRunMs: 500, vcpuRunPct: 55, pioMs: 1, pioPct: 0, mmioMs: 0, mmioPct: 0, exits: {}, totalExits: 3, hottestPorts: [], hottestRegions: [], unassigned: { pio: 0, mmio: 0 } };
const FINAL = `${JSON.stringify({ event: 'final', t: 900, status: 'until-matched', exitCode: 0, resets: 0, wallMs: 900, maxRssBytes: 1 << 26, profile, milestones: {} })}\n`;

function labResult(status: LabResult['status'], consoleTail: string): LabResult {
  return { status, exitCode: status === 'exited' ? 0 : undefined, consoleTail, stdoutTail: '', stderrTail: '', timings: { spawnMs: 0, wallMs: 1000 } };
}

describe('bootBatchInLab with a boot that never ends', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('fails that boot with the overrun and runs the boots behind it in a fresh lab VM', async () => {
    const scripts: string[] = [];
    const plans: string[][] = [];
    vi.mocked(runInLab).mockImplementation(async (opts: LabRunOptions) => {
      const script = opts.command[1]!;
      const text = readFileSync(script, 'utf8');
      scripts.push(text);
      const planFile = /lab-series\.js '([^']+)'/.exec(text)?.[1];
      expect(planFile).toBeDefined();
      const plan = JSON.parse(readFileSync(planFile!, 'utf8')) as SeriesPlan;
      plans.push(plan.boots.map((b) => b.id));
      const out = (s: string) => opts.onOutput?.('stdout', Buffer.from(s));
      out('@@lab-heartbeat\n');
      for (const { id } of plan.boots) {
        out(`@@batch ${id} start\n`);
        if (id === 'boot1') {
          // Hangs: the lab stays alive (heartbeats) until the batch gives up on it.
          while (!opts.signal?.aborted) {
            out('@@lab-heartbeat\n');
            await vi.advanceTimersByTimeAsync(5_000);
          }
          return labResult('aborted', 'lab VM 1 console');
        }
        writeFileSync(join(dirname(script), `${id}.jsonl`), FINAL);
        out(`@@batch ${id} exit 0\n`);
      }
      return labResult('exited', `lab VM ${scripts.length} console`);
    });
    const req = { guest: 'debian-probe', smp: 8, timeoutS: 10, until: 'done' };
    const batch = await bootBatchInLab(
      ['boot0', 'boot1', 'boot2'].map((id) => ({ id, req })),
      { timeoutS: 3_000 },
    );
    expect(scripts).toHaveLength(2);
    expect(plans).toEqual([['boot0', 'boot1', 'boot2'], ['boot2']]);
    expect(batch.results.get('boot0')!.status).toBe('until-matched');
    expect(batch.results.get('boot2')!.status).toBe('until-matched');
    const hung = batch.results.get('boot1')!;
    expect(hung.status).toBe('error');
    expect(hung.error?.code).toBe('E_TIMEOUT');
    expect(hung.error?.message).toMatch(new RegExp(`boot boot1 was still running \\d+ s after it started in lab VM 1, ${OVERRUN_SLACK_S} s past its own 10 s timeout`));
    expect(hung.error?.message).toContain("that lab's console tail:\nlab VM 1 console");
    expect(hung.rerun).toBeUndefined();
  });
});
