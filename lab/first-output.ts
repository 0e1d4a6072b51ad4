// The lab's headline figure: the time from starting `bootgate lab -- <command>` to the command's
// first output line on the host, measured from outside as a user sees it (process spawn to the
// first complete stdout line). Fixtures, vmlinux and initramfs are prepared first, so a cold
// cache does not count; the command is `echo`, so the figure is the lab's own cost.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BootgateError } from '../vmm/errors.js';
import { projectRoot } from './project.js';
import { prepareLab } from './run.js';

const MARKER = 'bootgate-lab-first-output';
const DEADLINE_S = 120;

export interface FirstOutputSample {
  /** Spawn of `bootgate lab` to its first stdout line. */
  firstLineMs: number;
  /** Spawn to the bootgate process's exit. */
  exitMs: number;
}

/** One sample; `cli` defaults to dist/vmm/cli/main.js of this checkout. */
export async function measureLabFirstOutput(cli: string = join(projectRoot(), 'dist', 'vmm', 'cli', 'main.js')): Promise<FirstOutputSample> {
  await prepareLab();
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, 'lab', '--', 'echo', MARKER], { stdio: ['ignore', 'pipe', 'pipe'] });
  let firstLineMs: number | undefined;
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    if (firstLineMs === undefined && out.includes('\n')) firstLineMs = performance.now() - t0;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    err = (err + c).slice(-2000);
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), DEADLINE_S * 1000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  const exitMs = performance.now() - t0;
  if (code !== 0 || firstLineMs === undefined || out.split('\n')[0] !== MARKER) {
    throw new BootgateError('E_GUEST', `bootgate lab -- echo exited with ${code} and printed ${JSON.stringify(out.slice(0, 200))}; stderr: ${err.trim().slice(-600)}`);
  }
  return { firstLineMs, exitMs };
}
