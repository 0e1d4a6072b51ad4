// The lab-routed own-VMM target: prefetched boots run in one lab batch (timeouts scaled; one lane
// unless a test asks for two), a
// boot returns its prefetched result without another lab, an unannounced request gets its own
// batch, and the boots the fixture's lab cannot run (OVMF, a disk at SMP 2+) go to a lab VM of
// their own under the patched QEMU in a run that opts in, or are reported as not runnable here.
// bootBatchInLab is mocked: no lab starts here.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NOT_RUN_CANNOT } from '../../suites/harness/meta.js';
import type { BootResult } from '../boot-result.js';
import { CANNOT_RUN_HERE } from '../target.js';
import type { LabBatch, LabBoot } from './lab-batch.js';

const batches: LabBoot[][] = [];
const batchLanes: Array<string | undefined> = [];
const batchQemu: Array<string | undefined> = [];
const batchInner: Array<string | undefined> = [];
let patchedBuilt = false;
let buildRefusal: string | undefined;
/** When set, a batch waits for it (a lab still booting) and fails with what it rejects with. */
let batchGate: Promise<void> | undefined;
vi.mock('./lab-batch.js', () => ({
  OWN_VMM: 'vmm:kvm',
  bootBatchInLab: vi.fn(async (boots: LabBoot[], opts: { qemu?: string; inner?: string; lane?: string }): Promise<LabBatch> => {
    batches.push(boots);
    batchLanes.push(opts.lane);
    if (batchGate) await batchGate;
    batchQemu.push(opts.qemu);
    batchInner.push(opts.inner);
    const results = new Map(boots.map((b) => [b.id, { target: 'vmm:kvm@lab', status: 'until-matched', serial: `smp=${b.req.smp}` } as unknown as BootResult]));
    return { results, lockups: [], wallMs: 1, consoleTail: '' };
  }),
}));
/** Guests built on the host, in order, and how many batches had started at each build. */
const builtGuests: string[] = [];
vi.mock('../../guests/catalog.js', () => ({
  resolveGuest: vi.fn(async (name: string) => {
    builtGuests.push(`${name} after ${batches.length} batches`);
    return { name, firmware: 'seabios-256k' };
  }),
}));
vi.mock('../../lab/target.js', () => ({ inLab: () => false, labUnavailable: () => undefined }));
vi.mock('../../lab/qemu-build/build.js', () => ({
  cachedPatchedQemu: () => (patchedBuilt ? '/cache/lab-qemu-uefi/k/qemu-system-x86_64' : undefined),
  cannotBuildPatchedQemu: () => buildRefusal,
}));

const { LAB_LANES_ENV } = await import('./lab-lanes.js');
const { LAB_TIMEOUT_SCALE, labBatchTarget, labOwnVmmTarget, LAB_MATRIX_ENV, labGateLeavesOut, ownVmmNeedsLab, patchedLabUnavailable } = await import('./lab-target.js');

