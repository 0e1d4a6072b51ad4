// `bootgate boot` on qemu:<accel> and <target>@lab, the pure parts: which targets go where, the
// own-VMM options a QEMU target refuses, the command line the lab runs, exit codes and the summary.
// No QEMU and no lab is started here.

import { describe, expect, test } from 'vitest';
import type { BootResult } from '../../targets/boot-result.js';
import { bootCommand, parseBootArgs } from './boot-command.js';
import { elsewhereTarget, exitCodeOf, labArgv, labPath, OWN_VMM_ONLY, rejectOwnVmmOptions, summaryLine } from './boot-elsewhere.js';

const ROOT = '/work/bootgate';

function lab(argv: string[], opts: { cwd?: string; eventsInside?: string } = {}): string[] {
  const { tokens } = parseBootArgs(argv);
  return labArgv(tokens, { inner: 'vmm:kvm', cwd: opts.cwd ?? ROOT, root: ROOT, eventsInside: opts.eventsInside });
}

describe('targets', () => {
  test('vmm:kvm (and no --target) stay in this process; qemu:<accel> and <target>@lab go elsewhere', () => {
    expect(elsewhereTarget(undefined)).toBeUndefined();
    expect(elsewhereTarget('vmm:kvm')).toBeUndefined();
    expect(elsewhereTarget('qemu:tcg')).toEqual({ kind: 'qemu', accel: 'tcg' });
    expect(elsewhereTarget('qemu:nvmm')).toEqual({ kind: 'qemu', accel: 'nvmm' });
    expect(elsewhereTarget('vmm:kvm@lab')).toEqual({ kind: 'lab', inner: 'vmm:kvm' });
    expect(elsewhereTarget('qemu:kvm@lab')).toEqual({ kind: 'lab', inner: 'qemu:kvm' });
  });

  test('unknown targets, nested labs and accelerator names carrying options are refused', () => {
    for (const t of ['bhyve', 'vmm:hvf', '@lab', 'vmm:kvm@lab@lab', 'vmm:kvm@cloud']) {
      expect(() => elsewhereTarget(t)).toThrow(`unknown target ${JSON.stringify(t)}`);
    }
    expect(() => elsewhereTarget('qemu:kvm,kernel-irqchip=off')).toThrow(/invalid target qemu:kvm,kernel-irqchip=off: the accelerator must be a name/);
    expect(() => elsewhereTarget('qemu:@lab')).toThrow(/invalid target qemu:@lab/);
  });
});

describe('own-VMM options on QEMU', () => {
  test('each is refused with its name and the target', () => {
    const argv: Record<string, string[]> = {
      quirk: ['--quirk', 'no-high-bios-copy'],
      'irq-test-device': ['--irq-test-device'],
      debugcon: ['--debugcon'],
      'sample-rip': ['--sample-rip', '5'],
      'low-mem': ['--low-mem', '2048'],
      'reserved-memory-end': ['--reserved-memory-end', '0x1000000000'],
      vars: ['--vars', 'vars.fd'],
      'max-resets': ['--max-resets', '3'],
      'vcpu-threads': ['--vcpu-threads', 'worker'],
    };
    expect(Object.keys(argv).sort()).toEqual([...OWN_VMM_ONLY].sort());
    for (const [name, args] of Object.entries(argv)) {
      const { values } = parseBootArgs(['--target', 'qemu:tcg', '--guest', 'seabios', ...args]);
      expect(() => rejectOwnVmmOptions(values, 'qemu:tcg')).toThrow(
        expect.objectContaining({ code: 'E_CONFIG', message: `--${name} is an own-VMM option; qemu:tcg has no such thing` }),
      );
    }
    expect(() => rejectOwnVmmOptions(parseBootArgs(['--guest', 'debian-probe', '--smp', '8', '--reboot', 'bios', '--phys-bits', '40']).values, 'qemu:tcg')).not.toThrow();
  });

  test('through the CLI: refused before anything is resolved or started', async () => {
    await expect(bootCommand(['--target', 'qemu:tcg', '--guest', 'no-such-guest', '--quirk', 'no-high-bios-copy'])).rejects.toThrow(
      '--quirk is an own-VMM option; qemu:tcg has no such thing',
    );
    await expect(bootCommand(['--target', 'xen'])).rejects.toThrow(/unknown target "xen"/);
  });
});

