import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bootOverrunWatch, OVERRUN_SLACK_S } from './lab-boot-watch.js';

describe('bootOverrunWatch', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  const timeouts: Record<string, number> = { boot0: 60, boot1: 240 };

  it('reports the boot still running its timeout plus the slack after it started, once', () => {
    const onOverrun = vi.fn();
    const w = bootOverrunWatch((id) => timeouts[id], onOverrun);
    w.feed('@@batch boot0 start\n@@batch boot0 exit 0\n@@batch bo');
    w.feed('ot1 start\n');
    vi.advanceTimersByTime((240 + OVERRUN_SLACK_S) * 1000);
    expect(onOverrun).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5_000);
    expect(onOverrun).toHaveBeenCalledExactlyOnceWith('boot1', 240 + OVERRUN_SLACK_S + 5);
    vi.advanceTimersByTime(60_000);
    expect(onOverrun).toHaveBeenCalledOnce();
    w.stop();
  });

  it('leaves boots that end in time, lines of other boots, and a retry starts the clock again', () => {
    const onOverrun = vi.fn();
    const w = bootOverrunWatch((id) => timeouts[id], onOverrun);
    w.feed('@@batch boot0 start\n');
    vi.advanceTimersByTime(100_000);
    w.feed('@@batch boot0 retry\n@@batch other start\n');
    vi.advanceTimersByTime(100_000);
    w.feed('@@batch boot0 exit 1\n');
    vi.advanceTimersByTime(1_000_000);
    expect(onOverrun).not.toHaveBeenCalled();
    w.stop();
  });
});
