import { describe, expect, it } from 'vitest';
import { parseEventStream } from '../../targets/boot-result.js';
import { failuresOf } from './failures.js';
import type { ProbeEvent } from './probe.js';
import { checkReboot, REBOOT, RESET_PATH_ASSERTIONS } from './reboot-check.js';

const SHA = 'ab'.repeat(32);
const KERNEL_RIP = '0xffffffff81e0c1d2';

function boot(resets: object[], opts: { extra?: object[]; status?: string; banners?: number; sha?: string; noHigh?: boolean } = {}) {
  const serial = 'SeaBIOS (version 1.16.2)\n'.repeat(opts.banners ?? resets.length + 1);
  const lines = [
    { event: 'serial', t: 1, port: 'com1', data: serial },
    ...(opts.noHigh ? [] : [{ event: 'firmware-high', t: 1, mapped: true, bytes: 262_144, sha256: opts.sha ?? SHA, writesTrapped: 0 }]),
    ...resets.map((x, i) => ({ event: 'reset', t: 2 + i, count: i + 1, ...x })),
    ...(opts.extra ?? []),
    { event: 'final', t: 9, status: opts.status ?? 'until-matched', exitCode: 0, resets: resets.length, wallMs: 9, maxRssBytes: 1, profile: {} },
  ];
  return parseEventStream('vmm:kvm', lines.map((l) => JSON.stringify(l)).join('\n'), '');
}

const probe = (method: string, boots: number[], cpus = 1): ProbeEvent[] => [
  ...boots.map((b) => ({ event: 'init', boot: b, cpus })),
  { event: 'reboot', boot: 1, method },
];

