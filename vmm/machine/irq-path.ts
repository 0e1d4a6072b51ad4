// The device-interrupt path from userspace devices to KVM's in-kernel irqchip, with interrupt
// accounting always on (rising edges per GSI, MSIs per destination APIC and vector) and the
// interrupt quirks that reproduce the seeds' bugs in the delivery path itself:
//   drop-every-nth-irq       every 10th interrupt is not passed to KVM
//   irq-to-bsp-only          MSIs and IOAPIC-routed lines are delivered to APIC ID 0 as fixed MSIs
//   starve-low-priority-irq  device interrupts are held while the PIT runs above 1 kHz and
//                            released when it slows down (checked between exits by `poll`)
//   scrub-irr-live-vector    at each rising edge on IOAPIC pin 14 the pin's vector is handed to
//                            `onScrubVector`; the vCPU threads clear it from their IRR before
//                            each entry (vmm/vcpu/irr-scrubber.ts). The edge itself goes to KVM.
// A device still counts what it raised; the gap between that and what arrived is the bug.
// For the IOAPIC pins named in `edgeTimes`, rising edges are also counted apart when the pin was
// unmasked at the time, with the time of each (ms on the event clock), since the last machine
// reset: an edge on a masked pin is lost by design (KVM's IOAPIC clears the pin's IRR when the line
// falls), so these, not every edge a device raised, are what the guest can count, and a count the
// guest took between two of its console lines can be held against the edges between them. Only
// those pins pay for reading the redirection entry at each edge.

import type { Vm } from '../accel/types.js';
import { MSI_ADDRESS_BASE } from '../layout.js';
import type { QuirkName } from '../quirks.js';

const DROP_EVERY = 10;
const PIT_HZ = 1_193_182;
const STARVE_ABOVE_HZ = 1000;
const IOAPIC_MASKED = 1n << 16n;
const IOAPIC_PINS = 24;
/** The pin whose vector the IRR scrubber eats: the primary IDE channel's legacy IRQ. */
export const SCRUB_GSI = 14;

export interface IrqPathStats {
  intxEdges: Record<string, number>;
  msis: Record<string, number>;
  injected: number;
  dropped: number;
  redirectedToBsp: number;
  held: number;
  /** For the GSIs in `edgeTimes`: rising edges on the unmasked pin since the last machine reset. */
  routedEdgesThisBoot?: Record<string, number>;
  /** For the same GSIs: when each of those edges came (ms, event clock). */
  routedEdgeTimesThisBoot?: Record<string, number[]>;
  /** MSIs the accelerator accepted but delivered to no vCPU, and the last few of them. */
  undeliveredMsis: number;
  undeliveredSamples: string[];
}

const UNDELIVERED_SAMPLES = 4;
/** Edge times kept per GSI and boot; beyond this the list stops growing (and says so by its length). */
const MAX_EDGE_TIMES = 200_000;

export interface EdgeTimes {
  gsis: readonly number[];
  /** The event clock: ms since the VMM started. */
  now: () => number;
}

export class IrqPath {
  private readonly level = new Map<number, boolean>();
  private readonly edges = new Map<number, number>();
  private readonly msis = new Map<string, number>();
  private readonly heldQueue: Array<() => void> = [];
  private sequence = 0;
  injected = 0;
  dropped = 0;
  redirectedToBsp = 0;
  held = 0;
  undeliveredMsis = 0;
  private readonly undeliveredSamples: string[] = [];
  /** scrub-irr-live-vector: told the vector of SCRUB_GSI at each of its rising edges while unmasked. */
  onScrubVector?: (vector: number) => void;
  /**
   * Called before an interrupt (a rising line, an MSI) goes on toward KVM: the device owner publishes
   * the ShadowRead values there, so a vCPU taking the interrupt reads the state that raised it.
   */
  beforeInterrupt?: () => void;

  /** Per timed GSI, this boot's routed edges: how many, and when (the list capped at MAX_EDGE_TIMES). */
  private readonly routed = new Map<number, { count: number; times: number[] }>();

  constructor(
    private readonly vm: () => Vm,
    private readonly quirks: readonly QuirkName[],
    private readonly timed?: EdgeTimes,
  ) {
    for (const gsi of timed?.gsis ?? []) {
      if (!Number.isInteger(gsi) || gsi < 0 || gsi >= IOAPIC_PINS) throw new RangeError(`timed GSI ${gsi} is not an IOAPIC pin (0-${IOAPIC_PINS - 1})`);
      this.routed.set(gsi, { count: 0, times: [] });
    }
  }

  private has(q: QuirkName): boolean {
    return this.quirks.includes(q);
  }

