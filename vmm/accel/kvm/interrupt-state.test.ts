import { describe, expect, it } from 'vitest';
import { apicVectors, formatIoapic, formatLapic, formatRedirection } from './interrupt-state.js';

function lapicPage(set: Record<number, number>): Uint8Array {
  const page = new Uint8Array(1024);
  const v = new DataView(page.buffer);
  for (const [off, val] of Object.entries(set)) v.setUint32(Number(off), val >>> 0, true);
  return page;
}

describe('interrupt-controller summaries', () => {
  it('lists the vectors of a 256-bit APIC register array across its 16-byte-strided words', () => {
    const page = lapicPage({ 0x200: 1 << 2, 0x210: 1 << 16, 0x270: 1 << 31 });
    expect(apicVectors(page, 0x200)).toEqual([0x02, 0x30, 0xff]);
  });

  it('formats a LAPIC with an interrupt in service, two requested, and a TSC-deadline timer', () => {
    const page = lapicPage({ 0x20: 1 << 24, 0x80: 0x10, 0xa0: 0xe0, 0xf0: 0x1ff, 0x170: 1 << 12, 0x210: (1 << 2) | (1 << 16), 0x320: 0x400ec, 0x350: 0x10700 });
    expect(formatLapic(1, 'halted', page)).toBe(
      'lapic vCPU 1 (APIC ID 1): halted, TPR 0x10 PPR 0xe0, ISR [0xec], IRR [0x22 0x30], timer vector 0xec tsc-deadline, SVR 0x1ff, LINT0 0x10700',
    );
  });

  it('says when the timer is masked, gives one-shot counts, and flags a software-disabled APIC', () => {
    expect(formatLapic(0, 'runnable', lapicPage({ 0x320: 0x10000, 0xf0: 0xff }))).toMatch(/timer masked, SVR 0xff \(APIC software-disabled\)/);
    expect(formatLapic(0, 'runnable', lapicPage({ 0x320: 0xef, 0x380: 1000, 0x390: 250, 0xf0: 0x100 }))).toMatch(/timer vector 0xef one-shot count 250\/1000, SVR 0x100,/);
  });

  it('decodes IOAPIC redirection entries: vector, trigger, delivery mode, destination, remote IRR, mask', () => {
    expect(formatRedirection(4, 0x0100_0000_0000_0022n | (1n << 56n))).toBe('pin 4 vector 0x22 edge dest 0x1');
    expect(formatRedirection(9, 0x0000_0000_0001_c921n)).toBe('pin 9 vector 0x21 level lowest-priority dest 0x0 logical remote-irr masked');
  });

  it('shows raised lines and every unmasked or pending pin, hiding masked idle ones', () => {
    const chip = new Uint8Array(520);
    const v = new DataView(chip.buffer);
    v.setUint32(24, 1 << 4, true);
    for (let pin = 0; pin < 24; pin++) v.setBigUint64(32 + 8 * pin, 1n << 16n, true); // all masked
    v.setBigUint64(32 + 8 * 2, 0x30n, true); // timer, unmasked
    v.setBigUint64(32 + 8 * 4, (1n << 16n) | 0x22n, true); // COM1 masked but raised
    expect(formatIoapic(chip, 24, 32, 24)).toBe('ioapic: lines raised (IRR) [4]; pin 2 vector 0x30 edge dest 0x0; pin 4 vector 0x22 edge dest 0x0 masked');
    const idle = new Uint8Array(520);
    for (let pin = 0; pin < 24; pin++) new DataView(idle.buffer).setBigUint64(32 + 8 * pin, 1n << 16n, true);
    expect(formatIoapic(idle, 24, 32, 24)).toBe('ioapic: lines raised (IRR) []; every pin masked');
  });
});