describe('the command line the lab runs', () => {
  test('the target loses @lab; every other argument stays as written, in order', () => {
    const argv = ['--target', 'vmm:kvm@lab', '--guest', 'debian-probe', '--smp', '8', '--reboot=bios', '--until', '@@bootgate \\{"event":"done"', '--debugcon', '--quirk', 'a', '--quirk', 'b'];
    expect(lab(argv)).toEqual(['--target', 'vmm:kvm', '--guest', 'debian-probe', '--smp', '8', '--reboot=bios', '--until', '@@bootgate \\{"event":"done"', '--debugcon', '--quirk', 'a', '--quirk', 'b']);
    expect(lab(['--target=vmm:kvm@lab', '--until=-x'])).toEqual(['--target=vmm:kvm', '--until=-x']);
  });

  test('path options become absolute (the lab runs in the repository root)', () => {
    expect(lab(['--target', 'vmm:kvm@lab', '--firmware-file', 'fw.bin', '--kernel=/srv/bzImage', '--initrd', '../i.cpio'], { cwd: `${ROOT}/sub` })).toEqual([
      ...['--target', 'vmm:kvm', '--firmware-file', `${ROOT}/sub/fw.bin`, '--kernel=/srv/bzImage', '--initrd', `${ROOT}/i.cpio`],
    ]);
  });

  test('files the lab cannot see (its /tmp is an empty tmpfs) or write (outside the repository) are refused', () => {
    expect(() => lab(['--target', 'vmm:kvm@lab', '--firmware-file', '/tmp/fw.bin'])).toThrow('--firmware-file /tmp/fw.bin is below /tmp, which is an empty tmpfs inside the lab');
    expect(() => lab(['--target', 'vmm:kvm@lab', '--kernel', 'bzImage'], { cwd: '/run/user/0' })).toThrow(/--kernel \/run\/user\/0\/bzImage is below \/run/);
    expect(() => lab(['--target', 'vmm:kvm@lab', '--vars', '/srv/vars.fd'])).toThrow(`--vars /srv/vars.fd is outside ${ROOT}, the only folder the lab can write`);
    expect(lab(['--target', 'vmm:kvm@lab', '--vars', 'reports/out/vars.fd'])).toEqual(['--target', 'vmm:kvm', '--vars', `${ROOT}/reports/out/vars.fd`]);
    expect(labPath('kernel', '/tmp/x', { cwd: '/', root: '/tmp' })).toBe('/tmp/x');
  });

  test('--events inside the repository is passed as an absolute path; elsewhere it is written inside and copied out', () => {
    expect(lab(['--target', 'vmm:kvm@lab', '--events', 'reports/out/e.jsonl'])).toEqual(['--target', 'vmm:kvm', '--events', `${ROOT}/reports/out/e.jsonl`]);
    const inside = `${ROOT}/reports/out/lab/boot-1-2.jsonl`;
    expect(lab(['--target', 'vmm:kvm@lab', '--events=/tmp/e.jsonl'], { eventsInside: inside })).toEqual(['--target', 'vmm:kvm', `--events=${inside}`]);
  });
});

describe('outcome', () => {
  const base: BootResult = {
    target: 'qemu:tcg',
    status: 'until-matched',
    exitCode: 0,
    serial: '',
    debugcon: '',
    milestones: { 'vmm-start': 0, 'firmware-banner': 512.3, init: 4542.8 },
    resets: 0,
    wallMs: 4600,
    events: [],
    stderr: '',
  };

  test('exit 0 when --until matched or, without --until, the guest powered off (whatever its isa-debug-exit code)', () => {
    expect(exitCodeOf(base, 'init')).toBe(0);
    expect(exitCodeOf({ ...base, status: 'power-off', exitCode: 1 }, undefined)).toBe(0);
    expect(exitCodeOf({ ...base, status: 'power-off', exitCode: 1 }, 'never')).toBe(1);
    expect(exitCodeOf({ ...base, status: 'timeout', exitCode: 124 }, 'x')).toBe(124);
    expect(exitCodeOf({ ...base, status: 'error', exitCode: 1, error: { code: 'E_INTERNAL', message: 'QEMU died' } }, 'x')).toBe(1);
    expect(exitCodeOf({ ...base, status: 'error', exitCode: 0, error: { code: 'E_GUEST', message: 'panic' } }, 'x')).toBe(1);
    expect(exitCodeOf({ ...base, status: 'error', exitCode: 1, error: { code: 'E_CONFIG', message: 'cannot be reproduced' } }, undefined)).toBe(2);
  });

  test('the summary names status, target, time, resets and milestones', () => {
    expect(summaryLine(base)).toBe('bootgate: until-matched on qemu:tcg after 4.60 s, 0 resets, milestones (s): vmm-start 0.00, firmware-banner 0.51, init 4.54');
    expect(summaryLine({ ...base, milestones: {} })).toMatch(/milestones \(s\): none$/);
  });
});