  /** A device drives its line; a rising edge is one interrupt (level-triggered INTx). */
  setIrqLine(gsi: number, level: boolean): void {
    const rising = level && !this.level.get(gsi);
    this.level.set(gsi, level);
    if (!rising) {
      if (!level) this.vm().setIrqLine(gsi, false);
      return;
    }
    this.beforeInterrupt?.();
    const routed = this.routed.get(gsi);
    const scrub = gsi === SCRUB_GSI && this.onScrubVector !== undefined && this.has('scrub-irr-live-vector');
    // One read of the pin's redirection entry for both: only these pins pay for it.
    const entry = routed || scrub ? this.vm().ioapicRedirection(gsi) : IOAPIC_MASKED;
    if ((entry & IOAPIC_MASKED) === 0n) {
      // Published before the edge reaches KVM, so no vCPU can enter with the vector pending unseen.
      if (scrub) this.onScrubVector!(Number(entry & 0xffn));
      if (routed) {
        routed.count++;
        if (routed.times.length < MAX_EDGE_TIMES) routed.times.push(Math.round(this.timed!.now() * 10) / 10);
      }
    }
    this.deliver(() => {
      if (this.has('irq-to-bsp-only')) {
        const entry = this.vm().ioapicRedirection(gsi);
        if ((entry & IOAPIC_MASKED) === 0n) {
          this.redirectedToBsp++;
          this.count(this.edges, gsi);
          this.sendMsi(MSI_ADDRESS_BASE, 0, Number(entry & 0xffn));
          return;
        }
      }
      this.count(this.edges, gsi);
      this.vm().setIrqLine(gsi, true);
    });
  }

  signalMsi(addressLo: number, addressHi: number, data: number): void {
    this.beforeInterrupt?.();
    this.deliver(() => {
      let lo = addressLo;
      if (this.has('irq-to-bsp-only')) {
        // Destination ID 0, physical mode, no redirection hint: the BSP, whatever the guest asked.
        lo = (MSI_ADDRESS_BASE | (addressLo & 0xff3)) >>> 0;
        if (lo !== addressLo >>> 0) this.redirectedToBsp++;
      }
      this.msiCount(lo, data);
      this.sendMsi(lo, addressHi, data);
    });
  }

  private sendMsi(lo: number, hi: number, data: number): void {
    if (this.vm().signalMsi(lo, hi, data)) return;
    this.undeliveredMsis++;
    if (this.undeliveredSamples.length < UNDELIVERED_SAMPLES) {
      this.undeliveredSamples.push(`address 0x${(hi * 0x1_0000_0000 + (lo >>> 0)).toString(16)} data 0x${data.toString(16)}`);
    }
  }

  private deliver(inject: () => void): void {
    this.sequence++;
    if (this.has('drop-every-nth-irq') && this.sequence % DROP_EVERY === 0) {
      this.dropped++;
      return;
    }
    if (this.has('starve-low-priority-irq') && this.timerBusy()) {
      this.held++;
      this.heldQueue.push(inject);
      return;
    }
    this.injected++;
    inject();
  }

  private timerBusy(): boolean {
    return this.pitPeriodicHz() > STARVE_ABOVE_HZ;
  }

  /** PIT channel 0's rate (Hz) while it runs periodic (mode 2 or 3), else 0: what an interrupt competes with. */
  pitPeriodicHz(): number {
    const pit = this.vm().pitChannel0();
    return pit.mode === 2 || pit.mode === 3 ? PIT_HZ / pit.count : 0;
  }

  /** Release held interrupts once the timer is quiet (starvation quirk); cheap when nothing is held. */
  poll(): void {
    if (this.heldQueue.length === 0 || this.timerBusy()) return;
    for (const inject of this.heldQueue.splice(0)) {
      this.injected++;
      inject();
    }
  }

  /** Machine reset: the per-boot counts restart. */
  reset(): void {
    this.onScrubVector?.(0);
    for (const r of this.routed.values()) {
      r.count = 0;
      r.times.length = 0;
    }
  }

  private count(map: Map<number, number>, key: number): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private msiCount(addressLo: number, data: number): void {
    const key = `apic${(addressLo >>> 12) & 0xff}:vector${data & 0xff}`;
    this.msis.set(key, (this.msis.get(key) ?? 0) + 1);
  }

  stats(): IrqPathStats {
    return {
      intxEdges: Object.fromEntries([...this.edges].map(([g, n]) => [`gsi${g}`, n])),
      msis: Object.fromEntries(this.msis),
      ...(this.timed
        ? {
            routedEdgesThisBoot: Object.fromEntries([...this.routed].map(([g, r]) => [`gsi${g}`, r.count])),
            routedEdgeTimesThisBoot: Object.fromEntries([...this.routed].map(([g, r]) => [`gsi${g}`, [...r.times]])),
          }
        : {}),
      injected: this.injected,
      dropped: this.dropped,
      redirectedToBsp: this.redirectedToBsp,
      held: this.held,
      undeliveredMsis: this.undeliveredMsis,
      undeliveredSamples: [...this.undeliveredSamples],
    };
  }
}
