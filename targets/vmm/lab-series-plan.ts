// A lab series: the own VMM's boots of one lab batch run one after another in ONE Node process
// inside the lab (lab-series.ts), not in a fresh `node dist/vmm/cli/main.js boot` each. Why: in
// the lab (QEMU TCG) Node's own start-up and the boot command's modules cost 5-10 s per boot
// before the VMM's clock starts (docs/host-and-lab.md, "Node start-up in the lab"), a quarter to
// a third of an SMP 1 Linux boot there.
//
// This file is the host's half: the plan the runner reads, its progress file, and the batch
// script's loop that starts the runner again after a boot that did not end cleanly (the runner
// leaves then, so no thread or state of a failed boot is under the next one). No VMM code here:
// the host never loads the boot path for a lab batch.

/** One boot of a series: the `boot` command's words (without `boot`) and the shell around it. */
export interface SeriesBoot {
  id: string;
  argv: string[];
  /** The boot's console (stdout) and messages (stderr), as `node ... > out 2> err` wrote them. */
  out: string;
  err: string;
  /** Run in the series' shell before each attempt (arm the kvm trace) and after it (save it). */
  before?: string;
  after?: string;
  /** Shell whose status is 0 when the first attempt is to be run once more; it moves that attempt's files aside itself. */
  rerunIf?: string;
}

export interface SeriesPlan {
  /** Run once in each runner's shell before its first boot (the kvm trace functions and setup). */
  setup: string;
  /** Extra environment for that shell. */
  env: Record<string, string>;
  /** `start ID` and `done ID CODE` lines, so a runner started again goes on where the last one stopped. */
  progress: string;
  boots: SeriesBoot[];
}

/** The runner's exit code for "a boot did not end cleanly; start me again for the rest". */
export const SERIES_RESTART = 75;
/** The runner, relative to the project root (the batch script's working directory). */
export const SERIES_ENTRY = 'dist/targets/vmm/lab-series.js';

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * The batch script's lines that run a series: the runner again while it asks to be (exit
 * SERIES_RESTART) or died mid-boot (any other non-zero code; the next runner records that boot as
 * ended with the code and goes on), and never again once a runner recorded nothing at all, so a
 * runner that cannot start ends the loop instead of repeating it.
 */
export function seriesLoop(planFile: string, progressFile: string, runner = `node ${SERIES_ENTRY}`): string[] {
  const progress = shellQuote(progressFile);
  return [
    'SERIES_RC=0',
    'SERIES_LINES=0',
    'while :; do',
    `  ${runner} ${shellQuote(planFile)} $SERIES_RC`,
    '  SERIES_RC=$?',
    '  [ $SERIES_RC -ne 0 ] || break',
    `  n=$(cat ${progress} 2>/dev/null | wc -l)`,
    '  if [ "$n" -le "$SERIES_LINES" ]; then echo "bootgate lab: the boot series runner ended with exit $SERIES_RC before it recorded a boot; the rest are not run" >&2; break; fi',
    '  SERIES_LINES=$n',
    'done',
  ];
}

export interface SeriesProgress {
  done: Set<string>;
  /** A boot a runner started (`start ID`) and never recorded as done: that runner died during it. */
  inFlight?: string;
  /** A boot whose first attempt was judged for a rerun (`rerun ID`) and whose second has not started. */
  rerunPending?: string;
}

/**
 * The progress file's state (a missing file is an empty text). Its lines: `start ID` as an
 * attempt begins, `rerun ID` once a first attempt is to be run again (its files moved aside),
 * `done ID CODE` once the boot is over.
 */
export function parseSeriesProgress(text: string): SeriesProgress {
  const done = new Set<string>();
  let inFlight: string | undefined;
  let rerunPending: string | undefined;
  for (const line of text.split('\n')) {
    const [what, id] = line.split(' ');
    if (!id) continue;
    if (what === 'start') {
      inFlight = id;
      rerunPending = undefined;
    } else if (what === 'rerun') {
      inFlight = undefined;
      rerunPending = id;
    } else if (what === 'done') {
      done.add(id);
      if (inFlight === id) inFlight = undefined;
      if (rerunPending === id) rerunPending = undefined;
    }
  }
  return { done, inFlight, rerunPending };
}