beforeEach(() => {
  batches.length = 0;
  batchLanes.length = 0;
  builtGuests.length = 0;
  batchQemu.length = 0;
  batchInner.length = 0;
  patchedBuilt = false;
  buildRefusal = undefined;
  batchGate = undefined;
  vi.stubEnv(LAB_MATRIX_ENV, '');
  vi.stubEnv('QEMU', '');
  vi.stubEnv(LAB_LANES_ENV, '1');
});
afterEach(() => {
  vi.unstubAllEnvs();
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

  it('by default splits the boots over two lab lanes at once, each told its place, and serves each boot its own result', async () => {
    vi.stubEnv(LAB_LANES_ENV, '');
    const t = labOwnVmmTarget(new Set());
    const reqs = [1, 2, 8].map((smp) => ({ firmware: 'seabios-256k', smp, timeoutS: 60 + smp }));
    await t.prefetch(reqs);
    expect(batches).toHaveLength(2);
    expect(batchLanes).toEqual(['1/2', '2/2']);
    expect(batches.map((b) => b.map((x) => x.req.smp))).toEqual([[8], [1, 2]]);
    for (const req of reqs) expect((await t.boot(req)).serial).toBe(`smp=${req.smp}`);
    expect(batches).toHaveLength(2);
  });

  it('builds each named guest once on the host before any lab VM starts', async () => {
    const t = labOwnVmmTarget(new Set());
    await t.prefetch([
      { guest: 'debian-irqtest', smp: 1, timeoutS: 90 },
      { guest: 'debian-probe', smp: 2, timeoutS: 60 },
      { guest: 'debian-irqtest', smp: 8, timeoutS: 90 },
      { firmware: 'seabios', smp: 1, timeoutS: 10 },
    ]);
    expect(builtGuests).toEqual(['debian-irqtest after 0 batches', 'debian-probe after 0 batches']);
  });

  it('a second prefetch of boots under way starts no batch and resolves only when they are done', async () => {
    let release!: () => void;
    batchGate = new Promise((resolve) => (release = resolve));
    const t = labOwnVmmTarget(new Set());
    const a = { firmware: 'seabios-256k', smp: 1, timeoutS: 120 };
    const started = t.prefetch([a]);
    let waited = false;
    const again = t.prefetch([{ ...a }]).then(() => (waited = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(waited).toBe(false);
    release();
    await Promise.all([started, again]);
    expect(waited).toBe(true);
    expect(batches).toHaveLength(1);
    expect((await t.boot({ ...a })).serial).toBe('smp=1');
  });

  it('a batch that fails rejects every prefetch waiting on it and every boot of it, with its error', async () => {
    batchGate = Promise.reject(new Error('E_LAB: the lab VM died'));
    const t = labOwnVmmTarget(new Set());
    const a = { firmware: 'seabios-256k', smp: 1, timeoutS: 120 };
    const b = { firmware: 'seabios-256k', smp: 2, timeoutS: 120 };
    const first = t.prefetch([a, b]);
    await expect(t.prefetch([b])).rejects.toThrow(/lab VM died/);
    await expect(first).rejects.toThrow(/lab VM died/);
    await expect(t.boot(a)).rejects.toThrow(/lab VM died/);
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

  it('runs every boot in one lab VM under the patched QEMU when it is built (or can be)', async () => {
    vi.stubEnv(LAB_MATRIX_ENV, 'full');
    patchedBuilt = true;
    const t = labOwnVmmTarget(new Set(['ovmf']));
    const seabios = { firmware: 'seabios-256k', smp: 2, timeoutS: 60 };
    const ovmf = { firmware: 'ovmf-4m', guest: 'debian-probe', smp: 8, timeoutS: 120 };
    const disk1 = { firmware: 'seabios-256k', disk: '/img/disk.raw', smp: 1, timeoutS: 300 };
    const disk8 = { ...disk1, smp: 8 };
    await t.prefetch([ovmf, seabios, disk8, disk1, { ...ovmf, firmware: 'ovmf-2m' }]);
    expect(batchQemu).toEqual(['patched']);
    expect(batches.map((b) => b.map((x) => `${x.req.firmware}/${x.req.smp}`))).toEqual([['ovmf-4m/8', 'seabios-256k/2', 'seabios-256k/8', 'seabios-256k/1', 'ovmf-2m/8']]);
    expect((await t.boot(ovmf)).serial).toBe('smp=8');
    expect(batches).toHaveLength(1);
  });

  it('where the patched QEMU cannot be had, runs the other boots under the fixture and reports OVMF as not run here', async () => {
    buildRefusal = "building the lab's patched QEMU needs ninja-build";
    const t = labOwnVmmTarget(new Set(['ovmf']));
    const seabios = { firmware: 'seabios-256k', smp: 2, timeoutS: 60 };
    const ovmf = { firmware: 'ovmf-4m', guest: 'debian-probe', smp: 8, timeoutS: 120 };
    expect(t.cannotBoot!(ovmf)).toMatch(/^cannot run on this host: building the lab's patched QEMU needs ninja-build/);
    await t.prefetch([ovmf, seabios]);
    expect(batchQemu).toEqual(['fixture']);
    expect(batches.map((b) => b.map((x) => `${x.req.firmware}/${x.req.smp}`))).toEqual([['seabios-256k/2']]);
  });

  it('without the opt-in (npm test), OVMF still runs under the patched QEMU; disk boots at SMP 2+ are left out even when it is built, naming npm run conformance', async () => {
    patchedBuilt = true;
    const t = labOwnVmmTarget(new Set(['ovmf']));
    const ovmf = { firmware: 'ovmf-4m', smp: 1, timeoutS: 20 };
    const disk2 = { firmware: 'seabios-256k', disk: '/img/disk.raw', smp: 2, timeoutS: 300 };
    expect(t.cannotBoot!(ovmf)).toBeUndefined();
    expect(t.cannotBoot!(disk2)).toMatch(/^cannot run on this host: in the nested lab npm test leaves out a disk image at SMP 2 or more for time .*npm run conformance runs these boots/);
    expect(t.cannotBoot!({ ...disk2, smp: 1 })).toBeUndefined();
    expect(t.cannotBoot!({ firmware: 'seabios-256k', smp: 8, timeoutS: 20 })).toBeUndefined();
    await t.prefetch([ovmf, disk2]);
    expect(batchQemu).toEqual(['patched']);
    expect(batches.map((b) => b.map((x) => `${x.req.firmware}/${x.req.smp}`))).toEqual([['ovmf-4m/1']]);
    patchedBuilt = false;
    buildRefusal = "building the lab's patched QEMU needs flex bison";
    expect(t.cannotBoot!({ ...ovmf, smp: 2 })).toBe(`cannot run on this host: ${buildRefusal}`);
  });

  it('with the opt-in, runs them when built or buildable, and says why when it cannot build; $QEMU (the user\'s lab QEMU) runs everything', () => {
    const disk8 = { firmware: 'seabios-256k', disk: '/img/disk.raw', smp: 8, timeoutS: 300 };
    expect(patchedLabUnavailable(disk8, { [LAB_MATRIX_ENV]: 'full' })).toBeUndefined(); // buildable (mocked)
    expect(patchedLabUnavailable(disk8, { QEMU: '/opt/q/qemu-system-x86_64' })).toBeUndefined();
    expect(patchedLabUnavailable({ ...disk8, smp: 1 }, {})).toBeUndefined();
    expect(patchedLabUnavailable(disk8, {})).toMatch(/^cannot run on this host: /);
    buildRefusal = 'building the lab\'s patched QEMU needs flex bison';
    expect(patchedLabUnavailable(disk8, { [LAB_MATRIX_ENV]: 'full' })).toBe(`cannot run on this host: ${buildRefusal}`);
    patchedBuilt = true; // built before: the build's needs no longer matter
    expect(patchedLabUnavailable(disk8, { [LAB_MATRIX_ENV]: 'full' })).toBeUndefined();
  });

  it('labGateLeavesOut: only a lab target outside the full matrix leaves a testcase out, naming what it keeps and npm run conformance', () => {
    const lab = { name: 'vmm:kvm@lab' };
    expect(labGateLeavesOut(lab, 'one quirk per assertion', {})).toBe(
      'cannot run on this host: in the nested lab npm test leaves this out for time (one quirk per assertion); npm run conformance runs it',
    );
    expect(labGateLeavesOut(lab, 'x', { [LAB_MATRIX_ENV]: 'full' })).toBeUndefined();
    expect(labGateLeavesOut({ name: 'vmm:kvm' }, 'x', {})).toBeUndefined();
    expect(labGateLeavesOut({ name: 'qemu:tcg' }, 'x', {})).toBeUndefined();
  });

  it("marks a lab that cannot run with the report's not-run prefix (kept equal to the harness's, which targets/ does not import)", () => {
    expect(CANNOT_RUN_HERE).toBe(NOT_RUN_CANNOT);
  });

  it('is chosen only when the device is missing', () => {
    expect(ownVmmNeedsLab('/nonexistent/kvm')).toBe(true);
    expect(ownVmmNeedsLab('/dev/null')).toBe(false);
  });
});
