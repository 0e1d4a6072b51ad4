// The qemu:<accel> target's ways out, each ending with no QEMU process left: a missing binary,
// an accelerator QEMU does not have, QEMU refusing to start, QEMU crashing mid-boot, a boot that
// times out, quirks and guest options it cannot honour; and clean SeaBIOS boots under TCG (a
// guest by name; everything the suites read: milestones, mapping at reset, high-copy hash). Runs QEMU with -accel tcg only (no
// hardware accelerator), so it belongs to the unit project; bootstrap installs QEMU for every profile.

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadFirmware } from '../../suites/harness/firmware.js';
import { type BootResult, eventsOf } from '../boot-result.js';
import { bootOnQemu } from './boot.js';
import { checkQemuAccelerator } from './target.js';

const BOOT_ATTEMPT = 'Booting from|No bootable device';

function pidOf(r: BootResult): number | undefined {
  return eventsOf(r, 'config')[0]?.pid as number | undefined;
}

/** True while a process with this pid exists (a zombie counts: it was not reaped). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bootgate-qemu-target-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('qemu target: failure paths leave no process behind', () => {
  test('missing binary (QEMU=/nonexistent): one line naming it and the fix, nothing started', async () => {
    const r = await bootOnQemu('tcg', { firmware: 'seabios-256k', smp: 1, timeoutS: 10 }, { ...process.env, QEMU: '/nonexistent' });
    expect(r.status).toBe('error');
    expect(r.error).toEqual({
      code: 'E_CONFIG',
      message: 'QEMU binary /nonexistent not found',
      hint: 'apt-get install qemu-system-x86 (npm test installs it), or set QEMU=/path/to/qemu-system-x86_64',
    });
    expect(r.stderr).toContain('QEMU binary /nonexistent not found (fix: apt-get install qemu-system-x86');
    expect(pidOf(r)).toBeUndefined();
    expect(checkQemuAccelerator('tcg', { ...process.env, QEMU: '/nonexistent' })).toBe(
      'qemu:tcg: bootgate: E_CONFIG: QEMU binary /nonexistent not found (fix: apt-get install qemu-system-x86 (npm test installs it), or set QEMU=/path/to/qemu-system-x86_64)',
    );
  });

  test('unknown accelerator: QEMU\'s own words, a hint, and its pid gone', async () => {
    const r = await bootOnQemu('nosuchaccel', { firmware: 'seabios-256k', smp: 1, timeoutS: 10 });
    expect(r.status).toBe('error');
    expect(r.error?.code).toBe('E_CONFIG');
    expect(r.error?.message).toBe('QEMU has no accelerator "nosuchaccel": qemu-system-x86_64: -accel nosuchaccel: invalid accelerator nosuchaccel');
    expect(r.error?.hint).toMatch(/-accel help/);
    expect(r.stderr).toContain('invalid accelerator nosuchaccel');
    const pid = pidOf(r);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid!)).toBe(false);
    expect(checkQemuAccelerator('nosuchaccel')).toMatch(/^unknown accelerator "nosuchaccel" in target qemu:nosuchaccel: \S+ has tcg, kvm.* \(fix: use qemu:tcg or qemu:kvm/);
    expect(checkQemuAccelerator('tcg')).toBeUndefined();
  });

  test('a QEMU that refuses to start: its stderr in the message', async () => {
    const fake = script('refuses', 'echo "qemu-system-x86_64: -machine pc: unsupported machine type" >&2; exit 1');
    const r = await bootOnQemu('tcg', { firmware: 'seabios-256k', smp: 1, timeoutS: 10 }, { ...process.env, QEMU: fake });
    expect(r.status).toBe('error');
    expect(r.error).toMatchObject({ code: 'E_CONFIG', message: 'QEMU refused to start: qemu-system-x86_64: -machine pc: unsupported machine type' });
    expect(alive(pidOf(r)!)).toBe(false);
  });

  test('QEMU crashing mid-boot (SIGSEGV): a clear failure with its stderr, pid gone', async () => {
    // The wrapper keeps its pid across exec; the subshell shoots it once the guest runs.
    const crashing = script('crashes', 'me=$$; (sleep 1.5; echo "simulated crash" >&2; kill -SEGV $me) & exec qemu-system-x86_64 "$@"');
    const r = await bootOnQemu('tcg', { firmware: 'seabios-256k', smp: 1, timeoutS: 30, until: 'never printed' }, { ...process.env, QEMU: crashing });
    expect(r.status).toBe('error');
    expect(r.error?.code).toBe('E_INTERNAL');
    expect(r.error?.message).toMatch(/^QEMU died from SIGSEGV.*: .*simulated crash/s);
    expect(r.serial, 'the guest ran before the crash').toMatch(/SeaBIOS/);
    expect(alive(pidOf(r)!)).toBe(false);
  });

  test('timeout: status timeout, exit code 124, registers and serial tail in the diagnostic, QEMU killed', async () => {
    const r = await bootOnQemu('tcg', { firmware: 'seabios-256k', smp: 2, timeoutS: 3, until: 'never printed' });
    expect(r.status).toBe('timeout');
    expect(r.exitCode).toBe(124);
    expect(r.error).toBeUndefined();
    expect(r.diagnostic?.reason).toBe('timed out after 3 s waiting for /never printed/');
    expect(r.diagnostic?.registers.map((v) => v.vcpu)).toEqual([0, 1]);
    expect(r.diagnostic?.registers[0]!.regs).toHaveProperty('cs.base');
    expect(r.diagnostic?.serialTail).toMatch(/SeaBIOS/);
    expect(r.wallMs).toBeLessThan(15_000);
    expect(alive(pidOf(r)!)).toBe(false);
  });

  test('a QEMU that hangs before its monitor is up times out at the boot timeout, not later, and is killed', async () => {
    const hangs = script('hangs', 'exec sleep 60');
    const r = await bootOnQemu('tcg', { firmware: 'seabios-256k', smp: 1, timeoutS: 1 }, { ...process.env, QEMU: hangs });
    expect(r.status).toBe('timeout');
    expect(r.diagnostic?.reason).toBe('timed out after 1 s');
    expect(r.wallMs).toBeLessThan(5_000);
    expect(alive(pidOf(r)!)).toBe(false);
  });

  test('quirks are own-VMM switches: refused before anything starts', async () => {
    const r = await bootOnQemu('tcg', { firmware: 'seabios-256k', smp: 1, timeoutS: 10, quirks: ['no-high-bios-copy'] });
    expect(r.status).toBe('error');
    expect(r.error).toMatchObject({ code: 'E_CONFIG', message: 'qemu:tcg has no quirk switches (asked for no-high-bios-copy)' });
    expect(pidOf(r)).toBeUndefined();
  });
});

describe('qemu target: guests by name', () => {
  test('reboot options without a guest, or a guest with a kernel of its own, are refused before anything starts', async () => {
    const r = await bootOnQemu('tcg', { reboot: 'bios', smp: 1, timeoutS: 10 });
    expect(r.error).toMatchObject({ code: 'E_CONFIG', message: 'reboot, reboots and irqtest need a guest' });
    expect(pidOf(r)).toBeUndefined();
    const both = await bootOnQemu('tcg', { guest: 'seabios', linux: { kernel: '/k' }, smp: 1, timeoutS: 10 });
    expect(both.error?.message).toBe('a catalog guest (seabios) and a kernel of its own (/k) are exclusive');
  });

  test('a firmware-only guest brings its firmware (seabios: the 128 KiB bios.bin), unless one is asked for', async () => {
    const r = await bootOnQemu('tcg', { guest: 'seabios', smp: 1, timeoutS: 30, until: BOOT_ATTEMPT });
    expect(r.status).toBe('until-matched');
    expect(eventsOf(r, 'config')[0]?.config).toMatchObject({ guest: 'seabios', firmware: { name: 'seabios' } });
    const own = await bootOnQemu('tcg', { guest: 'seabios', firmware: 'seabios-256k', smp: 1, timeoutS: 30, until: BOOT_ATTEMPT });
    expect(eventsOf(own, 'config')[0]?.config).toMatchObject({ firmware: { name: 'seabios-256k' } });
  });
});

describe('qemu target: a clean boot', () => {
  test('SeaBIOS under TCG: until-matched, milestones in order, mapping at reset, pristine high copy, QEMU gone', async () => {
    const image = await loadFirmware('seabios-256k');
    const r = await bootOnQemu('tcg', { firmware: 'seabios-256k', smp: 2, timeoutS: 60, until: BOOT_ATTEMPT });
    expect(r.error, r.stderr).toBeUndefined();
    expect(r).toMatchObject({ target: 'qemu:tcg', status: 'until-matched', exitCode: 0, resets: 0 });
    const m = r.milestones;
    expect(Object.keys(m)).toEqual(['vmm-start', 'vm-created', 'firmware-banner', 'boot-attempt']);
    expect(m['vmm-start']).toBe(0);
    expect(m['vm-created']!).toBeLessThan(m['firmware-banner']!);
    expect(m['firmware-banner']!).toBeLessThan(m['boot-attempt']!);
    expect(r.wallMs).toBeGreaterThanOrEqual(m['boot-attempt']!);
    expect(r.debugcon).toContain('Found 2 cpu(s) max supported 2 cpu(s)');
    expect(eventsOf(r, 'reset-vector-mapping')[0]).toMatchObject({ gpa: 0xffff_fff0, region: 'pc.bios', kind: 'rom', readOnly: true, firmware: true, start: 0xfffc_0000 });
    expect(eventsOf(r, 'firmware-high')[0]).toMatchObject({ mapped: true, sha256: image.sha256, bytes: image.bytes.length });
    expect(r.maxRssBytes).toBeGreaterThan(1 << 20);
    expect(eventsOf(r, 'reboots')[0]).toMatchObject({ qmpResets: 0, consoleBanners: 1, consoleReboots: 0 });
    expect(alive(pidOf(r)!)).toBe(false);
  });
});
