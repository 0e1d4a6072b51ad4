// What one boot on any target leaves for the assertions: status, console text per port,
// milestones, the exit profile, resets, and the raw events. Built from the VMM's JSON-lines
// event stream (own VMM) or from the console and QMP (QEMU targets).

import type { Diagnostic, ExitProfile } from '../vmm/events.js';
import { parseVmmEvents } from './vmm/events-parser.js';

/** One event of a boot, in order: the own VMM's (vmm/events.ts VmmEvent) or one a QEMU target records. */
export type BootEvent = Record<string, unknown> & { event: string; t: number };

export interface BootResult {
  target: string;
  status: 'power-off' | 'until-matched' | 'timeout' | 'error' | 'killed';
  exitCode: number;
  /** Guest COM1 text and 0x402 debug-console text. */
  serial: string;
  debugcon: string;
  /** First time (ms since VMM start) each milestone was reached. */
  milestones: Record<string, number>;
  profile?: ExitProfile;
  resets: number;
  wallMs: number;
  maxRssBytes?: number;
  error?: { code: string; message: string; hint?: string };
  diagnostic?: Diagnostic;
  /** Every event, in order, for assertions that need details (reset-vector step, rom-write traps). */
  events: BootEvent[];
  /** The VMM process's stderr (CLI diagnostics). */
  stderr: string;
  /**
   * Set when this result is a rerun after an infrastructure fault (a lab VM that locked up): the
   * verdict is the rerun's, and the testcase is reported flaky with the first attempt's evidence.
   */
  rerun?: Rerun;
  /**
   * Lab only: L1 KVM's trace of a vCPU shutdown (a triple fault) the boot did not ask for
   * (lab/kvm-trace.ts): a one-line summary, the faulting vCPU thread's last trace lines, the kept file.
   */
  kvmTrace?: { summary: string; lines: string[]; file: string };
}

/** Why a boot ran again, and where the first attempt's evidence was kept. */
export interface Rerun {
  /** One line: what went wrong the first time (e.g. "lab VM locked up: soft lockup - CPU#1 stuck"). */
  reason: string;
  /** The first attempt's kept event stream / console (absolute path), for people to read. */
  firstAttempt: string;
  /** How many attempts ran in all (2 = one rerun). */
  attempts: number;
}

/**
 * The own VMM's JSON-lines stream (targets/vmm/events-parser.ts) as a BootResult. A line cut off
 * by a killed VMM is left out; any other line that is not a VmmEvent throws EventLineError.
 */
export function parseEventStream(target: string, text: string, stderr: string, source = `${target} event stream`): BootResult {
  const { events } = parseVmmEvents(text, source);
  const result: BootResult = {
    target,
    status: 'killed',
    exitCode: -1,
    serial: '',
    debugcon: '',
    milestones: {},
    resets: 0,
    wallMs: 0,
    events: events as BootEvent[],
    stderr,
  };
  for (const ev of events) {
    if (ev.event === 'serial') {
      if (ev.port === 'com1') result.serial += ev.data;
      else result.debugcon += ev.data;
    } else if (ev.event === 'milestone') {
      if (!(ev.name in result.milestones)) result.milestones[ev.name] = ev.t;
    } else if (ev.event === 'final') {
      result.status = ev.status;
      result.exitCode = ev.exitCode;
      result.profile = ev.profile;
      result.resets = ev.resets;
      result.wallMs = ev.wallMs;
      result.maxRssBytes = ev.maxRssBytes;
      result.error = ev.error;
      result.diagnostic = ev.diagnostic;
    }
  }
  return result;
}

/** Events of one kind. */
export function eventsOf(result: BootResult, kind: string): BootResult['events'] {
  return result.events.filter((e) => e.event === kind);
}

/** When `text` first appeared on COM1 (ms on the boot's event clock), from the serial events; it may span several. */
export function consoleTimeOf(r: BootResult, text: string): number | undefined {
  let seen = '';
  for (const e of eventsOf(r, 'serial')) {
    if ((e as { port?: string }).port !== 'com1') continue;
    seen = (seen + String((e as { data?: unknown }).data ?? '')).slice(-4 * text.length);
    if (seen.includes(text)) return e.t;
  }
  return undefined;
}
