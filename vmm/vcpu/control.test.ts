import { describe, expect, it } from 'vitest';
import { ControlBlock } from './control.js';
import { releaseRunPage } from './run-page.js';

describe('ControlBlock kick accounting', () => {
  it('sees no kick in flight when nobody kicks, and waits out one that is', () => {
    const control = ControlBlock.create(2);
    expect(control.waitNoKicks(10)).toBe(true);
    // A kick between reading a kvm_run address and writing into it (KICKERS is word 5).
    Atomics.add(control.words, 5, 1);
    const t0 = performance.now();
    expect(control.waitNoKicks(30)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    Atomics.sub(control.words, 5, 1);
    expect(control.waitNoKicks(10)).toBe(true);
  });

  it('a kick of an unregistered vCPU touches nothing', () => {
    const control = ControlBlock.create(1);
    control.kick(0);
    expect(control.waitNoKicks(1)).toBe(true);
  });
});

describe('releaseRunPage', () => {
  it('unmaps the replaced page only when no kick is in flight', () => {
    let closed = 0;
    const old = { close: () => void closed++ };
    expect(releaseRunPage({ waitNoKicks: () => false }, old)).toBe(false);
    expect(closed).toBe(0);
    expect(releaseRunPage({ waitNoKicks: () => true }, old)).toBe(true);
    expect(closed).toBe(1);
  });
});

describe('ControlBlock registration', () => {
  it('waits until every vCPU thread registered', () => {
    const control = ControlBlock.create(2);
    control.registerVcpu(0, 100, 5, 0n);
    expect(control.waitAllRegistered(20)).toBe(false);
    control.registerVcpu(1, 101, 6, 0n);
    expect(control.waitAllRegistered(20)).toBe(true);
  });
});
