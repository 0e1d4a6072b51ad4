// What the interrupt test device reports to the VMM: the counters of its final `irq-test` event,
// which the interrupt suite compares with the guest's own per-CPU counts, and the wait beyond which
// an acknowledged interrupt counts as a stall (an `irq-stall` event: a lost interrupt the guest
// recovered). The device that keeps them is irq-test-device.ts.

/** An interrupt acknowledged this long (ms) after it was raised is reported as a stall. */
export const STALL_REPORT_MS = 500;

export type IrqTestMode = 'intx' | 'msi';

/** Counters for the VMM's final `irq-test` event; the suite compares `raised` with the guest's counts. */
export interface IrqTestStats {
  bdf: string;
  mode: IrqTestMode;
  /** Interrupts the guest asked for (sum of FIRE writes). */
  fired: number;
  /** Interrupts raised: INTx assertions and MSI messages sent, one per interrupt. */
  raised: { intx: number; msi: number };
  acked: number;
  /** ACK writes with nothing outstanding. */
  spuriousAcks: number;
  /** Interrupts dropped by CANCEL or a machine reset before they were acked. */
  cancelled: number;
  /** INTx assertions made while the PIRQ route was disabled: the line reached no GSI. */
  unroutedIntx: number;
  pending: number;
  outstanding: IrqTestMode | null;
  /** Interrupts acked or cancelled at least STALL_REPORT_MS after they were raised, and the longest wait. */
  stalls: number;
  longestWaitMs: number;
  /** The MSI message programmed now (address, data), for the report. */
  msi: { enabled: boolean; address: string; data: number };
  gsi: number | null;
}
