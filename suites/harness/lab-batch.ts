// Target `vmm:kvm@lab`: the own VMM run inside the nested lab, for guests this host's /dev/kvm
// cannot run (Linux, OVMF on PVM). A suite hands over all its boots at once; they run one after
// another inside ONE lab VM (the lab boot and its Node start are paid once), each writing its
// event stream into the project share, which the harness then reads back as BootResults.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInLab } from '../../lab/run.js';
import { type BootResult, parseEventStream } from './boot-result.js';
import { type BootRequest, cliArgs } from './vmm-target.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/dist\/$/, '/');
const CLI = 'dist/vmm/cli/main.js';

export interface LabBoot {
  id: string;
  req: BootRequest;
}

export interface LabBatch {
  results: Map<string, BootResult>;
  /** Lab wall time, and when the first boot started (lab + Node start-up). */
  wallMs: number;
  readyMs?: number;
  consoleTail: string;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

export async function bootBatchInLab(boots: readonly LabBoot[], opts: { smp?: number; memMiB?: number; timeoutS: number }): Promise<LabBatch> {
  const dir = join(ROOT, 'reports', 'out', 'lab', `batch-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const lines = ['#!/bin/sh', `cd ${shellQuote(ROOT)}`];
  for (const b of boots) {
    const events = join(dir, `${b.id}.jsonl`);
    const args = cliArgs(b.req, events).map(shellQuote).join(' ');
    lines.push(`node ${CLI} ${args} > ${shellQuote(join(dir, `${b.id}.out`))} 2> ${shellQuote(join(dir, `${b.id}.err`))}`);
    lines.push(`echo "@@batch ${b.id} exit $?"`);
  }
  const script = join(dir, 'batch.sh');
  writeFileSync(script, `${lines.join('\n')}\n`, { mode: 0o755 });
  const lab = await runInLab({ command: ['sh', script], cwd: ROOT, smp: opts.smp, memMiB: opts.memMiB, timeoutS: opts.timeoutS });
  const results = new Map<string, BootResult>();
  for (const b of boots) {
    const events = join(dir, `${b.id}.jsonl`);
    const err = join(dir, `${b.id}.err`);
    const text = existsSync(events) ? readFileSync(events, 'utf8') : '';
    const r = parseEventStream('vmm:kvm@lab', text, existsSync(err) ? readFileSync(err, 'utf8') : '');
    if (!text.includes('"event":"final"')) {
      r.status = 'error';
      r.error ??= {
        code: lab.status === 'timeout' ? 'E_TIMEOUT' : 'E_INTERNAL',
        message: `boot ${b.id} left no final event (lab ${lab.status}); lab console tail:\n${lab.consoleTail}\nstderr: ${r.stderr.slice(-1500)}`,
      };
    }
    results.set(b.id, r);
  }
  if (process.env.BOOTGATE_KEEP_LAB_OUTPUT === undefined) rmSync(dir, { recursive: true, force: true });
  return { results, wallMs: lab.timings.wallMs, readyMs: lab.timings.readyMs, consoleTail: lab.consoleTail };
}
