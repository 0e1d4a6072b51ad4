import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stopDeadline } from './stop-deadline.js';

describe('stopDeadline', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setup(keys: number[]) {
    const reported = new Set<number>();
    const kickAll = vi.fn();
    const onExpire = vi.fn();
    const guard = stopDeadline({ keys: () => keys, reported: (k) => reported.has(k), kickAll, onExpire, deadlineMs: 10_000, rekickMs: 500 });
    return { reported, kickAll, onExpire, guard };
  }

  it('kicks again every interval and, at the deadline, names the threads that never reported', () => {
    const { reported, kickAll, onExpire, guard } = setup([-1, 0, 1, 2]);
    guard.arm();
    reported.add(-1);
    reported.add(1);
    vi.advanceTimersByTime(9_999);
    expect(onExpire).not.toHaveBeenCalled();
    expect(kickAll).toHaveBeenCalledTimes(19);
    vi.advanceTimersByTime(1);
    expect(onExpire).toHaveBeenCalledExactlyOnceWith([0, 2]);
    vi.advanceTimersByTime(60_000);
    expect(kickAll).toHaveBeenCalledTimes(20);
    expect(onExpire).toHaveBeenCalledOnce();
  });

  it('does nothing more once cleared, and a second arm does not restart the clock', () => {
    const { kickAll, onExpire, guard } = setup([0]);
    guard.arm();
    vi.advanceTimersByTime(6_000);
    guard.arm();
    vi.advanceTimersByTime(4_000);
    expect(onExpire).toHaveBeenCalledExactlyOnceWith([0]);
    const second = setup([0]);
    second.guard.arm();
    second.guard.clear();
    vi.advanceTimersByTime(20_000);
    expect(second.onExpire).not.toHaveBeenCalled();
    expect(second.kickAll).not.toHaveBeenCalled();
    expect(kickAll).toHaveBeenCalled();
  });
});
