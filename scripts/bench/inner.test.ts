// The boots' order and bookkeeping with fake targets: stacks take turns run by run, every boot is
// saved, a stack that fails stops with its reason, a series without its prerequisite is not run,
// and each stack gets the request its figure needs.

import { describe, expect, it, vi } from 'vitest';
import type { BootRequest, BootResult, Target } from '../../targets/index.js';
import { type BenchStacks, measure } from './inner.js';
import type { BenchPlan, Samples } from './plan.js';

vi.spyOn(console, 'error').mockImplementation(() => {});

const profile = { wallMs: 1, vcpuRunMs: 0, vcpuRunPct: 0, pioMs: 0, pioPct: 0, mmioMs: 0, mmioPct: 0, exits: {}, totalExits: 0, hottestRegions: [], unassigned: { pio: 0, mmio: 0 } };

function fakeTarget(name: string, log: string[], fail?: (req: BootRequest) => string | undefined): Target {
  return {
    name,
    observes: new Set(),
    async unavailable() {
      return undefined;
    },
    async boot(req) {
      const what = req.disk ? 'disk' : req.linux ? (req.firmware === 'ovmf-4m' ? 'linux-ovmf' : 'linux') : req.timeResetVector ? 'seabios' : 'pio';
      log.push(`${name} ${what} smp${req.smp}${req.vcpuThreads ? ` ${req.vcpuThreads}` : ''}`);
      const why = fail?.(req);
      if (why) throw new Error(why);
      const r: BootResult = { target: name, status: what === 'pio' ? 'power-off' : 'until-matched', exitCode: 0, serial: '', debugcon: '', milestones: {}, resets: 0, wallMs: 1, events: [], stderr: '' };
      if (what === 'pio') r.profile = { ...profile, hottestPorts: [{ port: 0x80, count: 11, handleNs: 0, firstMs: 0, lastMs: 1 }] };
      if (what === 'seabios') r.milestones['reset-vector'] = req.smp * 10;
      if (what === 'disk') {
        if (name.startsWith('qemu')) r.events.push({ event: 'guest-start', t: 100 });
        else r.milestones['reset-vector'] = 100;
        // The prompt split over two serial events, as a console often delivers it.
        r.events.push({ event: 'serial', port: 'com1', data: 'bootgate-disk lo', t: 100 + req.smp * 2000 }, { event: 'serial', port: 'com1', data: 'gin: ', t: 101 + req.smp * 2000 });
      }
      if (what === 'linux' || what === 'linux-ovmf') {
        if (name.startsWith('qemu')) r.events.push({ event: 'guest-start', t: 100 });
        else r.milestones['reset-vector'] = 100;
        r.milestones.init = 100 + req.smp * 1000;
        if (!name.startsWith('qemu')) r.profile = { ...profile, hottestPorts: [], handover: { count: 5, maxMs: 9, medianMs: 1 } };
      }
      return r;
    },
  };
}

function plan(over: Partial<BenchPlan> = {}): BenchPlan {
  return { runs: 2, linuxRuns: 1, iterations: 11, pioImage: '/g/pio.bin', cLoop: '/n/loop', seabios: { firmware: 'seabios-256k' }, linux: { kernel: '/k', initrd: '/i', append: 'a' }, linuxFirmware: 'seabios-256k', diskImage: '/d/disk.raw', skip: {}, ...over };
}

function stacks(log: string[], fail?: (name: string, req: BootRequest) => string | undefined, base = false): BenchStacks {
  const t = (name: string) => fakeTarget(name, log, fail && ((req) => fail(name, req)));
  return {
    own: t('own'),
    qemu: t('qemu'),
    base: base ? t('base') : undefined,
    async runCLoop(bin, image) {
      log.push(`c ${bin} ${image}`);
      return '{"exits":11,"firstToLastNs":10000,"roundTripNs":1000,"wallNs":20000}';
    },
  };
}

