// Bad input to `bootgate boot` gives one clear line naming the problem and the fix, exit code 2,
// before any VM is built. Runs the compiled CLI (npm test builds it first); needs no accelerator.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/vmm/cli/main.js', import.meta.url));

async function boot(args: string[], env: Record<string, string> = {}) {
  const r = await execa('node', [CLI, 'boot', ...args], { reject: false, env, timeout: 20_000 });
  return { code: r.exitCode, lines: r.stderr.trim().split('\n').filter((l) => l !== '') };
}

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