describe('checkReboot', () => {
  it('passes each method that resets through its own path', () => {
    const c = { smp: 1, reboots: 1, firmwareSha256: SHA };
    expect(checkReboot(boot([{ source: 'cf9 0x0e', vcpu: 0, rip: KERNEL_RIP }]), probe('p', [1, 2]), { ...c, method: 'pci' })).toEqual([]);
    expect(checkReboot(boot([{ source: 'i8042', vcpu: 0, rip: KERNEL_RIP }]), probe('k', [1, 2]), { ...c, method: 'kbd' })).toEqual([]);
    expect(checkReboot(boot([{ source: 'cf9 0x06', vcpu: 0, rip: KERNEL_RIP }]), probe('a', [1, 2]), { ...c, method: 'acpi' })).toEqual([]);
    const bios = [{ source: 'cf9 0x06', vcpu: 0, rip: '0xf1a2c' }, { source: 'cf9 0x06', vcpu: 0, rip: '0xf1a2c' }];
    expect(checkReboot(boot(bios), probe('b', [1, 2, 3], 2), { ...c, smp: 2, reboots: 2, method: 'bios' })).toEqual([]);
    const triple = boot([{ source: 'triple-fault', vcpu: 0, rip: KERNEL_RIP }], { extra: [{ event: 'triple-fault', t: 2, vcpu: 0, registers: { rip: KERNEL_RIP } }] });
    expect(checkReboot(triple, probe('t', [1, 2]), { ...c, method: 'triple' })).toEqual([]);
  });

  it('fails a broken method that Linux papered over with its fallback (reboot=pci ending in a triple fault)', () => {
    const r = boot([{ source: 'triple-fault', vcpu: 0, rip: KERNEL_RIP }], { extra: [{ event: 'triple-fault', t: 2, vcpu: 0, registers: { rip: KERNEL_RIP } }] });
    const failures = checkReboot(r, probe('p', [1, 2]), { method: 'pci', smp: 1, reboots: 1, firmwareSha256: SHA });
    expect(failuresOf(failures, REBOOT.source).map((f) => f.message)).toEqual([
      `reboot=pci must reset 1 time through 0xCF9 <- 0x0e from the kernel (Linux's cold CF9 reset); the VMM saw 1: triple-fault on vCPU 0 at ${KERNEL_RIP}`,
    ]);
    expect(failuresOf(failures, REBOOT.noTriple).map((f) => f.message)).toEqual([`1 triple fault, 0 requested: vCPU 0 at rip ${KERNEL_RIP}`]);
  });

  it('tells ACPI from BIOS by who wrote 0xCF9, and kbd from a second reset', () => {
    const fromFirmware = checkReboot(boot([{ source: 'cf9 0x06', vcpu: 0, rip: '0xf1a2c' }]), probe('a', [1, 2]), { method: 'acpi', smp: 1, reboots: 1, firmwareSha256: SHA });
    expect(failuresOf(fromFirmware, REBOOT.source)[0]?.message).toMatch(/the FADT reset register .* the VMM saw 1: cf9 0x06 on vCPU 0 at 0xf1a2c/);
    const twice = checkReboot(boot([{ source: 'i8042' }, { source: 'triple-fault (vCPU 1)', vcpu: 1 }]), probe('k', [1, 2]), { method: 'kbd', smp: 1, reboots: 1, firmwareSha256: SHA });
    expect(failuresOf(twice, REBOOT.source)[0]?.message).toMatch(/the VMM saw 2: i8042; triple-fault \(vCPU 1\) on vCPU 1$/);
  });

  it('fails a run whose stack reported no high copy, and says why when the stack knows', () => {
    const c = { method: 'pci' as const, smp: 1, reboots: 1, firmwareSha256: SHA };
    const reset = [{ source: 'cf9 0x0e', vcpu: 0, rip: KERNEL_RIP }];
    expect(failuresOf(checkReboot(boot(reset, { noHigh: true }), probe('p', [1, 2]), c), REBOOT.highCopy)[0]?.message).toBe('the stack reported no high copy');
    // QEMU's driver emits this one (the own VMM always reports its copy), so it is added to the result, not the VMM stream.
    const unread = boot(reset, { noHigh: true });
    unread.events.push({ event: 'firmware-high-unread', t: 8, reason: 'pmemsave: no answer within 30 s' });
    expect(failuresOf(checkReboot(unread, probe('p', [1, 2]), c), REBOOT.highCopy)[0]?.message).toBe('the stack reported no high copy (pmemsave: no answer within 30 s)');
  });

  it('names a guest that never came back, and the rest of what went wrong', () => {
    const r = boot([], { status: 'error', banners: 1, sha: 'cd'.repeat(32) });
    const failures = checkReboot(r, probe('b', [1]), { method: 'bios', smp: 1, reboots: 1, firmwareSha256: SHA });
    expect(failures.map((f) => f.assertion)).toEqual([REBOOT.ran, REBOOT.cameBack, REBOOT.source, REBOOT.firmware, REBOOT.highCopy]);
    expect(failuresOf(failures, REBOOT.cameBack)[0]?.message).toBe('the probe reported boot 1; expected 1, 2, one per reboot');
  });

  it('names an unrequested triple fault on another vCPU during reboot=triple, a wrong method and a missing CPU', () => {
    const r = boot([{ source: 'triple-fault', vcpu: 0, rip: KERNEL_RIP }], {
      extra: [
        { event: 'triple-fault', t: 2, vcpu: 0, registers: { rip: KERNEL_RIP } },
        { event: 'triple-fault', t: 3, vcpu: 1, registers: { rip: '0x1000' } },
      ],
    });
    const failures = checkReboot(r, probe('k', [1, 2], 1), { method: 'triple', smp: 2, reboots: 1, firmwareSha256: SHA });
    expect(failures.map((f) => f.assertion)).toEqual([REBOOT.asked, REBOOT.noTriple, REBOOT.cpus]);
    expect(failuresOf(failures, REBOOT.noTriple)[0]?.message).toBe(`2 triple faults, 1 requested: vCPU 0 at rip ${KERNEL_RIP}; vCPU 1 at rip 0x1000`);
  });

  describe('on a target that reports resets without their cause (QEMU)', () => {
    const say = (o: object) => `@@bootgate ${JSON.stringify(o)}\n`;
    /** A QEMU-like stream: console and RESET events in order, as QMP and COM1 deliver them. */
    function qemu(steps: Array<string | 'reset'>, status = 'until-matched') {
      let t = 1;
      const lines = [
        ...steps.map((x) => (x === 'reset' ? { event: 'reset', t: t++, count: t, source: 'guest-reset' } : { event: 'serial', t: t++, port: 'com1', data: x })),
        { event: 'firmware-high', t: t++, mapped: true, bytes: 262_144, sha256: SHA, writesTrapped: 0 },
        { event: 'final', t, status, exitCode: 0, resets: steps.filter((x) => x === 'reset').length, wallMs: t, maxRssBytes: 1, profile: {} },
      ];
      return parseEventStream('qemu:tcg', lines.map((l) => JSON.stringify(l)).join('\n'), '');
    }
    const BANNER = 'SeaBIOS (version 1.16.2)\n';
    const c = { method: 'pci' as const, smp: 1, reboots: 1, firmwareSha256: SHA, resetPath: false };

    it('passes one asked-for reset per reboot, with the firmware\'s own resets after it counted as part of it', () => {
      const r = qemu([BANNER, say({ event: 'init', boot: 1 }), say({ event: 'reboot', boot: 1, method: 'p' }), 'reset', 'reset', BANNER, say({ event: 'init', boot: 2 })]);
      expect(checkReboot(r, probe('p', [1, 2]), c)).toEqual([]);
    });

    it('fails a reset nobody asked for (a crash that rebooted the guest), and a reboot that never reset', () => {
      const crash = qemu([BANNER, say({ event: 'init', boot: 1 }), 'reset', BANNER, say({ event: 'reboot', boot: 1, method: 'p' }), 'reset', BANNER]);
      expect(failuresOf(checkReboot(crash, probe('p', [1, 2]), c), REBOOT.resetsAsked).map((f) => f.message)).toEqual([
        "1 reboot asked for; the machine reset 1 time after the probe's reboot line, 1 time when nobody asked (and 0 times as the firmware's own reset before its banner)",
      ]);
      const never = qemu([BANNER, say({ event: 'init', boot: 1 }), say({ event: 'reboot', boot: 1, method: 'p' })], 'timeout');
      const failures = checkReboot(never, probe('p', [1]), c);
      expect(failures.map((f) => f.assertion)).toEqual([REBOOT.ran, REBOOT.cameBack, REBOOT.resetsAsked, REBOOT.firmware]);
      for (const f of failures) expect(RESET_PATH_ASSERTIONS).not.toContain(f.assertion);
    });
  });
});
