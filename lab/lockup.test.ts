import { describe, expect, it, vi } from 'vitest';
import { heartbeatWatch, LAB_LOCKUP, lockupWatch } from './lockup.js';

describe('LAB_LOCKUP', () => {
  it("knows a wedged lab kernel's console lines (seen in the lab under QEMU 7.2 TCG)", () => {
    expect(LAB_LOCKUP.test('[  193.112029] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [swapper/0:0]')).toBe(true);
    expect(LAB_LOCKUP.test('[  251.459286] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:')).toBe(true);
  });
  it('ignores the lab console lines of a healthy run', () => {
    expect(LAB_LOCKUP.test('[   67.570127] kvm [134]: vcpu0, guest rIP: 0xffffffffb4e73744 Unhandled WRMSR(0xc0010007) = 0xffff')).toBe(false);
    expect(LAB_LOCKUP.test('bootgate-lab: [16.81] ready: 2 vCPUs, /dev/kvm present')).toBe(false);
  });
});

describe('lockupWatch', () => {
  it('reports the first lockup line once, also when it arrives in pieces', () => {
    const seen: string[] = [];
    const feed = lockupWatch((line) => seen.push(line));
    feed(Buffer.from('[  193.112029] watchdog: BUG: soft lo'));
    feed(Buffer.from('ckup - CPU#0 stuck for 26s! [node:144]\n[  200.1] watchdog: BUG: soft lockup - CPU#1\n'));
    feed(Buffer.from('[  251.459286] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n'));
    expect(seen).toEqual(['watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [node:144]']);
  });
});


describe('heartbeatWatch', () => {
  it('stays quiet before the first beat and while beats come, then reports one stale gap once', () => {
    vi.useFakeTimers();
    try {
      const stale = vi.fn();
      const watch = heartbeatWatch(90, stale);
      vi.advanceTimersByTime(200_000);
      expect(stale).not.toHaveBeenCalled();
      watch.beat();
      vi.advanceTimersByTime(60_000);
      watch.beat();
      vi.advanceTimersByTime(60_000);
      expect(stale).not.toHaveBeenCalled();
      vi.advanceTimersByTime(40_000);
      expect(stale).toHaveBeenCalledTimes(1);
      expect(stale.mock.calls[0]![0]).toMatch(/^lab frozen: no heartbeat for 9\d s$/);
      vi.advanceTimersByTime(60_000);
      expect(stale).toHaveBeenCalledTimes(1);
      watch.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
