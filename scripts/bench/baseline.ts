// `--baseline REF`: the own VMM as it was at REF, built beside this checkout so the bench runs both
// in the same place (the same lab VM) for a before/after. A detached git worktree of REF under
// reports/out/bench/ (inside the repository: the lab shares it, and reports/out/ is ignored), this
// checkout's node_modules linked in (a ref with other dependencies would need its own `npm ci`),
// built with this checkout's TypeScript (and its worker bundle, when the ref has one). A ref whose
// sources no longer type-check against today's node_modules still runs when tsc emitted its CLI
// (the errors are printed). The worktree is removed when the bench ends.

import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { BootgateError } from '../../vmm/errors.js';

export interface BaselineBuild {
  /** The ref as given, and the commit it named. */
  ref: string;
  commit: string;
  dir: string;
  /** The tree's dist/vmm/cli/main.js. */
  cli: string;
  remove(): Promise<void>;
}

const GIT_TIMEOUT_MS = 120_000;
const TSC_TIMEOUT_MS = 15 * 60_000;

async function git(root: string, args: string[]): Promise<string> {
  const r = await execa('git', ['-C', root, ...args], { reject: false, timeout: GIT_TIMEOUT_MS, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new BootgateError('E_CONFIG', `git ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return r.stdout.trim();
}

/** Where REF's worktree goes: one folder per commit. */
export function baselineDir(root: string, commit: string): string {
  return join(root, 'reports', 'out', 'bench', `baseline-${commit.slice(0, 12)}`);
}

export async function buildBaseline(root: string, ref: string, log: (line: string) => void = (l) => console.error(l)): Promise<BaselineBuild> {
  let commit: string;
  try {
    commit = await git(root, ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`]);
  } catch (err) {
    throw new BootgateError('E_CONFIG', `--baseline ${ref} names no commit here`, { hint: 'pass a branch, tag or commit of this repository', cause: err });
  }
  const dir = baselineDir(root, commit);
  const remove = async () => {
    await git(root, ['worktree', 'remove', '--force', dir]).catch(() => undefined);
  };
  // A folder left by an interrupted bench is replaced: it may be half built.
  if (existsSync(dir)) await remove();
  mkdirSync(join(root, 'reports', 'out', 'bench'), { recursive: true });
  log(`bench: --baseline ${ref}: worktree of ${commit.slice(0, 12)} in ${dir}`);
  await git(root, ['worktree', 'add', '--detach', '--force', dir, commit]);
  try {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const started = Date.now();
    const r = await execa(process.execPath, [tsc, '-p', dir], { reject: false, timeout: TSC_TIMEOUT_MS, stdin: 'ignore', all: true });
    const cli = join(dir, 'dist', 'vmm', 'cli', 'main.js');
    if (!existsSync(cli)) throw new BootgateError('E_CONFIG', `building --baseline ${ref} emitted no dist/vmm/cli/main.js (tsc exit ${r.exitCode}): ${(r.all ?? '').slice(-1500)}`);
    if (r.exitCode !== 0) log(`bench: --baseline ${ref}: tsc reported errors against today's node_modules; running what it emitted:\n${(r.all ?? '').slice(-1500)}`);
    // Trees since the worker bundle start their VMM workers from it (scripts/bundle-workers.mjs).
    const bundler = join(dir, 'scripts', 'bundle-workers.mjs');
    if (existsSync(bundler)) {
      const b = await execa(process.execPath, [bundler], { reject: false, timeout: TSC_TIMEOUT_MS, stdin: 'ignore', all: true });
      if (b.exitCode !== 0) throw new BootgateError('E_CONFIG', `bundling --baseline ${ref}'s VMM workers failed (exit ${b.exitCode}): ${(b.all ?? '').slice(-1500)}`);
    }
    // Trees since native vCPU threads load them from dist/native (scripts/build-native.mjs).
    const native = join(dir, 'scripts', 'build-native.mjs');
    if (existsSync(native)) {
      const n = await execa(process.execPath, [native], { reject: false, timeout: TSC_TIMEOUT_MS, stdin: 'ignore', all: true });
      if (n.exitCode !== 0) throw new BootgateError('E_CONFIG', `building --baseline ${ref}'s native vCPU threads failed (exit ${n.exitCode}): ${(n.all ?? '').slice(-1500)}`);
    }
    log(`bench: --baseline ${ref}: built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return { ref, commit, dir, cli, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
