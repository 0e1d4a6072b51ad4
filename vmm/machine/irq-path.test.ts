import { describe, expect, it } from 'vitest';
import type { Vm } from '../accel/types.js';
import type { QuirkName } from '../quirks.js';
import { IrqPath } from './irq-path.js';

function fakeVm(pit = { count: 0x1_0000, mode: 3 }, redirection = 0x31n, deliver = true) {
  const log: string[] = [];
  const vm = {
    setIrqLine: (gsi: number, level: boolean) => log.push(`line ${gsi} ${level ? 1 : 0}`),
    signalMsi: (lo: number, hi: number, data: number) => log.push(`msi 0x${lo.toString(16)} ${hi} 0x${data.toString(16)}`) > 0 && deliver,
    ioapicRedirection: () => redirection,
    pitChannel0: () => pit,
  } as unknown as Vm;
  return { vm, log, pit };
}

function path(quirks: QuirkName[] = [], v = fakeVm()) {
  return { p: new IrqPath(() => v.vm, quirks), ...v };
}

describe('IrqPath', () => {
  it('tells the owner before an interrupt goes toward KVM (rising lines and MSIs), not for a line staying up or falling', () => {
    const { p, log } = path();
    p.beforeInterrupt = () => log.push('publish');
    p.setIrqLine(14, true);
    p.setIrqLine(14, true);
    p.setIrqLine(14, false);
    p.signalMsi(0xfee0_0000, 0, 0x31);
    expect(log).toEqual(['publish', 'line 14 1', 'line 14 0', 'publish', 'msi 0xfee00000 0 0x31']);
  });

  it('passes lines and MSIs through and counts rising edges and messages', () => {
    const { p, log } = path();
    p.setIrqLine(11, true);
    p.setIrqLine(11, true);
    p.setIrqLine(11, false);
    p.signalMsi(0xfee0_3000, 0, 0x41);
    expect(log).toEqual(['line 11 1', 'line 11 0', 'msi 0xfee03000 0 0x41']);
    expect(p.stats()).toMatchObject({ intxEdges: { gsi11: 1 }, msis: { 'apic3:vector65': 1 }, injected: 2, dropped: 0 });
  });
  it('counts edges on unmasked IOAPIC pins apart, per boot, on the GSIs asked for: an edge on a masked pin never reaches the guest', () => {
    let redirection = 0x10031n; // masked
    const v = { ...fakeVm() };
    (v.vm as unknown as { ioapicRedirection: () => bigint }).ioapicRedirection = () => redirection;
    const p = new IrqPath(() => v.vm, [], { gsis: [14], now: () => 0 });
    const edge = () => {
      p.setIrqLine(14, true);
      p.setIrqLine(14, false);
    };
    edge();
    redirection = 0x31n;
    edge();
    edge();
    expect(p.stats()).toMatchObject({ intxEdges: { gsi14: 3 }, routedEdgesThisBoot: { gsi14: 2 } });
    p.reset();
    edge();
    expect(p.stats()).toMatchObject({ intxEdges: { gsi14: 4 }, routedEdgesThisBoot: { gsi14: 1 } });
    // Untimed paths do not read the redirection entry at all.
    expect(new IrqPath(() => v.vm, []).stats().routedEdgesThisBoot).toBeUndefined();
    expect(() => new IrqPath(() => v.vm, [], { gsis: [24], now: () => 0 })).toThrow(/not an IOAPIC pin/);
  });
  it('keeps the time of each routed edge on the GSIs asked for, per boot', () => {
    let now = 100;
    const v = fakeVm();
    const p = new IrqPath(() => v.vm, [], { gsis: [14], now: () => now });
    p.setIrqLine(14, true);
    p.setIrqLine(14, false);
    now = 250.04;
    p.setIrqLine(14, true);
    p.setIrqLine(11, true);
    expect(p.stats().routedEdgeTimesThisBoot).toEqual({ gsi14: [100, 250] });
    p.reset();
    expect(p.stats().routedEdgeTimesThisBoot).toEqual({ gsi14: [] });
    expect(new IrqPath(() => v.vm, []).stats().routedEdgeTimesThisBoot).toBeUndefined();
  });
  it('drop-every-nth-irq drops the 10th interrupt', () => {
    const { p, log } = path(['drop-every-nth-irq']);
    for (let i = 0; i < 10; i++) p.signalMsi(0xfee0_0000, 0, i);
    expect(log).toHaveLength(9);
    expect(p.stats()).toMatchObject({ injected: 9, dropped: 1 });
  });
  it('irq-to-bsp-only sends MSIs and unmasked IOAPIC lines to APIC 0', () => {
    const { p, log } = path(['irq-to-bsp-only']);
    p.signalMsi(0xfee0_500c, 0, 0x41);
    p.setIrqLine(11, true);
    expect(log).toEqual(['msi 0xfee00000 0 0x41', 'msi 0xfee00000 0 0x31']);
    expect(p.stats().redirectedToBsp).toBe(2);
  });
  it('starve-low-priority-irq holds device interrupts while the PIT runs above 1 kHz, then releases them', () => {
    const v = fakeVm({ count: 298, mode: 2 }); // ~4 kHz
    const { p, log } = path(['starve-low-priority-irq'], v);
    p.signalMsi(0xfee0_0000, 0, 0x41);
    p.poll();
    expect(log).toEqual([]);
    v.pit.count = 0x1_0000; // 18.2 Hz
    p.poll();
    expect(log).toEqual(['msi 0xfee00000 0 0x41']);
    expect(p.stats()).toMatchObject({ held: 1, injected: 1 });
  });
  it('scrub-irr-live-vector publishes pin 14\'s vector before its edge reaches KVM, only while unmasked, and 0 at a reset', () => {
    let redirection = 0x1_0022n; // masked, vector 0x22
    const v = fakeVm();
    (v.vm as unknown as { ioapicRedirection: () => bigint }).ioapicRedirection = () => redirection;
    const p = new IrqPath(() => v.vm, ['scrub-irr-live-vector']);
    const published: string[] = [];
    p.onScrubVector = (vector) => published.push(`vector 0x${vector.toString(16)} (${v.log.length} lines before)`);
    const edge = (gsi: number) => {
      p.setIrqLine(gsi, true);
      p.setIrqLine(gsi, false);
    };
    edge(14);
    redirection = 0x20n;
    edge(14);
    edge(11);
    p.reset();
    expect(published).toEqual(['vector 0x20 (2 lines before)', 'vector 0x0 (6 lines before)']);
    // Without the quirk nothing is published, whatever the listener.
    const plain = path();
    plain.p.onScrubVector = () => published.push('unexpected');
    plain.p.setIrqLine(14, true);
    expect(published).toHaveLength(2);
  });
  it('counts MSIs the accelerator delivered to no vCPU, with samples of what they said', () => {
    const { p, log } = path([], fakeVm(undefined, undefined, false));
    p.signalMsi(0xfee0_7000, 0, 0x41);
    expect(log).toHaveLength(1);
    expect(p.stats()).toMatchObject({ injected: 1, undeliveredMsis: 1, undeliveredSamples: ['address 0xfee07000 data 0x41'] });
  });
});
