// The debian-disk verdict: what the probe inside the image reported (guests/debian-disk/disk-probe.sh,
// `bootgate-disk: KEY ...` lines on COM1), judged against the image on the host and, on the own
// VMM, the IDE controller's own count of the interrupts it raised. Each assertion that does not
// hold is a named Failure (failures.ts), so a quirk boot can be judged by the one named for its bug.
// Pure: unit-tested with failing inputs.

import type { Failure } from './failures.js';

export const DISK = {
  login: 'the login prompt is reached',
  done: 'the probe ran to its end',
  system: 'systemd reached running, no failed unit',
  cpus: 'every vCPU is online',
  dma: 'ata_piix drives the disk in a DMA mode',
  trouble: 'no libata or kernel trouble lines',
  data: 'every block read back equals the image',
  destination: 'IRQ 14 arrives on the CPU it is routed to',
  count: "the guest's IRQ 14 count over the probe equals the interrupts the controller raised then",
} as const;

/**
 * Kernel-log lines that mean the disk path misbehaved (seed 002's, and libata's other complaints).
 * `No irq handler for vector`: an interrupt delivered to a CPU that has no vector allocated for it
 * (Linux's __common_interrupt), and so lost. The image's probe greps dmesg for the same list
 * (guests/debian-disk/disk-probe.sh; a unit test keeps the two equal).
 */
export const TROUBLE_PATTERNS = ['lost interrupt', 'timeout', 'DMA disabled', 'limiting speed', 'failed command', 'hung task', 'exception Emask', 'I/O error', 'No irq handler for vector'] as const;

export interface DiskRead {
  cpu: number;
  offsetMib: number;
  mib: number;
  sha256: string;
  before: number[];
  after: number[];
}

export interface DiskProbeReport {
  /** Whether agetty sat at its prompt before the probe's first line ("at-prompt after-polls N wchan W"). */
  getty?: string;
  systemState?: string;
  cpus?: number;
  online?: string;
  failedUnits: string[];
  driver?: string;
  model?: string;
  ataMode?: string;
  irq14Start?: number[];
  reads: DiskRead[];
  /** The read with IRQ 14 on CPU 0 while the PIT raised IRQ 0 at `hz`: the ticks the guest counted meanwhile. */
  timerRead?: DiskRead & { hz: number; ticks: number; seconds: number };
  /** A CPU the probe could not route IRQ 14 to, or another step that failed, as the probe said it. */
  problems: string[];
  irq14Final?: number[];
  /** Trouble lines the probe found in the kernel log. */
  trouble: string[];
  /** Kernel lines on the console itself that match TROUBLE_PATTERNS (what a boot shows when the probe never ran). */
  consoleTrouble: string[];
  done: boolean;
}

const TROUBLE = new RegExp(TROUBLE_PATTERNS.join('|'), 'i');
/** A kernel console line: "[    12.345678] ...". */
const KERNEL_LINE = /^\[\s*\d+\.\d+\]/;

const PREFIX = 'bootgate-disk: ';

const counts = (s: string) => s.trim().split(/\s+/).filter(Boolean).map(Number);

