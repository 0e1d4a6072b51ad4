// Reading one run's figure off a BootResult or the C loop's line: synthetic results, no boot.

import { describe, expect, it } from 'vitest';
import type { BootResult } from '../../targets/index.js';
import type { ExitProfile } from '../../vmm/events.js';
import { cLoopRoundTripUs, outsideGuestMs, parseCLoopOutput, pioRoundTripUs, resetToInitMs, resetVectorMs } from './measures.js';

const profile = (extra: Partial<ExitProfile> = {}): ExitProfile => ({
  wallMs: 24_000,
  vcpuRunMs: 15_000,
  vcpuRunPct: 60,
  pioMs: 0,
  pioPct: 0,
  mmioMs: 0,
  mmioPct: 0,
  exits: {},
  totalExits: 0,
  hottestPorts: [],
  hottestRegions: [],
  unassigned: { pio: 0, mmio: 0 },
  ...extra,
});

function result(over: Partial<BootResult> = {}): BootResult {
  return { target: 'vmm:kvm', status: 'until-matched', exitCode: 0, serial: '', debugcon: '', milestones: {}, resets: 0, wallMs: 1, events: [], stderr: '', ...over };
}

describe('resetToInitMs', () => {
  it("own VMM: init minus its reset-vector milestone, with the exit profile's hand-over waits", () => {
    const r = result({ milestones: { 'vm-created': 3_600, 'reset-vector': 15_400, init: 38_400 }, profile: profile({ handover: { count: 1225, maxMs: 41.5, medianMs: 2.1 } }) });
    expect(resetToInitMs(r, 'own SMP 8')).toEqual({ value: 23_000, handover: { count: 1225, maxMs: 41.5, medianMs: 2.1 } });
  });

  it('QEMU: init minus the moment QMP cont was answered', () => {
    const r = result({ target: 'qemu:kvm', milestones: { 'vm-created': 900, init: 10_400 }, events: [{ event: 'guest-start', t: 1_400 }] });
    expect(resetToInitMs(r, 'QEMU SMP 1')).toEqual({ value: 9_000 });
  });

  it('an own VMM from before the median was reported: the count and the longest only', () => {
    const r = result({ milestones: { 'reset-vector': 1, init: 2 }, profile: { ...profile(), handover: { count: 3, maxMs: 4 } as ExitProfile['handover'] } });
    expect(resetToInitMs(r, 'x').handover).toEqual({ count: 3, maxMs: 4 });
  });

  it('names a boot that never reached init, or a start it cannot find', () => {
    expect(() => resetToInitMs(result({ status: 'timeout', error: { code: 'E_TIMEOUT', message: 'timed out after 300 s' } }), 'own VMM SMP 8')).toThrow(
      /own VMM SMP 8: the probe's init line never came \(timeout: timed out after 300 s\)/,
    );
    expect(() => resetToInitMs(result({ milestones: { init: 5 } }), 'QEMU SMP 8')).toThrow(/neither a reset-vector milestone nor a guest-start event/);
  });
});

describe('outsideGuestMs', () => {
  it('is the stretch from the first instruction to the stop, minus the time in KVM_RUN', () => {
    expect(outsideGuestMs(result({ milestones: { 'reset-vector': 4_000 }, profile: profile() }))).toBe(5_000);
    expect(outsideGuestMs(result())).toBeUndefined();
  });
});

describe('resetVectorMs', () => {
  it('is the reset-vector milestone of a boot that reached its boot attempt', () => {
    expect(resetVectorMs(result({ milestones: { 'reset-vector': 412.5 } }), 'x')).toEqual({ value: 412.5 });
  });
  it('refuses a milestone that is not the first instruction, a missing one, and a boot that went wrong', () => {
    const unstepped = result({ milestones: { 'reset-vector': 90 }, events: [{ event: 'milestone', t: 90, name: 'reset-vector', detail: 'single-step unavailable' }] });
    expect(() => resetVectorMs(unstepped, 'own SMP 1')).toThrow(/could not single-step/);
    expect(() => resetVectorMs(result({ target: 'qemu:kvm' }), 'QEMU SMP 8')).toThrow(/QEMU SMP 8: no reset-vector milestone \(until-matched\)/);
    expect(() => resetVectorMs(result({ status: 'timeout', milestones: { 'reset-vector': 3 } }), 'x')).toThrow(/did not reach its boot attempt \(timeout\)/);
  });
});

describe('pioRoundTripUs', () => {
  const withPorts = (hottestPorts: ExitProfile['hottestPorts'], status: BootResult['status'] = 'power-off') => result({ status, profile: profile({ hottestPorts }) });
  it('computes (last - first) / (count - 1) for port 0x80', () => {
    expect(pioRoundTripUs(withPorts([{ port: 0x80, count: 1001, handleNs: 5, firstMs: 100, lastMs: 110 }]), 1001).value).toBeCloseTo(10, 9);
  });
  it('explains a missing piece', () => {
    expect(() => pioRoundTripUs(result({ status: 'power-off' }), 10)).toThrow(/hottestPorts/);
    expect(() => pioRoundTripUs(withPorts([{ port: 0x70, count: 1, handleNs: 0, firstMs: 0, lastMs: 0 }]), 10)).toThrow(/no port 0x80 entry \(ports: 112\)/);
    expect(() => pioRoundTripUs(withPorts([{ port: 0x80, count: 9, handleNs: 0, firstMs: 0, lastMs: 1 }]), 10)).toThrow(/counted 9/);
    expect(() => pioRoundTripUs(withPorts([], 'timeout'), 10)).toThrow(/ended timeout, not by the guest's isa-debug-exit/);
  });
});

describe('the C loop', () => {
  it('reads its JSON line and checks the exit count', () => {
    const line = '{"exits":100000,"firstToLastNs":950000000,"roundTripNs":9500.1,"wallNs":960000000}\n';
    expect(parseCLoopOutput(line).exits).toBe(100_000);
    expect(cLoopRoundTripUs(line, 100_000).value).toBeCloseTo(9.5001, 6);
    expect(() => cLoopRoundTripUs(line, 10)).toThrow(/saw 100000 port-0x80 exits, the guest makes 10/);
  });
  it('names a missing field or a line that is not JSON', () => {
    expect(() => parseCLoopOutput('{"exits":3}')).toThrow(/firstToLastNs/);
    expect(() => parseCLoopOutput('garbage')).toThrow(/not a JSON line/);
  });
});
