// The lab-routed own-VMM target: prefetched boots run in one lab batch (timeouts scaled), a
// boot returns its prefetched result without another lab, an unannounced request gets its own
// batch, and the target cannot boot OVMF. bootBatchInLab is mocked: no lab starts here.

import { beforeEach, describe, expect, it, vi } from 'vitest';
import { NOT_RUN_CANNOT } from '../../suites/harness/meta.js';
import type { BootResult } from '../boot-result.js';
import { CANNOT_RUN_HERE } from '../target.js';
import type { LabBatch, LabBoot } from './lab-batch.js';

const batches: LabBoot[][] = [];
vi.mock('./lab-batch.js', () => ({
  bootBatchInLab: vi.fn(async (boots: LabBoot[]): Promise<LabBatch> => {
    batches.push(boots);
    const results = new Map(boots.map((b) => [b.id, { target: 'vmm:kvm@lab', status: 'until-matched', serial: `smp=${b.req.smp}` } as unknown as BootResult]));
    return { results, lockups: [], wallMs: 1, consoleTail: '' };
  }),
}));
vi.mock('../../lab/target.js', () => ({ inLab: () => false, labUnavailable: () => undefined }));

const { LAB_TIMEOUT_SCALE, labOwnVmmTarget, ownVmmNeedsLab } = await import('./lab-target.js');

beforeEach(() => {
  batches.length = 0;
});

describe('labOwnVmmTarget', () => {
  it('runs every prefetched boot in one lab batch, scaled, and serves boot() from it', async () => {
    const t = labOwnVmmTarget(new Set(['quirks', 'ovmf']));
    const a = { firmware: 'seabios-256k', smp: 1, timeoutS: 120 };
    const b = { smp: 8, firmware: 'seabios-256k', timeoutS: 120 };
    await t.prefetch([a, b, { ...a }]);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((x) => x.req.timeoutS)).toEqual([120 * LAB_TIMEOUT_SCALE, 120 * LAB_TIMEOUT_SCALE]);
    expect((await t.boot({ timeoutS: 120, smp: 8, firmware: 'seabios-256k' })).serial).toBe('smp=8');
    expect(batches).toHaveLength(1);
  });

  it('an unannounced request gets a batch of its own', async () => {
    const t = labOwnVmmTarget(new Set());
    const r = await t.boot({ firmware: 'seabios', smp: 2, timeoutS: 10 });
    expect(r.serial).toBe('smp=2');
    expect(batches).toHaveLength(1);
  });

  it('is named vmm:kvm@lab and does not claim OVMF', async () => {
    const t = labOwnVmmTarget(new Set(['ovmf', 'quirks']));
    expect(t.name).toBe('vmm:kvm@lab');
    expect(t.observes.has('ovmf')).toBe(false);
    expect(t.observes.has('quirks')).toBe(true);
    expect(await t.unavailable()).toBeUndefined();
  });

  it("marks a lab that cannot run with the report's not-run prefix (kept equal to the harness's, which targets/ does not import)", () => {
    expect(CANNOT_RUN_HERE).toBe(NOT_RUN_CANNOT);
  });

  it('is chosen only when the device is missing', () => {
    expect(ownVmmNeedsLab('/nonexistent/kvm')).toBe(true);
    expect(ownVmmNeedsLab('/dev/null')).toBe(false);
  });
});
