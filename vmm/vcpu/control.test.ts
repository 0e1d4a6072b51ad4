import { describe, expect, it } from 'vitest';
import { ControlBlock, NO_SHADOW, SYNC_ENTRIES } from './control.js';
import { releaseRunPage } from './run-page.js';

describe('ControlBlock kick accounting', () => {
  it('sees no kick in flight when nobody kicks, and waits out one that is', () => {
    const control = ControlBlock.create(2);
    expect(control.waitNoKicks(10)).toBe(true);
    // A kick between reading a kick address and writing into it (KICKERS is word 5).
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
  it('knows which vCPU threads registered', () => {
    const control = ControlBlock.create(2);
    control.registerVcpu(0, 100, 0n);
    expect(control.isRegistered(0)).toBe(true);
    expect(control.isRegistered(1)).toBe(false);
  });
});

describe('ControlBlock sync-register table', () => {
  it('hands out a consistent copy and a new version after every publish', () => {
    const control = ControlBlock.create(1);
    const v0 = control.syncVersion;
    control.publishSyncPorts([{ kind: 1, port: 0x608, span: 4 }, { kind: 2, port: 0x80, span: 1 }]);
    const t = control.syncPorts();
    expect(t.version).not.toBe(v0);
    expect(t.version % 2).toBe(0);
    expect(t.entries).toEqual([{ kind: 1, port: 0x608, span: 4 }, { kind: 2, port: 0x80, span: 1 }]);
    control.publishSyncPorts([{ kind: 2, port: 0x80, span: 1 }]);
    expect(control.syncPorts().entries).toEqual([{ kind: 2, port: 0x80, span: 1 }]);
  });
});

describe('ControlBlock shadow values', () => {
  it('a published value is read back under the table version it belongs to, and withheld under any other', () => {
    const control = ControlBlock.create(1);
    control.publishSyncPorts([{ kind: 5, port: 0x1f7, span: 1 }, { kind: 5, port: 0x3f6, span: 1 }]);
    const { version } = control.syncPorts();
    expect(control.shadowValue(0, version)).toBe(NO_SHADOW);
    control.publishShadow(0, 0x58);
    control.publishShadow(1, 0x50);
    expect([control.shadowValue(0, version), control.shadowValue(1, version)]).toEqual([0x58, 0x50]);
    // The table moved: index 0 may be another register now.
    control.publishSyncPorts([{ kind: 5, port: 0x3f6, span: 1 }]);
    expect(control.shadowValue(0, version)).toBe(NO_SHADOW);
    expect(control.shadowValue(0, control.syncVersion)).toBe(NO_SHADOW);
  });

  it('refuses more sync registers than the table holds instead of dropping some', () => {
    const control = ControlBlock.create(1);
    const many = Array.from({ length: SYNC_ENTRIES + 1 }, (_, i) => ({ kind: 2, port: 0x80 + i, span: 1 }));
    expect(() => control.publishSyncPorts(many)).toThrow(/sync registers declared/);
  });
});

describe('ControlBlock reset attribution', () => {
  it('takes the rip a vCPU recorded once, and nothing when none was', () => {
    const control = ControlBlock.create(2);
    expect(control.takeResetRip(1)).toBeUndefined();
    control.setResetRip(1, 0xffff_ffff_8100_0000n);
    expect(control.takeResetRip(1)).toBe(0xffff_ffff_8100_0000n);
    expect(control.takeResetRip(1)).toBeUndefined();
  });
});

describe('ControlBlock VM publication', () => {
  it('a vCPU thread sees the published handles of each generation', () => {
    const control = ControlBlock.create(2);
    expect(control.waitGeneration(0, 1)).toBe(0);
    expect(control.publishVm([11, 12], 12288)).toBe(1);
    expect(control.vcpuHandle(1)).toBe(12);
    expect(control.mmapSize).toBe(12288);
    expect(control.publishVm([21, 22], 12288)).toBe(2);
    expect(control.vcpuHandle(0)).toBe(21);
  });
});
