// Progress lines for a lab batch: the batch script prints `@@batch ID start|retry|exit N` as each
// boot begins and ends, and a batch runs for minutes with nothing else to show.

import { basename } from 'node:path';
import type { BootRequest } from '../target.js';

/** One of the batch script's own lines: boot id, what happened, and an exit's code. */
export const BATCH_LINE = /^@@batch (\S+) (start|retry|exit)(?: (-?\d+))?/;

/** The target a progress line names unless told: the own VMM in the lab, a batch's default stack. */
const DEFAULT_TARGET = 'vmm:kvm@lab';

export interface ProgressBoot {
  id: string;
  req: BootRequest;
}

/** A boot in a progress line: guest (with its firmware when named), or firmware, or disk; SMP, quirks. */
export function describeLabBoot(req: BootRequest): string {
  const what = req.disk
    ? `disk ${basename(req.disk)}`
    : req.guest !== undefined && req.firmware !== undefined
      ? `${req.guest} ${req.firmware}`
      : (req.guest ?? req.firmware ?? (req.firmwareFile ? basename(req.firmwareFile) : req.linux ? 'kernel' : 'boot'));
  const pci = req.pciTestDevices?.length ? ` pci=${req.pciTestDevices.join('|')}` : '';
  return `${what}${req.reboot ? ` reboot=${req.reboot}` : ''}${pci} smp${req.smp}${req.quirks?.length ? ` quirk=${req.quirks.join(',')}` : ''}`;
}

/**
 * Progress lines from the batch script's `@@batch ID start|retry|exit N` lines, fed as they arrive
 * (a lab batch runs for minutes with nothing else to show): which boot, of how many, when it
 * started and how it ended. Pure apart from the clock.
 */
export function batchProgress(boots: readonly ProgressBoot[], attempt: number, now: () => number = () => performance.now(), target = DEFAULT_TARGET, lane?: string): { feed(text: string): string[] } {
  const index = new Map(boots.map((b, i) => [b.id, i]));
  const started = new Map<string, number>();
  let partial = '';
  const lab = `${attempt === 0 ? 'lab' : `lab VM ${attempt + 1}`}${lane ? ` (lane ${lane})` : ''}`;
  return {
    feed(text: string): string[] {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      const out: string[] = [];
      for (const line of lines) {
        const m = BATCH_LINE.exec(line);
        const i = m ? index.get(m[1]!) : undefined;
        if (!m || i === undefined) continue;
        const b = boots[i]!;
        const tag = `bootgate ${lab}: [${i + 1}/${boots.length}] ${target} ${describeLabBoot(b.req)}`;
        if (m[2] === 'start') {
          started.set(b.id, now());
          out.push(`${tag}: started`);
        } else if (m[2] === 'retry') {
          out.push(`${tag}: unrequested triple fault, running it once more (the first attempt is kept)`);
        } else {
          const t0 = started.get(b.id);
          const secs = t0 === undefined ? '' : ` after ${((now() - t0) / 1000).toFixed(1)} s`;
          out.push(`${tag}: ${m[3] === '0' ? 'done' : `ended with exit ${m[3]}`}${secs}`);
        }
      }
      return out;
    },
  };
}
