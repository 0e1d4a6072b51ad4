// Console milestones: patterns on the guest's console text (ANSI escapes stripped) that mark how
// far a boot got, plus the caller's `--until` pattern. Text arrives in chunks that may split a
// line, so each port keeps a sliding window that every pattern is tested against.

import type { MilestoneName } from '../events.js';

export interface MilestonePattern {
  name: MilestoneName;
  /** Console port the pattern applies to ('com1', 'debugcon' or '*'). */
  port: string;
  pattern: RegExp;
}

export const SEABIOS_MILESTONES: MilestonePattern[] = [
  { name: 'firmware-banner', port: '*', pattern: /SeaBIOS \(version [^)]*\)/ },
  { name: 'boot-attempt', port: '*', pattern: /Booting from [^\r\n]*|No bootable device/ },
  { name: 'option-rom', port: '*', pattern: /Booting from ROM/ },
  { name: 'kernel-entry', port: 'com1', pattern: /Linux version \S+|Probing EDD/ },
  { name: 'init', port: 'com1', pattern: /@@bootgate \{"event":"init"/ },
  { name: 'probe-done', port: 'com1', pattern: /@@bootgate \{"event":"done"/ },
];

/**
 * Console lines after which firmware never continues (SeaBIOS panic() prints its message and
 * halts with interrupts off): the VMM stops at once with the line, instead of waiting for a timeout.
 */
export const FIRMWARE_PANICS: RegExp[] = [/PCI: out of (?:32bit|I\/O) address space/, /Kernel panic - not syncing[^\r\n]*/];

const WINDOW = 1024;
// CSI sequences (ESC [ ... final byte) and two-byte escapes.
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

export class ConsoleMatcher {
  private readonly windows = new Map<string, string>();
  private readonly found = new Map<MilestoneName, string>();
  untilMatched = false;
  untilLine?: string;
  /** The first firmware panic line seen, with its console. */
  panic?: { port: string; line: string };

  constructor(
    private readonly patterns: MilestonePattern[],
    private readonly until?: RegExp,
    private readonly untilPort = 'com1',
    private readonly panics: RegExp[] = FIRMWARE_PANICS,
  ) {}

  /** Feed console text; returns milestones seen for the first time. */
  feed(port: string, text: string): Array<{ name: MilestoneName; line: string }> {
    const win = ((this.windows.get(port) ?? '') + stripAnsi(text)).slice(-WINDOW);
    this.windows.set(port, win);
    const out: Array<{ name: MilestoneName; line: string }> = [];
    for (const p of this.patterns) {
      if (this.found.has(p.name) || (p.port !== '*' && p.port !== port)) continue;
      const m = p.pattern.exec(win);
      if (m) {
        this.found.set(p.name, m[0]);
        out.push({ name: p.name, line: m[0] });
      }
    }
    if (this.panic === undefined) {
      for (const p of this.panics) {
        const m = p.exec(win);
        if (m) this.panic = { port, line: m[0] };
      }
    }
    if (this.until && !this.untilMatched && port === this.untilPort) {
      const m = this.until.exec(win);
      if (m) {
        this.untilMatched = true;
        this.untilLine = m[0];
      }
    }
    return out;
  }

  /**
   * Whether the matched --until line has ended (a newline after it on its console): a run that
   * stops only then has every milestone on that line whole ("Booting from Hard Disk..." when the
   * chunk that matched ended at "Booting from").
   */
  untilLineEnded(): boolean {
    if (!this.untilMatched || this.untilLine === undefined) return false;
    const win = this.windows.get(this.untilPort) ?? '';
    const at = win.lastIndexOf(this.untilLine);
    return at >= 0 && win.indexOf('\n', at + this.untilLine.length) >= 0;
  }

  seen(): Record<string, string> {
    return Object.fromEntries(this.found);
  }
}
