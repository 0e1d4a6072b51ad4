// The ACPI PM timer alone (ACPI 6.x §4.8.3.3: 24 bits, 3.579545 MHz, read-only), derived from a
// monotonic clock on every read: cheap and allocation-free. Its own file because every vCPU thread
// answers PM_TMR with its own instance (a sync register, vmm/devices/sync-devices.ts) and loads
// only this, not the PIIX4 PM function. Left out: the 32-bit TMR_VAL_EXT variant.

import { configError } from '../../errors.js';

export const PM_TIMER_HZ = 3_579_545;
export const PM_TIMER_MASK = 0xff_ffff;

export interface PmTimerOptions {
  /**
   * Start of the count, in ms of `performance.timeOrigin + performance.now()` (a clock all threads
   * share), so a worker's PmTimer built with the main thread's `epochMs` reads the same count.
   * With `clock`, in that clock's ms instead. Default: now.
   */
  epochMs?: number;
  /** A monotonic ms clock to use instead of performance.now() (tests). */
  clock?: () => number;
}

/** ACPI PM timer: 24-bit, 3.579545 MHz, derived from a monotonic clock on every read. */
export class PmTimer {
  /** Pass this to a worker's PmTimer to share the count. */
  readonly epochMs: number;
  private readonly clock: () => number;
  /** epochMs in this thread's clock. */
  private readonly base: number;

  constructor(options: PmTimerOptions = {}) {
    if (options.epochMs !== undefined && !Number.isFinite(options.epochMs)) {
      throw configError('PmTimer epochMs', options.epochMs, 'a finite number of ms');
    }
    if (options.clock !== undefined) {
      this.clock = options.clock;
      this.epochMs = this.base = options.epochMs ?? options.clock();
    } else {
      this.clock = performance.now.bind(performance);
      this.epochMs = options.epochMs ?? performance.timeOrigin + performance.now();
      this.base = this.epochMs - performance.timeOrigin;
    }
  }

  /** Ticks since the epoch, not wrapped (clamped at 0 against rounding when threads convert the epoch). */
  ticks(): number {
    const ms = this.clock() - this.base;
    return ms > 0 ? Math.floor((ms * PM_TIMER_HZ) / 1000) : 0;
  }

  /** The PM_TMR register: the low 24 bits of ticks(). */
  read(): number {
    // ToInt32 keeps the low 32 bits of any integer below 2^53, so the mask is exact.
    return this.ticks() & PM_TIMER_MASK;
  }
}