/** Reads the probe's lines out of a console stream (the getty and kernel lines around them are ignored). */
export function parseDiskProbe(serial: string): DiskProbeReport {
  const r: DiskProbeReport = { failedUnits: [], reads: [], problems: [], trouble: [], consoleTrouble: [], done: false };
  for (const raw of serial.split(/\r?\n/)) {
    const at = raw.indexOf(PREFIX);
    if (at < 0) {
      if (KERNEL_LINE.test(raw.trim()) && TROUBLE.test(raw)) r.consoleTrouble.push(raw.trim());
      continue;
    }
    const line = raw.slice(at + PREFIX.length).trim();
    const [key = '', ...rest] = line.split(' ');
    const value = rest.join(' ');
    let m: RegExpExecArray | null;
    switch (key) {
      case 'getty':
        r.getty = value;
        break;
      case 'system-state':
        r.systemState = value;
        break;
      case 'cpus':
        if ((m = /^(\d+) online (\S+)/.exec(value))) {
          r.cpus = Number(m[1]);
          r.online = m[2];
        }
        break;
      case 'failed-units':
        r.failedUnits = value === 'none' ? [] : value.split(/\s+/).filter(Boolean);
        break;
      case 'disk-driver':
        if ((m = /^(\S+) model (\S*)/.exec(value))) {
          r.driver = m[1];
          r.model = m[2];
        }
        break;
      case 'ata-mode':
        r.ataMode = value;
        break;
      case 'irq14-start':
        r.irq14Start = counts(value);
        break;
      case 'irq14-final':
        r.irq14Final = counts(value);
        break;
      case 'read':
        if ((m = /^cpu (\d+) offset-mib (\d+) mib (\d+) sha256 ([0-9a-f]{64}|failed-\d+) before ([\d ]+) after ([\d ]+)$/.exec(value))) {
          r.reads.push({ cpu: Number(m[1]), offsetMib: Number(m[2]), mib: Number(m[3]), sha256: m[4]!, before: counts(m[5]!), after: counts(m[6]!) });
        } else {
          r.problems.push(`read ${value}`);
        }
        break;
      case 'read-timer':
        if ((m = /^hz (\d+) ticks (\d+) seconds ([\d.]+) cpu (\d+) offset-mib (\d+) mib (\d+) sha256 ([0-9a-f]{64}|failed-\d+) before ([\d ]+) after ([\d ]+)$/.exec(value))) {
          r.timerRead = {
            hz: Number(m[1]),
            ticks: Number(m[2]),
            seconds: Number(m[3]),
            cpu: Number(m[4]),
            offsetMib: Number(m[5]),
            mib: Number(m[6]),
            sha256: m[7]!,
            before: counts(m[8]!),
            after: counts(m[9]!),
          };
        } else {
          r.problems.push(`read-timer ${value}`);
        }
        break;
      case 'trouble':
        r.trouble.push(value);
        break;
      case 'done':
        r.done = true;
        break;
      case 'kernel-log-lines':
      case 'irq14-start-begin': // markers the suite times on the console (RaisedInWindow)
      case 'irq14-final-begin':
        break;
      default:
        r.problems.push(line);
    }
  }
  return r;
}

export interface DiskCheckInput {
  report: DiskProbeReport;
  smp: number;
  /** The login prompt appeared on the console. */
  loginSeen: boolean;
  /** sha256 of [offsetMib, offsetMib + mib) MiB of the image's pattern partition. */
  expectedSha256: (offsetMib: number, mib: number) => string;
  /**
   * IRQ 14 edges the controller raised, with the IOAPIC pin unmasked, over the probe (own VMM);
   * undefined where the target cannot tell. The window, not the whole boot: libata's probe raises
   * a handful of edges Linux never counts (nine in every boot measured, at SMP 1 and 2), so
   * whole-boot totals never agree.
   */
  raisedInWindow?: RaisedInWindow;
}

/**
 * The probe reads each count between a "-begin" console line and the line that carries it, and the
 * console's times bound the read only that far (tty output is buffered). `certain`: edges from the
 * first count's line to the final "-begin" line, which the guest's difference must include;
 * `ambiguous`: edges inside the two begin-to-count spans, which it may or may not include.
 */
export interface RaisedInWindow {
  certain: number;
  ambiguous: number;
}

/**
 * A read phase routed IRQ 14 to one CPU. Linux moves an IOAPIC-routed IRQ when it next fires, so
 * the phase's first interrupt may still land on the CPU it came from: one stray is allowed, no more.
 */
const STRAYS_ALLOWED = 1;

