// The lab-routed own-VMM target: prefetched boots run in one lab batch (timeouts scaled), a
// boot returns its prefetched result without another lab, an unannounced request gets its own
// batch, and OVMF boots go to a lab VM of their own under the patched QEMU, or are reported as not
// runnable here while it is not built. bootBatchInLab is mocked: no lab starts here.

import { beforeEach, describe, expect, it, vi } from 'vitest';
import { NOT_RUN_CANNOT } from '../../suites/harness/meta.js';
import type { BootResult } from '../boot-result.js';
import { CANNOT_RUN_HERE } from '../target.js';
import type { LabBatch, LabBoot } from './lab-batch.js';

const batches: LabBoot[][] = [];
const batchQemu: Array<string | undefined> = [];
const batchInner: Array<string | undefined> = [];
let patchedBuilt = false;
vi.mock('./lab-batch.js', () => ({
  OWN_VMM: 'vmm:kvm',
  bootBatchInLab: vi.fn(async (boots: LabBoot[], opts: { qemu?: string; inner?: string }): Promise<LabBatch> => {
    batches.push(boots);
    batchQemu.push(opts.qemu);
    batchInner.push(opts.inner);
    const results = new Map(boots.map((b) => [b.id, { target: 'vmm:kvm@lab', status: 'until-matched', serial: `smp=${b.req.smp}` } as unknown as BootResult]));
    return { results, lockups: [], wallMs: 1, consoleTail: '' };
  }),
}));
vi.mock('../../lab/target.js', () => ({ inLab: () => false, labUnavailable: () => undefined }));
vi.mock('../../lab/qemu-build/build.js', () => ({
  cachedPatchedQemu: () => (patchedBuilt ? '/cache/lab-qemu-uefi/k/qemu-system-x86_64' : undefined),
  cannotBuildPatchedQemu: () => undefined,
}));

const { BUILD_LAB_QEMU_ENV, LAB_TIMEOUT_SCALE, labBatchTarget, labOwnVmmTarget, ownVmmNeedsLab, uefiLabUnavailable } = await import('./lab-target.js');

beforeEach(() => {
  batches.length = 0;
  batchQemu.length = 0;
  batchInner.length = 0;
  patchedBuilt = false;
});

describe('labBatchTarget', () => {
  it('runs another stack (qemu:kvm) the same way: named <inner>@lab, its batches told which stack to run', async () => {
    const t = labBatchTarget('qemu:kvm', new Set(['reset-vector-mapping']));
    expect(t.name).toBe('qemu:kvm@lab');
    expect([...t.observes]).toEqual(['reset-vector-mapping']);
    await t.prefetch([{ guest: 'debian-probe', smp: 2, timeoutS: 60 }]);
    expect(batchInner).toEqual(['qemu:kvm']);
    expect(batches[0]![0]!.req.timeoutS).toBe(60 * LAB_TIMEOUT_SCALE);
    expect(labOwnVmmTarget(new Set()).name).toBe('vmm:kvm@lab');
  });
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

  it('is named vmm:kvm@lab and keeps what the own VMM observes', async () => {
    const t = labOwnVmmTarget(new Set(['ovmf', 'quirks']));
    expect(t.name).toBe('vmm:kvm@lab');
    expect(t.observes.has('ovmf')).toBe(true);
    expect(t.observes.has('quirks')).toBe(true);
    expect(await t.unavailable()).toBeUndefined();
  });

  it('runs OVMF boots in a lab VM of their own under the patched QEMU, after the others', async () => {
    patchedBuilt = true;
    const t = labOwnVmmTarget(new Set(['ovmf']));
    const seabios = { firmware: 'seabios-256k', smp: 2, timeoutS: 60 };
    const ovmf = { firmware: 'ovmf-4m', guest: 'debian-probe', smp: 8, timeoutS: 120 };
    await t.prefetch([ovmf, seabios, { ...ovmf, firmware: 'ovmf-2m' }]);
    expect(batchQemu).toEqual(['fixture', 'uefi']);
    expect(batches.map((b) => b.map((x) => x.req.firmware))).toEqual([['seabios-256k'], ['ovmf-4m', 'ovmf-2m']]);
    expect((await t.boot(ovmf)).serial).toBe('smp=8');
    expect(batches).toHaveLength(2);
  });

  it('an OVMF boot is not runnable here (CANNOT_RUN_HERE) while the patched QEMU is unbuilt and the run may not build it; prefetch leaves it out', async () => {
    const t = labOwnVmmTarget(new Set(['ovmf']));
    const ovmf = { firmware: 'ovmf-4m', smp: 1, timeoutS: 20 };
    expect(t.cannotBoot!(ovmf)).toMatch(/^cannot run on this host: .*npm run uefi builds it/);
    expect(t.cannotBoot!({ firmware: 'seabios-256k', smp: 1, timeoutS: 20 })).toBeUndefined();
    await t.prefetch([ovmf]);
    expect(batches).toHaveLength(0);
    expect(uefiLabUnavailable({ [BUILD_LAB_QEMU_ENV]: '1' })).toBeUndefined(); // a run that may build it
    expect(uefiLabUnavailable({ QEMU: '/opt/q/qemu-system-x86_64' })).toBeUndefined(); // the user's QEMU
    patchedBuilt = true;
    expect(t.cannotBoot!(ovmf)).toBeUndefined();
  });

  it("marks a lab that cannot run with the report's not-run prefix (kept equal to the harness's, which targets/ does not import)", () => {
    expect(CANNOT_RUN_HERE).toBe(NOT_RUN_CANNOT);
  });

  it('is chosen only when the device is missing', () => {
    expect(ownVmmNeedsLab('/nonexistent/kvm')).toBe(true);
    expect(ownVmmNeedsLab('/dev/null')).toBe(false);
  });
});
