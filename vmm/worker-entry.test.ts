import { describe, expect, it } from 'vitest';
import { BootgateError } from './errors.js';
import { workerEntry } from './worker-entry.js';

describe('workerEntry', () => {
  // Under vitest this module runs from its TypeScript source, next to which no bundle is ever built.
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