export function checkDiskBoot(input: DiskCheckInput): Failure[] {
  const { report: r, smp } = input;
  const out: Failure[] = [];
  const fail = (assertion: string, message: string) => out.push({ assertion, message });
  if (!input.loginSeen) fail(DISK.login, `no login prompt on the console${r.getty === undefined ? '' : ` (the probe found agetty ${r.getty})`}`);
  if (!r.done) fail(DISK.done, `the probe never printed its done line${r.problems.length ? ` (it said: ${r.problems.join('; ')})` : ''}`);
  if (r.systemState !== undefined && r.systemState !== 'running') fail(DISK.system, `systemd is "${r.systemState}"`);
  if (r.failedUnits.length > 0) fail(DISK.system, `failed units: ${r.failedUnits.join(' ')}`);
  if (r.cpus !== undefined && (r.cpus !== smp || r.online !== (smp === 1 ? '0' : `0-${smp - 1}`))) fail(DISK.cpus, `${r.cpus} CPUs, online ${r.online}; expected ${smp}`);
  if (r.driver !== undefined && r.driver !== 'ata_piix') fail(DISK.dma, `the disk controller is driven by ${r.driver}, not ata_piix`);
  if (r.ataMode !== undefined && !/DMA/.test(r.ataMode)) fail(DISK.dma, `libata configured the disk for "${r.ataMode || 'nothing'}", not a DMA mode`);
  // The probe's list covers the whole kernel log; without it, what the console showed is the evidence.
  for (const t of r.done ? r.trouble : [...r.trouble, ...r.consoleTrouble]) fail(DISK.trouble, t);
  for (const p of r.problems) fail(DISK.done, `probe: ${p}`);

  if (r.done && r.reads.length !== smp) fail(DISK.data, `${r.reads.length} read phases for ${smp} CPUs`);
  if (r.done && !r.timerRead) fail(DISK.data, 'no read phase under the timer');
  // A read under a timer that never ticked proves nothing about starvation.
  if (r.timerRead && r.timerRead.ticks === 0) fail(DISK.done, `probe: the PIT raised no IRQ 0 at ${r.timerRead.hz} Hz during the read under the timer (${r.timerRead.seconds} s)`);
  for (const read of r.timerRead ? [...r.reads, r.timerRead] : r.reads) {
    const under = 'hz' in read ? ` under the ${String(read.hz)} Hz timer` : '';
    const want = input.expectedSha256(read.offsetMib, read.mib);
    if (read.sha256 !== want) fail(DISK.data, `CPU ${read.cpu}${under}: ${read.mib} MiB at ${read.offsetMib} MiB read back sha256 ${read.sha256.slice(0, 16)}…, the image has ${want.slice(0, 16)}…`);
    const delta = read.after.map((a, i) => a - (read.before[i] ?? 0));
    const total = delta.reduce((a, b) => a + b, 0);
    const onTarget = delta[read.cpu] ?? 0;
    if (total === 0) fail(DISK.destination, `CPU ${read.cpu}${under}: no IRQ 14 at all while ${read.mib} MiB were read with O_DIRECT`);
    else if (onTarget === 0 || total - onTarget > STRAYS_ALLOWED) {
      fail(DISK.destination, `IRQ 14 routed to CPU ${read.cpu}${under}: ${onTarget} of ${total} arrived there (per CPU ${delta.join(' ')})`);
    }
  }
  if (input.raisedInWindow !== undefined && r.irq14Final !== undefined && r.irq14Start !== undefined) {
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const seen = sum(r.irq14Final) - sum(r.irq14Start);
    const { certain, ambiguous } = input.raisedInWindow;
    if (seen < certain || seen > certain + ambiguous) {
      const raised = ambiguous === 0 ? `${certain}` : `${certain}, and ${ambiguous} more around the two reads that either count may hold`;
      fail(DISK.count, `the guest counted ${seen} IRQ 14 interrupts over the probe (per CPU from ${r.irq14Start.join(' ')} to ${r.irq14Final.join(' ')}); the controller raised ${raised}`);
    }
  } else if (input.raisedInWindow !== undefined && r.done) {
    fail(DISK.count, 'the probe reported no first or final IRQ 14 count');
  }
  return out;
}
