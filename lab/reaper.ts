// No lab VM outlives the bootgate process that started it. While any lab VM runs, SIGINT, SIGTERM
// and SIGHUP kill every one (SIGKILL: the VM has nothing to save), wait until they are reaped,
// and are then raised again, so the process ends as it would have (or another listener, e.g.
// vitest's, handles it); 'exit' kills them too (without waiting: it cannot). A SIGKILL of this process cannot be caught: QEMU runs under
// `setpriv --pdeathsig KILL` for that (lab/qemu.ts). A process orphaned while its VMs run (a vitest
// worker whose main process was killed alone: the worker lives on and would finish a 20-minute
// batch for nobody) kills them as well: the parent pid is polled while any VM runs.

import type { ChildProcess } from 'node:child_process';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const live = new Set<ChildProcess>();
/** How often the parent pid is checked while VMs run. */
const ORPHAN_POLL_MS = 1000;
let orphanWatch: NodeJS.Timeout | undefined;

function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** How long a signal waits for the killed VMs to be reaped before it is raised again. */
const REAP_WAIT_MS = 3000;

function onSignal(signal: NodeJS.Signals): void {
  const children = [...live];
  killAll();
  uninstall();
  // Reap them before this process goes, so no zombie is left for init to collect.
  const gone = children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
  const cap = new Promise<void>((r) => setTimeout(r, REAP_WAIT_MS).unref());
  void Promise.race([Promise.all(gone), cap]).then(() => process.kill(process.pid, signal));
}

const handlers = new Map(SIGNALS.map((s) => [s, () => onSignal(s)] as const));

function install(): void {
  for (const [s, h] of handlers) process.on(s, h);
  process.on('exit', killAll);
  const parent = process.ppid;
  orphanWatch = setInterval(() => {
    if (process.ppid !== parent) {
      process.stderr.write(`bootgate lab: parent process ${parent} is gone; killing ${live.size} lab VM(s)\n`);
      killAll();
    }
  }, ORPHAN_POLL_MS).unref();
}

function uninstall(): void {
  for (const [s, h] of handlers) process.off(s, h);
  process.off('exit', killAll);
  clearInterval(orphanWatch);
  orphanWatch = undefined;
}

/** Tracks `child` until it exits; the first tracked child installs the handlers, the last removes them. */
export function track(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (live.size === 0) install();
  live.add(child);
  child.once('exit', () => {
    live.delete(child);
    if (live.size === 0) uninstall();
  });
}

/** How many lab VMs this process is running. */
export function liveCount(): number {
  return live.size;
}
