import { describe, expect, it } from 'vitest';
import type { BootEvent } from '../boot-result.js';
import { shutdownSnapshot, tripleFaultSource } from './shutdown-snapshot.js';

const snap = (reset: number, source: string): BootEvent => ({ event: 'memory-snapshot', t: reset, reset, source, gpa: 0, bytes: 1 << 20, file: `/b/boot1.jsonl.reset-${reset}.lowmem` });

describe('shutdownSnapshot', () => {
  it("picks the traced vCPU's first triple fault, past vCPU 0's requested ones", () => {
    const events = [snap(1, 'triple-fault'), { event: 'reset', t: 2, source: 'cf9 0x06' }, snap(3, 'triple-fault (vCPU 2)'), snap(4, 'triple-fault (vCPU 2)')];
    expect(shutdownSnapshot(events, 2)).toBe('/b/boot1.jsonl.reset-3.lowmem');
    expect(shutdownSnapshot(events, 0)).toBe('/b/boot1.jsonl.reset-1.lowmem');
  });

  it('finds nothing for a vCPU that did not fault, or a stream without snapshots', () => {
    expect(shutdownSnapshot([snap(1, 'triple-fault')], 5)).toBeUndefined();
    expect(shutdownSnapshot([{ event: 'reset', t: 1, source: 'triple-fault' }], 0)).toBeUndefined();
    expect(tripleFaultSource(3)).toBe('triple-fault (vCPU 3)');
  });
});
