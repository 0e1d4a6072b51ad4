import { describe, expect, it } from 'vitest';
import { BootgateError } from './errors.js';
import { apThreadsMayStart, workerEntry } from './supervisor.js';

describe('workerEntry', () => {
  // Under vitest the supervisor runs from its TypeScript source, next to which no bundle is ever built.
  it('refuses to start without the worker bundle, naming it and the command that builds it', () => {
    let thrown: unknown;
    try {
      workerEntry();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(BootgateError);
    const err = thrown as BootgateError;
    expect(err.code).toBe('E_INTERNAL');
    expect(err.message).toMatch(/vcpu\/worker-bundle\/worker-main\.js is missing/);
    expect(err.hint).toMatch(/npm run build/);
  });
});

describe('apThreadsMayStart', () => {
  it("starts the AP threads on vCPU 0's reset-vector step, stepped or not", () => {
    expect(apThreadsMayStart({ event: 'milestone', name: 'reset-vector' })).toBe(true);
  });
  it('not on the VM being built, another milestone, or an event that merely mentions the reset vector', () => {
    expect(apThreadsMayStart({ event: 'milestone', name: 'vm-created' })).toBe(false);
    expect(apThreadsMayStart({ event: 'milestone', name: 'vmm-start' })).toBe(false);
    expect(apThreadsMayStart({ event: 'serial', name: 'reset-vector' })).toBe(false);
    expect(apThreadsMayStart({ event: 'milestone' })).toBe(false);
  });
});