describe('measure', () => {
  it('runs only the comparisons a lab VM was given (the OVMF one runs under another QEMU)', async () => {
    const log: string[] = [];
    await measure(plan({ only: ['uefi'] }), stacks(log));
    expect(log).toEqual(['own linux-ovmf smp1', 'qemu linux-ovmf smp1']);
    const rest: string[] = [];
    await measure(plan({ only: ['pio', 'resetVector', 'linux'] }), stacks(rest));
    expect(rest.some((l) => l.includes('ovmf'))).toBe(false);
  });

  it('alternates the stacks of each comparison run by run, and saves after every boot', async () => {
    const log: string[] = [];
    const saved: Samples[] = [];
    const s = await measure(plan(), stacks(log), (x) => saved.push(structuredClone(x)));
    expect(log).toEqual([
      'c /n/loop /g/pio.bin', 'own pio smp1', 'own pio smp1 native', 'c /n/loop /g/pio.bin', 'own pio smp1', 'own pio smp1 native',
      'own seabios smp1', 'qemu seabios smp1', 'own seabios smp8', 'qemu seabios smp8',
      'own seabios smp1', 'qemu seabios smp1', 'own seabios smp8', 'qemu seabios smp8',
      'own linux smp1', 'qemu linux smp1', 'own linux smp8', 'qemu linux smp8',
      'own linux-ovmf smp1', 'qemu linux-ovmf smp1',
      'own disk smp1', 'qemu disk smp1', 'own disk smp8', 'qemu disk smp8',
    ]);
    expect(s['disk.own.smp1']!.samples).toEqual([{ value: 2001 }]);
    expect(s['disk.qemu.smp8']!.samples).toEqual([{ value: 16_001 }]);
    expect(saved.length).toBeGreaterThanOrEqual(log.length);
    expect(s['uefi.own.smp1']!.samples.map((x) => x.value)).toEqual([1000]);
    expect(s['uefi.qemu.smp1']!.samples).toEqual([{ value: 1000 }]);
    expect(s['pio.c']!.samples.map((x) => x.value)).toEqual([1, 1]);
    expect(s['pio.own']!.samples[0]!.value).toBe(100);
    expect(s['resetVector.qemu.smp8']!.samples.map((x) => x.value)).toEqual([80, 80]);
    expect(s['linux.qemu.smp8']!.samples).toEqual([{ value: 8000 }]);
    expect(s['linux.own.smp8']!.samples).toEqual([{ value: 8000, handover: { count: 5, maxMs: 9, medianMs: 1 } }]);
    expect(s['linux.base.smp8']).toBeUndefined();
  });

  it('asks each stack for the same machine: the resolved probe guest, SeaBIOS with the reset vector timed', async () => {
    const reqs: BootRequest[] = [];
    const st = stacks([]);
    for (const t of [st.own, st.qemu]) {
      const boot = t.boot.bind(t);
      t.boot = (req) => (reqs.push(req), boot(req));
    }
    await measure(plan({ runs: 1 }), st);
    expect(reqs.find((r) => r.linux && r.smp === 8)).toMatchObject({ linux: { kernel: '/k', initrd: '/i', append: 'a' }, firmware: 'seabios-256k', until: '@@bootgate \\{"event":"init"' });
    expect(reqs.find((r) => r.timeResetVector)).toMatchObject({ firmware: 'seabios-256k', until: 'No bootable device|Booting from', smp: 1 });
    expect(reqs.find((r) => r.firmwareFile === '/g/pio.bin')).toMatchObject({ smp: 1 });
    expect(reqs.filter((r) => r.disk)).toEqual(
      [1, 1, 8, 8].map((smp) => expect.objectContaining({ disk: '/d/disk.raw', firmware: 'seabios-256k', smp, until: 'bootgate-disk login:' })),
    );
  });

  it('a stack that fails stops there with its reason; the others go on', async () => {
    const log: string[] = [];
    const s = await measure(plan(), stacks(log, (name, req) => (name === 'qemu' && req.timeResetVector && req.smp === 8 ? 'QEMU could not start' : undefined)));
    expect(s['resetVector.qemu.smp8']).toEqual({ samples: [], error: 'QEMU could not start' });
    expect(log.filter((l) => l === 'qemu seabios smp8')).toHaveLength(1);
    expect(s['resetVector.own.smp8']!.samples).toHaveLength(2);
  });

  it('a series whose prerequisite could not be made is not run, and says why', async () => {
    const log: string[] = [];
    const s = await measure(plan({ cLoop: undefined, skip: { 'pio.c': 'make -C native failed', 'linux.base.smp8': '--baseline HEAD~9: tsc failed' } }), stacks(log));
    expect(s['pio.c']).toEqual({ samples: [], error: 'make -C native failed' });
    expect(s['linux.base.smp8']).toEqual({ samples: [], error: '--baseline HEAD~9: tsc failed' });
    expect(log.some((l) => l.startsWith('c '))).toBe(false);
  });

  it('with --baseline, its tree boots SMP 8 Debian in turn with the others', async () => {
    const log: string[] = [];
    const s = await measure(plan({ runs: 1, baseline: { ref: 'HEAD~1', cli: '/wt/dist/vmm/cli/main.js' } }), stacks(log, undefined, true));
    expect(log.slice(-11, -6)).toEqual(['own linux smp1', 'qemu linux smp1', 'own linux smp8', 'qemu linux smp8', 'base linux smp8']);
    expect(s['linux.base.smp8']!.samples[0]!.handover).toEqual({ count: 5, maxMs: 9, medianMs: 1 });
  });

  it('--linux-runs 0 boots no Linux', async () => {
    const log: string[] = [];
    await measure(plan({ linuxRuns: 0, runs: 1 }), stacks(log));
    expect(log.some((l) => l.includes('linux') || l.includes('disk'))).toBe(false);
  });
});
