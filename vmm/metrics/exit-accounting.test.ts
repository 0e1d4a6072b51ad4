import { describe, expect, it } from 'vitest';
import { ExitKind } from '../accel/exit-info.js';
import { ExitAccounting, mergeProfile } from './exit-accounting.js';

describe('mergeProfile', () => {
  it('sums exits by kind and port over vCPUs and shares time by wall x vCPUs', () => {
    const bsp = new ExitAccounting(0, 0);
    bsp.runMs = 50;
    bsp.pio(ExitKind.IoOut, 0x3f8, 0x41, 10, 12);
    bsp.pio(ExitKind.IoOut, 0x3f8, 0x42, 20, 21);
    const ap = new ExitAccounting(1, 0);
    ap.runMs = 30;
    ap.pio(ExitKind.IoIn, 0x3fd, 0x60, 30, 34);
    const p = mergeProfile([bsp.snapshot(), ap.snapshot()], 100, 2);
    expect(p.totalExits).toBe(3);
    expect(p.vcpuRunPct).toBe(40);
    expect(p.pioMs).toBe(7);
    expect(p.hottestPorts[0]).toMatchObject({ port: 0x3f8, count: 2, handleNs: 3e6 });
    expect(p.handover).toBeUndefined();
  });

  it('reports how many exits went to the device owner, the median and the longest wait', () => {
    const ap1 = new ExitAccounting(1, 0);
    ap1.handover(0.5);
    ap1.handover(2100);
    const ap2 = new ExitAccounting(2, 0);
    ap2.handover(3);
    expect(mergeProfile([ap1.snapshot(), ap2.snapshot()], 1000, 3).handover).toEqual({ count: 3, maxMs: 2100, medianMs: 3 });
  });

  it('keeps a bounded sample of hand-over waits whose median follows the distribution', () => {
    const a = new ExitAccounting(1, 0);
    // Three waits in four are 0.1 ms: a random reservoir of 2,048 has that median but with a chance
    // far below 1e-50 (at one in two, as this test had, about one run in 60 drew a 10 ms median).
    for (let i = 0; i < 20_000; i++) a.handover(i % 4 === 3 ? 10 : 0.1);
    for (let i = 0; i < 1_000; i++) a.handover(0.1);
    const snap = a.snapshot();
    expect(snap.handoverSamples!.length).toBeLessThanOrEqual(2048);
    expect(mergeProfile([snap], 1000, 2).handover!.medianMs).toBe(0.1);
  });

  it('names what the handed-over exits accessed, ports and MMIO pages, hottest first', () => {
    const ap1 = new ExitAccounting(1, 0);
    ap1.handover(1, 0x3f8);
    ap1.handover(1, 0x3f8);
    ap1.handover(1, 0xfebf1004, true);
    const ap2 = new ExitAccounting(2, 0);
    ap2.handover(1, 0x3f8);
    ap2.handover(1, 0xfebf1ffc, true);
    ap2.handover(1, 0xcfc);
    expect(mergeProfile([ap1.snapshot(), ap2.snapshot()], 1000, 3, 2).handover?.hottest).toEqual([
      { target: 'port 0x3f8', count: 3 },
      { target: 'mmio 0xfebf1000', count: 2 },
    ]);
  });

  it('names the hottest unassigned MMIO pages, keeping at most 64 pages per vCPU', () => {
    const bsp = new ExitAccounting(0, 0);
    for (let i = 0; i < 3; i++) bsp.unassigned(0xb8000 + 2 * i);
    bsp.unassigned(0xfed00000);
    for (let p = 0; p < 100; p++) bsp.unassigned(0x1_0000_0000 + p * 4096);
    const ap = new ExitAccounting(1, 0);
    ap.unassigned(0xb8ffe);
    const u = mergeProfile([bsp.snapshot(), ap.snapshot()], 10, 2, 2).unassigned;
    expect(u.mmio).toBe(105);
    expect(u.mmioPages).toEqual([
      { page: 0xb8000, count: 4 },
      { page: 0xfed00000, count: 1 },
    ]);
    expect(bsp.snapshot().unassignedPages).toHaveLength(64);
  });
});
