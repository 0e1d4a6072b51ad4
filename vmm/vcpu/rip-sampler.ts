// The guest profile of --sample-rip: the supervisor kicks vCPU 0 every N ms and the vCPU's thread
// counts where it was (gpa of the next instruction); the top addresses go into a 'rip-samples' event.

import type { Vcpu } from '../accel/types.js';

const TOP = 30;

export class RipSampler {
  private readonly samples = new Map<number, number>();

  sample(vcpu: Vcpu): void {
    const fp = vcpu.fetchPoint();
    const gpa = fp.csBase + fp.rip;
    this.samples.set(gpa, (this.samples.get(gpa) ?? 0) + 1);
  }

  event(): Record<string, unknown> {
    const total = [...this.samples.values()].reduce((a, b) => a + b, 0);
    const top = [...this.samples].sort((a, b) => b[1] - a[1]).slice(0, TOP);
    return { event: 'rip-samples', total, top: top.map(([gpa, n]) => ({ gpa: `0x${gpa.toString(16)}`, samples: n })) };
  }
}
