// Bad input to `bootgate boot` gives one clear line naming the problem and the fix, exit code 2,
// before any VM is built. Runs the compiled CLI (npm test builds it first); needs no accelerator.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/vmm/cli/main.js', import.meta.url));

async function boot(args: string[], env: Record<string, string> = {}) {
  const r = await execa('node', [CLI, 'boot', ...args], { reject: false, env, timeout: 20_000 });
  return { code: r.exitCode, lines: r.stderr.trim().split('\n').filter((l) => l !== '') };
}

/** Files of the wrong shape: a 1000-byte "disk" (not whole sectors) and a text file as a kernel. */
const scratch = mkdtempSync(join(tmpdir(), 'bootgate-bad-input-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const ODD_DISK = join(scratch, 'odd.img');
writeFileSync(ODD_DISK, new Uint8Array(1000));
const NOT_A_KERNEL = fileURLToPath(import.meta.url);

describe.runIf(existsSync(CLI))('bootgate boot: bad input', () => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['unknown firmware', ['--firmware', 'coreboot'], {}, /E_CONFIG: unknown firmware "coreboot" \(fix: use one of: seabios, seabios-256k/],
    ['smp 0', ['--smp', '0'], {}, /E_CONFIG: invalid --smp: "0"; expected 1\.\.255 vCPUs/],
    ['smp 256', ['--smp', '256'], {}, /E_CONFIG: invalid --smp: "256"/],
    ['mem too small', ['--mem', '8'], {}, /E_CONFIG: --mem 8 MiB is too small: SeaBIOS needs at least 16 MiB \(fix: pass --mem 16 or more\)/],
    ['unknown quirk', ['--quirk', 'make-it-pass'], {}, /E_CONFIG: unknown quirk "make-it-pass" \(fix: use one of: no-high-bios-copy/],
    ['unknown option', ['--cpus', '2'], {}, /E_CONFIG: Unknown option '--cpus'/],
    ['bad --until', ['--until', '(('], {}, /E_CONFIG: --until "\(\(" is not a valid regular expression/],
    ['missing fixture', [], { BOOTGATE_FIXTURE_CACHE: '/nonexistent-cache' }, /E_FIXTURE: fixture seabios-256k .* is not in .* \(fix: run: npm run fixtures -- seabios-256k\)/],
    ['/dev/kvm missing', [], { BOOTGATE_KVM_DEVICE: '/nonexistent-kvm' }, /E_ACCEL: cannot open \/nonexistent-kvm: No such file or directory .*\(fix: /],
    ['not a firmware image', ['--firmware-file', fileURLToPath(import.meta.url)], {}, /E_CONFIG: firmware image .* bytes; expected a multiple of 4 KiB/],
    ['--irqtest without --guest', ['--irqtest', 'msi,32,0'], {}, /E_CONFIG: --irqtest needs --guest \(fix: pass --guest debian-irqtest\)/],
    ['--reboot without --guest', ['--reboot', 'pci', '--reboots', '2'], {}, /E_CONFIG: --reboot and --reboots need --guest \(fix: pass --guest debian-probe\)/],
    ['--irqtest without --guest, on QEMU', ['--target', 'qemu:tcg', '--irqtest', 'msi,32,0'], {}, /E_CONFIG: --irqtest needs --guest/],
    ['--vars in a missing directory', ['--firmware', 'ovmf-4m', '--vars', '/nonexistent-dir/vars.fd'], {}, /E_CONFIG: --vars \/nonexistent-dir\/vars\.fd: the directory \/nonexistent-dir does not exist \(fix: create it/],
    ['--vars naming a directory', ['--firmware', 'ovmf-4m', '--vars', '/tmp'], {}, /E_CONFIG: --vars \/tmp is a directory/],
    ['--flash-vars without --firmware-file', ['--flash-vars', fileURLToPath(import.meta.url)], {}, /E_CONFIG: --flash-vars needs --firmware-file/],
    ['--flash-vars that does not exist', ['--firmware-file', fileURLToPath(import.meta.url), '--flash-vars', '/nonexistent.fd'], {}, /E_CONFIG: --flash-vars \/nonexistent\.fd does not exist/],
    ['--timeout without its value', ['--timeout'], {}, /E_CONFIG: Option '--timeout <value>' argument missing \(fix: see bootgate boot --help\)/],
    ['a --max-resets that is no count', ['--max-resets', 'many'], {}, /E_CONFIG: invalid --max-resets: "many"; expected an integer/],
    ['a negative --timeout', ['--timeout', '-5'], {}, /E_CONFIG: Option '--timeout' argument is ambiguous\. .*'--timeout=-XYZ'/],
    ['--timeout 0', ['--timeout', '0'], {}, /E_CONFIG: invalid --timeout: "0"; expected a positive number of seconds/],
    ['--mem above the limit', ['--mem', '99999999'], {}, /E_CONFIG: invalid --mem: "99999999"; expected at most \d+ MiB/],
    ['--smp not an integer', ['--smp', '2.5'], {}, /E_CONFIG: invalid --smp: "2\.5"; expected an integer/],
    ['--phys-bits out of range', ['--phys-bits', '64'], {}, /E_CONFIG: invalid --phys-bits: "64"; expected 32\.\.52/],
    ['--low-mem out of range', ['--low-mem', '9999'], {}, /E_CONFIG: invalid --low-mem: "9999"; expected 16\.\.3584 MiB/],
    ['--pci-mmio64-mb zero', ['--pci-mmio64-mb', '0'], {}, /E_CONFIG: invalid --pci-mmio64-mb: "0"; expected 1\.\.\d+ MiB \(OVMF's 64-bit PCI aperture\)/],
    ['--reserved-memory-end not an address', ['--reserved-memory-end', 'xyz'], {}, /E_CONFIG: invalid --reserved-memory-end: "xyz"; expected an address at or above 4 GiB/],
    ['--sample-rip 0', ['--sample-rip', '0'], {}, /E_CONFIG: invalid --sample-rip: "0"; expected 1\.\.10000 milliseconds/],
    ['--vcpu-threads green', ['--vcpu-threads', 'green'], {}, /E_CONFIG: invalid --vcpu-threads: "green"; expected native or worker/],
    ['a BAR list that is not one', ['--pci-test-device', 'foo'], {}, /E_CONFIG: invalid PCI test-device BAR "foo" \(fix: write KIND:SIZE/],
    ['more BARs than a function has', ['--pci-test-device', 'mem64:1G,mem64:1G,mem64:1G,mem64:1G'], {}, /E_CONFIG: PCI test device .* needs 8 BAR slots; a function has 6/],
    ['a BAR size that is not a power of two', ['--pci-test-device', 'mem32:3M'], {}, /E_CONFIG: PCI test-device BAR "mem32:3M": a mem32 BAR is a power of two from 16 to 2147483648 bytes/],
    ['an I/O BAR larger than 256 bytes', ['--pci-test-device', 'io:1K'], {}, /E_CONFIG: PCI test-device BAR "io:1K": a io BAR is a power of two from 4 to 256 bytes/],
    ['--kernel that does not exist', ['--kernel', '/nonexistent-bzImage'], {}, /E_CONFIG: --kernel \/nonexistent-bzImage does not exist/],
    ['--kernel that is not a bzImage', ['--kernel', NOT_A_KERNEL], {}, /E_CONFIG: --kernel .* is not a bzImage \(no "HdrS" boot header at 0x202\)/],
    ['--kernel naming a directory', ['--kernel', scratch], {}, /E_CONFIG: --kernel .* is a directory \(fix: pass a file to --kernel\)/],
    ['--initrd without --kernel', ['--initrd', ODD_DISK], {}, /E_CONFIG: --initrd and --append need --kernel/],
    ['--disk of part sectors', ['--disk', ODD_DISK], {}, /E_CONFIG: --disk .* is 1000 bytes, not a whole number of 512-byte sectors/],
    ['--disk that does not exist', ['--disk', '/nonexistent.img'], {}, /E_CONFIG: --disk \/nonexistent\.img does not exist/],
    ['--events in a directory that does not exist', ['--events', '/nonexistent-dir/e.jsonl'], {}, /E_CONFIG: --events \/nonexistent-dir\/e\.jsonl: the directory \/nonexistent-dir does not exist/],
    ['--events naming a directory', ['--events', scratch], {}, /E_CONFIG: --events .* is a directory/],
    ['an unknown guest', ['--guest', 'windows'], {}, /E_CONFIG: unknown guest "windows" \(fix: use one of: seabios/],
    ['an unknown reboot method', ['--guest', 'debian-probe', '--reboot', 'warp'], {}, /E_CONFIG: unknown reboot method "warp" \(fix: use one of: bios, pci, kbd, acpi, triple\)/],
    ['--reboots without --reboot', ['--guest', 'debian-probe', '--reboots', '2'], {}, /E_CONFIG: --reboots needs --reboot/],
    ['--reboots 0', ['--guest', 'debian-probe', '--reboot', 'pci', '--reboots', '0'], {}, /E_CONFIG: invalid --reboots: 0; expected 1\.\.100/],
    ['an --irqtest spec the probe cannot run', ['--guest', 'debian-irqtest', '--irqtest', 'msi,0,0'], {}, /E_CONFIG: invalid --irqtest "msi,0,0"; expected MODE,COUNT,TIMER_HZ/],
    ['--irqtest for a guest without the test', ['--guest', 'debian-probe', '--irqtest', 'msi,4,0'], {}, /E_CONFIG: --irqtest is for --guest debian-irqtest/],
    ['--reboot for a guest that does not reboot', ['--guest', 'debian-irqtest', '--reboot', 'pci'], {}, /E_CONFIG: --reboot and --reboots are for --guest debian-probe/],
    ['--firmware with --firmware-file', ['--firmware', 'seabios', '--firmware-file', NOT_A_KERNEL], {}, /E_CONFIG: --firmware and --firmware-file are exclusive/],
    ['--vars with SeaBIOS', ['--vars', join(scratch, 'v.fd')], {}, /E_CONFIG: --vars needs an OVMF firmware/],
    ['a pflash quirk without pflash', ['--quirk', 'romd-unmapped'], {}, /E_CONFIG: --quirk romd-unmapped acts on pflash firmware, and this boot has none/],
    ['the IRR scrubber quirk without a disk', ['--quirk', 'scrub-irr-live-vector'], {}, /E_CONFIG: --quirk scrub-irr-live-vector acts on IRQ 14, the IDE disk's, and this boot has no disk/],
    ['a BIOS-copy quirk with OVMF', ['--firmware', 'ovmf-4m', '--quirk', 'no-high-bios-copy'], {}, /E_CONFIG: --quirk no-high-bios-copy acts on a BIOS image's high copy/],
    ['an option given twice', ['--smp', '1', '--smp', '2'], {}, /E_CONFIG: --smp given twice \("1" and "2"\) \(fix: pass --smp once\)/],
    ['an option given twice, on QEMU', ['--target', 'qemu:tcg', '--mem', '512', '--mem', '1024'], {}, /E_CONFIG: --mem given twice/],
    ['--reboots without --reboot, on QEMU', ['--target', 'qemu:tcg', '--guest', 'debian-probe', '--reboots', '3'], {}, /E_CONFIG: --reboots needs --reboot/],
    ['--events in a missing directory, on QEMU', ['--target', 'qemu:tcg', '--events', '/nonexistent-dir/e.jsonl'], {}, /E_CONFIG: --events .* the directory \/nonexistent-dir does not exist/],
    ['an unknown target', ['--target', 'vmm:nvmm'], {}, /E_CONFIG: unknown target "vmm:nvmm"/],
    ['an own-VMM option on QEMU', ['--target', 'qemu:tcg', '--quirk', 'small-aperture'], {}, /E_CONFIG: --quirk is an own-VMM option; qemu:tcg has no such thing \(fix: drop --quirk/],
  ];
  for (const [what, args, env, line] of cases) {
    it(`${what}: one line, exit 2`, async () => {
      const r = await boot(args, env);
      expect(r.code).toBe(2);
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).toMatch(line);
    });
  }
});
