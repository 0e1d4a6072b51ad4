// Reading vCPU 0's first KVM_RUN exit out of QEMU's trace lines (QEMU 7.2's log backend format).

import { describe, expect, test } from 'vitest';
import { FirstExitTrace } from './first-exit.js';

describe('FirstExitTrace', () => {
  test("takes vCPU 0's first exit, in wall-clock ms, and keeps only the other stderr lines", () => {
    const t = new FirstExitTrace();
    const kept = [
      t.feed('2024-05-01T10:00:00.000001Z qemu-system-x86_64: warning: host doesn\'t support requested feature\n'),
      t.feed('4242@1714557600.25'),
      t.feed('0123:kvm_run_exit cpu_index 1, reason 2\n4242@1714557600.250456:kvm_run_exit cpu_index 0, reason 2\n'),
      t.feed('4242@1714557600.350000:kvm_run_exit cpu_index 0, reason 6\nqemu-system-x86_64: terminating on signal 15'),
      t.flush(),
    ].join('');
    expect(t.first).toEqual({ epochMs: 1_714_557_600_250.456, reason: 2 });
    expect(kept).toBe("2024-05-01T10:00:00.000001Z qemu-system-x86_64: warning: host doesn't support requested feature\nqemu-system-x86_64: terminating on signal 15");
  });

  test('no trace line (another accelerator, or QEMU died first): no first exit', () => {
    const t = new FirstExitTrace();
    expect(t.feed('qemu-system-x86_64: -accel kvm: failed to initialize kvm: No such file or directory\n')).toMatch(/failed to initialize kvm/);
    expect(t.first).toBeUndefined();
  });
});
