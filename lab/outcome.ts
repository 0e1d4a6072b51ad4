// How a lab run ended, from what the host saw: why the watch loop stopped (QEMU gone, deadline,
// abort, or the guest reported and powered off), the status port's lines, QEMU's own exit, and
// the tails of the console and the command's output. Pure, so every ending is unit-tested. A
// failed run's error message carries the tails itself: whoever prints it shows where the lab was.

import { BootgateError } from '../vmm/errors.js';
import type { LabStatus } from './status.js';

export type LabEnding = 'vm-exited' | 'timeout' | 'aborted' | 'reported';

export interface LabOutcome {
  /** exited: the command ended and reported its code; the others carry `error`. */
  status: 'exited' | 'timeout' | 'setup-failed' | 'vm-died' | 'aborted';
  exitCode?: number;
  error?: BootgateError;
}

export interface OutcomeFacts {
  ending: LabEnding;
  status: LabStatus;
  timeoutS: number;
  qemuPid?: number;
  /** How QEMU ended (when it ended by itself), or why it could not start. */
  qemuExit?: { code: number | null; signal: NodeJS.Signals | null };
  spawnError?: Error;
  qemuStderr: string;
  /** QEMU's `-d cpu_reset` log (lab/qemu-args.ts), when it was written. */
  qemuLog?: string;
  tails: { console: string; stdout: string; stderr: string };
}

function block(title: string, text: string, lines: number): string {
  if (!text) return '';
  const kept = text.split('\n').slice(-lines);
  return `\n${title}:\n${kept.map((l) => `  | ${l}`).join('\n')}`;
}

export function labOutcome(f: OutcomeFacts): LabOutcome {
  const withTails = (msg: string) =>
    `${msg}${block('lab console tail', f.tails.console, 25)}${block('command stdout tail', f.tails.stdout, 10)}${block('command stderr tail', f.tails.stderr, 10)}`;
  const qemu = `QEMU (pid ${f.qemuPid ?? '?'})`;
  if (f.ending === 'timeout') {
    const where = f.status.ready ? 'while the command was running' : 'before the lab finished booting';
    const msg = `the lab run timed out after ${f.timeoutS} s ${where}; ${qemu} was killed (raise --timeout, or see below where it hung)`;
    return { status: 'timeout', error: new BootgateError('E_TIMEOUT', withTails(msg)) };
  }
  if (f.ending === 'aborted') return { status: 'aborted', error: new BootgateError('E_INTERNAL', `the lab run was aborted; ${qemu} was killed`) };
  if (f.status.exitCode !== undefined) return { status: 'exited', exitCode: f.status.exitCode };
  if (f.status.setupFailed !== undefined) {
    const msg = `the lab VM could not be set up: ${f.status.setupFailed} (run bootgate doctor to check QEMU and the lab fixtures)`;
    return { status: 'setup-failed', error: new BootgateError('E_GUEST', withTails(msg)) };
  }
  const how = f.spawnError
    ? `could not start QEMU: ${f.spawnError.message}`
    : `${qemu} ended (${f.qemuExit?.signal ? `signal ${f.qemuExit.signal}` : `exit code ${f.qemuExit?.code ?? '?'}`}) before the command reported an exit code`;
  const said = f.qemuStderr.trim() ? `\nQEMU stderr: ${f.qemuStderr.trim().split('\n').slice(-8).join('\n')}` : '';
  return { status: 'vm-died', error: new BootgateError('E_GUEST', withTails(`${how}${said}${resetLogLine(f.qemuLog)}`)) };
}

/** QEMU logs "Triple fault" (CPU_LOG_RESET) when a vCPU of the lab shuts down on its own, not inside a nested guest. */
const LAB_TRIPLE_FAULT = /^Triple fault$/m;

function resetLogLine(log: string | undefined): string {
  if (log === undefined) return '';
  if (LAB_TRIPLE_FAULT.test(log)) return "\nQEMU's log: a lab vCPU triple-faulted (\"Triple fault\"): the lab kernel's own CPU state broke, so it could print nothing (docs/lab-fault-rate.md)";
  return "\nQEMU's log names no lab triple fault";
}
