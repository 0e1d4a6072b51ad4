// When QEMU's vCPU 0 first came back from KVM_RUN, read from QEMU's own trace: with
// `-trace enable=kvm_run_exit -msg timestamp=on` its log backend writes
// `PID@SECONDS.MICROSECONDS:kvm_run_exit cpu_index N, reason R` on stderr for every exit
// (accel/kvm/trace-events; the timestamp is gettimeofday's). The first such line of vCPU 0 is the
// QEMU counterpart of the own VMM's `reset-vector` milestone (its first single-stepped KVM_RUN
// returning), so the bench can time "VMM start to reset vector" on both stacks without pausing
// QEMU at reset (-S and QMP `cont` would put the harness's own handshake in the figure).
// Trace lines are taken out of the stderr text kept for error messages: a boot makes thousands.
// Only KVM has this trace event: on another accelerator no line comes.

/** QEMU's command-line words that make it log every KVM_RUN exit with a wall-clock stamp. */
export const FIRST_EXIT_TRACE_ARGS: readonly string[] = ['-trace', 'enable=kvm_run_exit', '-msg', 'timestamp=on'];
/** The trace event to switch off (QMP trace-event-set-state) once the first exit is in. */
export const FIRST_EXIT_TRACE_EVENT = 'kvm_run_exit';

const TRACE_LINE = /^\d+@(\d+)\.(\d{6}):kvm_run_exit cpu_index (\d+), reason (\d+)\r?$/;

export interface FirstExit {
  /** Wall-clock time of the exit, ms since the epoch. */
  epochMs: number;
  /** KVM_EXIT_* number (2 = I/O, 6 = MMIO, ...). */
  reason: number;
}

/** Splits QEMU's stderr into trace lines (read for the first exit of vCPU 0) and everything else (kept). */
export class FirstExitTrace {
  first: FirstExit | undefined;
  #partial = '';

  /** Feeds a stderr chunk; returns the text that is not trace lines (whole lines, or the rest at `flush`). */
  feed(chunk: string): string {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop()!;
    return lines
      .filter((line) => !this.#take(line))
      .map((line) => `${line}\n`)
      .join('');
  }

  /** The unfinished last line, when the stream has ended. */
  flush(): string {
    const rest = this.#partial;
    this.#partial = '';
    return this.#take(rest) ? '' : rest;
  }

  #take(line: string): boolean {
    const m = TRACE_LINE.exec(line);
    if (!m) return false;
    if (this.first === undefined && m[3] === '0') this.first = { epochMs: Number(m[1]) * 1000 + Number(m[2]) / 1000, reason: Number(m[4]) };
    return true;
  }
}
