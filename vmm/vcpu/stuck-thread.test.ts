import { describe, expect, it } from 'vitest';
import { describeThread, formatThreadState } from './stuck-thread.js';

describe('formatThreadState', () => {
  it('names a thread inside ioctl KVM_RUN (the accelerator ignored the kick)', () => {
    const line = formatThreadState('4242 (node (vcpu 3)) R 1 2 3', '0', '16 0x15 0xae80 0x0 0x0 0x0 0x0 0x7ffd 0x7f00');
    expect(line).toBe('state R, in ioctl KVM_RUN');
  });

  it('names a thread waiting on a futex (a wait of ours that missed the stop)', () => {
    expect(formatThreadState('7 (node) S 1', 'futex_wait_queue', '202 0x7f 0x80 0x0')).toBe('state S, in futex, sleeping in futex_wait_queue');
  });

  it('says so when the thread runs in user space or the guest, and when nothing could be read', () => {
    expect(formatThreadState('7 (n) R 1', undefined, 'running')).toBe('state R, running in user space or the guest');
    expect(formatThreadState(undefined, undefined, undefined)).toBe('its state could not be read');
  });

  it('reads this thread from /proc', () => {
    // Vitest's worker thread is alive and readable; its tid is not known here, so use the process's.
    expect(describeThread(process.pid)).toMatch(/^state [RS]/);
  });
});
