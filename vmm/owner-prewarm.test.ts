// The early owner worker's hand-over, with stand-in worker scripts (the real entry is the built
// bundle): taken once with the VM's description, dropped when it failed before it was taken.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { ownerWaiting, prewarmOwner, releasePrewarmedOwner, takePrewarmedOwner } from './owner-prewarm.js';
import type { OwnerWorkerData } from './vcpu/messages.js';

const dir = mkdtempSync(join(tmpdir(), 'bootgate-prewarm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): URL {
  const file = join(dir, name);
  writeFileSync(file, `import { parentPort, workerData } from 'node:worker_threads';\n${body}\n`);
  return pathToFileURL(file);
}

const DATA = { role: 'owner', startEpochMs: 42 } as unknown as OwnerWorkerData;

describe('prewarmOwner / takePrewarmedOwner', () => {
  it('hands the waiting worker the VM description once; a second take finds none', async () => {
    prewarmOwner(script('echo.mjs', `parentPort.once('message', (d) => parentPort.postMessage({ role: workerData.role, got: d.startEpochMs }));`));
    const w = takePrewarmedOwner(DATA);
    expect(w).toBeDefined();
    const [reply] = (await once(w!, 'message')) as [{ role: string; got: number }];
    expect(reply).toEqual({ role: 'owner-prewarm', got: 42 });
    expect(takePrewarmedOwner(DATA)).toBeUndefined();
    await w!.terminate();
  });

  it('drops a worker that ended before it was taken, so the boot starts its own', async () => {
    prewarmOwner(script('dies.mjs', `throw new Error('no native library');`));
    expect(ownerWaiting()).toBe(true);
    for (let i = 0; i < 500 && ownerWaiting(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(ownerWaiting()).toBe(false);
    expect(takePrewarmedOwner(DATA)).toBeUndefined();
  });

  it('released untaken: waits until the worker says its code is loaded, then ends it', async () => {
    const flag = join(dir, 'loaded.flag');
    // Stands in for a worker still loading its native addon: ending it before it posts would abort Node.
    prewarmOwner(
      script(
        'slow.mjs',
        `import { writeFileSync } from 'node:fs';\nsetTimeout(() => { writeFileSync(${JSON.stringify(flag)}, 'x'); parentPort.postMessage({ type: 'prewarmed' }); }, 300);\nsetInterval(() => {}, 1000);`,
      ),
    );
    const t0 = Date.now();
    await releasePrewarmedOwner();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(existsSync(flag)).toBe(true);
    expect(ownerWaiting()).toBe(false);
    await releasePrewarmedOwner(); // nothing left: returns at once
  });

  it('does nothing when the bundle is missing (runVm reports it)', () => {
    // Under vitest no bundle is built next to the sources.
    prewarmOwner();
    expect(takePrewarmedOwner(DATA)).toBeUndefined();
  });
});
