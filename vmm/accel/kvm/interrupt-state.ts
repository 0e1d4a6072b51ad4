// One-line summaries of the in-kernel interrupt controllers for a stall diagnostic: where a
// pending interrupt sits when a guest waits for one that never comes. A line raised at the IOAPIC
// (IOAPIC IRR) but never sent, a vector requested at the LAPIC (IRR) but held back by one in
// service (ISR) or by the task priority (TPR/PPR), or nothing pending at all (the device never
// raised it) are three different bugs.
// Layouts: the local APIC register page as KVM_GET_LAPIC returns it (Intel SDM vol. 3 table 11-1:
// ID 0x20, TPR 0x80, PPR 0xA0, SVR 0xF0, ISR/TMR/IRR 8 x 32 bits at 0x100/0x180/0x200 with a
// 16-byte stride, LVT timer 0x320, LINT0/1 0x350/0x360, timer counts 0x380/0x390), and KVM's
// struct kvm_ioapic_state (82093AA redirection entries). Left out: the PIC (Linux runs with the
// IOAPIC; the PIC is masked), the TMR, and the guest's PV-EOI flag (with PV EOI an ISR bit the
// guest already acknowledged in shared memory stays set here until its next entry).

const APIC_ID = 0x20;
const APIC_TPR = 0x80;
const APIC_PPR = 0xa0;
const APIC_SVR = 0xf0;
const APIC_ISR = 0x100;
const APIC_IRR = 0x200;
const APIC_LVT_TIMER = 0x320;
const APIC_LVT_LINT0 = 0x350;
const APIC_TMICT = 0x380;
const APIC_TMCCT = 0x390;
const LVT_MASKED = 1 << 16;
const TIMER_MODES = ['one-shot', 'periodic', 'tsc-deadline', 'reserved'] as const;

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

/** Vectors whose bit is set in a 256-bit APIC register array (ISR, IRR). */
export function apicVectors(page: Uint8Array, base: number): number[] {
  const v = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const out: number[] = [];
  for (let word = 0; word < 8; word++) {
    const bits = v.getUint32(base + 0x10 * word, true);
    for (let b = 0; b < 32; b++) if (bits & (1 << b)) out.push(32 * word + b);
  }
  return out;
}

/** A vCPU's local APIC in one line, with its run state (KVM_GET_MP_STATE). */
export function formatLapic(vcpu: number, mpState: string, page: Uint8Array): string {
  const v = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const r = (off: number) => v.getUint32(off, true);
  const list = (vs: number[]) => `[${vs.map(hex).join(' ')}]`;
  const timer = r(APIC_LVT_TIMER);
  const timerText =
    timer & LVT_MASKED
      ? 'masked'
      : `vector ${hex(timer & 0xff)} ${TIMER_MODES[(timer >> 17) & 3]}${(timer >> 17) & 3 ? '' : ` count ${r(APIC_TMCCT)}/${r(APIC_TMICT)}`}`;
  return (
    `lapic vCPU ${vcpu} (APIC ID ${r(APIC_ID) >>> 24}): ${mpState}, TPR ${hex(r(APIC_TPR))} PPR ${hex(r(APIC_PPR))}, ` +
    `ISR ${list(apicVectors(page, APIC_ISR))}, IRR ${list(apicVectors(page, APIC_IRR))}, timer ${timerText}, ` +
    `SVR ${hex(r(APIC_SVR))}${r(APIC_SVR) & 0x100 ? '' : ' (APIC software-disabled)'}, LINT0 ${hex(r(APIC_LVT_LINT0))}`
  );
}

/** One IOAPIC redirection entry, decoded. */
export function formatRedirection(pin: number, entry: bigint): string {
  const lo = Number(entry & 0xffff_ffffn);
  const dest = Number(entry >> 56n);
  const parts = [`pin ${pin} vector ${hex(lo & 0xff)}`, lo & (1 << 15) ? 'level' : 'edge'];
  const mode = (lo >> 8) & 7;
  if (mode !== 0) parts.push(['fixed', 'lowest-priority', 'smi', 'reserved', 'nmi', 'init', 'reserved', 'extint'][mode]!);
  parts.push(`dest ${hex(dest)}${lo & (1 << 11) ? ' logical' : ''}`);
  if (lo & (1 << 13)) parts.push('active-low');
  if (lo & (1 << 14)) parts.push('remote-irr');
  if (lo & (1 << 16)) parts.push('masked');
  return parts.join(' ');
}

/**
 * The IOAPIC's pending lines and every pin worth seeing (unmasked, or with a line pending or
 * a level interrupt in service), from a KVM_GET_IRQCHIP buffer for the IOAPIC.
 */
export function formatIoapic(irqchip: Uint8Array, irrOffset: number, redirOffset: number, pins: number): string {
  const v = new DataView(irqchip.buffer, irqchip.byteOffset, irqchip.byteLength);
  const irr = v.getUint32(irrOffset, true);
  const shown: string[] = [];
  const pending: number[] = [];
  for (let pin = 0; pin < pins; pin++) {
    const entry = v.getBigUint64(redirOffset + 8 * pin, true);
    const lo = Number(entry & 0xffff_ffffn);
    const raised = (irr & (1 << pin)) !== 0;
    if (raised) pending.push(pin);
    if (!(lo & (1 << 16)) || raised || lo & (1 << 14)) shown.push(formatRedirection(pin, entry));
  }
  return `ioapic: lines raised (IRR) [${pending.join(' ')}]; ${shown.join('; ') || 'every pin masked'}`;
}
