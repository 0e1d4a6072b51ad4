// Firmware descriptor discovery (tiers, overrides, masks), selection, and firmware name resolution
// for the QEMU targets, on descriptor files written to a temporary directory (and this host's own).

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { BootgateError } from '../../vmm/errors.js';
import {
  descriptorDirs,
  discoverFirmware,
  type FirmwareDescriptor,
  firmwareFromDescriptor,
  globMatch,
  parseDescriptor,
  resolveQemuFirmware,
  selectFirmware,
} from './firmware.js';

/** Debian 12's 60-edk2-x86_64.json (ovmf 2022.11-6+deb12u2), as installed. */
const DEBIAN_OVMF = {
  description: 'UEFI firmware for x86_64, without Secure Boot without SMM, with empty varstore',
  'interface-types': ['uefi'],
  mapping: {
    device: 'flash',
    executable: { filename: '/usr/share/OVMF/OVMF_CODE_4M.fd', format: 'raw' },
    'nvram-template': { filename: '/usr/share/OVMF/OVMF_VARS_4M.fd', format: 'raw' },
  },
  targets: [{ architecture: 'x86_64', machines: ['pc-i440fx-*', 'pc-q35-*'] }],
  features: ['acpi-s3', 'amd-sev', 'verbose-dynamic'],
  tags: [],
};
/** Debian 12's 50-edk2-x86_64-secure.json: needs SMM and q35. */
const DEBIAN_OVMF_SECURE = {
  ...DEBIAN_OVMF,
  description: 'UEFI firmware for x86_64, with Secure Boot and SMM, empty varstore',
  mapping: { ...DEBIAN_OVMF.mapping, executable: { filename: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', format: 'raw' } },
  targets: [{ architecture: 'x86_64', machines: ['pc-q35-*'] }],
  features: ['acpi-s3', 'amd-sev', 'requires-smm', 'secure-boot', 'verbose-dynamic'],
};
/** Fedora's 50-seabios-256k.json shape: a memory mapping. */
const SEABIOS = {
  description: 'SeaBIOS',
  'interface-types': ['bios'],
  mapping: { device: 'memory', filename: '/usr/share/seabios/bios-256k.bin' },
  targets: [{ architecture: 'x86_64', machines: ['pc-i440fx-*', 'pc-q35-*'] }],
  features: [],
  tags: ['CONFIG_QEMU=y'],
};

let root: string;
const tier = (name: string) => join(root, name);

function put(dir: string, file: string, body: unknown): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), typeof body === 'string' ? body : JSON.stringify(body));
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'bootgate-fwdesc-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('discoverFirmware', () => {
  test('reads every tier, sorts by file name, later tiers override by name, empty files mask', () => {
    put(tier('usr-share'), '60-edk2-x86_64.json', DEBIAN_OVMF);
    put(tier('usr-share'), '50-edk2-x86_64-secure.json', DEBIAN_OVMF_SECURE);
    put(tier('usr-local-share'), '40-seabios.json', SEABIOS); // a BSD package's location
    put(tier('etc'), '50-edk2-x86_64-secure.json', ''); // the sysadmin masks it
    put(tier('user'), '60-edk2-x86_64.json', { ...DEBIAN_OVMF, description: 'my own build' });
    put(tier('user'), 'notes.txt', 'not a descriptor');
    const found = discoverFirmware({ dirs: [[tier('usr-share'), tier('usr-local-share'), tier('missing')], [tier('etc')], [tier('user')]] });
    expect(found.map((d) => [d.name, d.description])).toEqual([
      ['40-seabios.json', 'SeaBIOS'],
      ['60-edk2-x86_64.json', 'my own build'],
    ]);
    expect(found[1]!.path).toBe(join(tier('user'), '60-edk2-x86_64.json'));
  });

  test('skips a descriptor it cannot parse, with a warning naming the file', () => {
    put(tier('a'), '10-broken.json', '{ not json');
    put(tier('a'), '20-weird.json', { ...SEABIOS, mapping: { device: 'tape' } });
    put(tier('a'), '30-seabios.json', SEABIOS);
    const warnings: string[] = [];
    const found = discoverFirmware({ dirs: [[tier('a')]], warn: (l) => warnings.push(l) });
    expect(found.map((d) => d.name)).toEqual(['30-seabios.json']);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('10-broken.json');
    expect(warnings[1]).toMatch(/20-weird\.json.*unknown mapping\.device tape/);
  });

  test('default directories: distro (Debian, BSD packages, pkgsrc, Homebrew, the binary\'s own prefix), sysadmin, user', () => {
    const dirs = descriptorDirs({ XDG_CONFIG_HOME: '/home/u/.cfg' }, '/opt/qemu-9/bin/qemu-system-x86_64');
    expect(dirs[0]).toEqual([
      '/usr/share/qemu/firmware',
      '/usr/local/share/qemu/firmware',
      '/usr/pkg/share/qemu/firmware',
      '/opt/homebrew/share/qemu/firmware',
      '/opt/qemu-9/share/qemu/firmware',
    ]);
    expect(dirs[1]).toContain('/etc/qemu/firmware');
    expect(dirs[1]).toContain('/usr/local/etc/qemu/firmware');
    expect(dirs[2]).toEqual(['/home/u/.cfg/qemu/firmware']);
    expect(descriptorDirs({ HOME: '/home/v' })[2]).toEqual(['/home/v/.config/qemu/firmware']);
  });

  test.runIf(existsSync('/usr/share/qemu/firmware/60-edk2-x86_64.json'))('this host: Debian\'s OVMF descriptors, the plain one chosen for pc', () => {
    const found = discoverFirmware();
    expect(found.map((d) => d.name)).toEqual(expect.arrayContaining(['50-edk2-x86_64-secure.json', '60-edk2-x86_64.json']));
    const pick = selectFirmware(found, { interface: 'uefi', machine: 'pc-i440fx-7.2' });
    expect(pick?.name).toBe('60-edk2-x86_64.json');
  });
});

describe('selectFirmware', () => {
  const all: FirmwareDescriptor[] = [
    parseDescriptor(DEBIAN_OVMF_SECURE, '/d/50-edk2-x86_64-secure.json'),
    parseDescriptor(DEBIAN_OVMF, '/d/60-edk2-x86_64.json'),
    parseDescriptor(SEABIOS, '/d/70-seabios.json'),
  ];

  test('first match by interface, architecture and machine glob, without SMM/secure-boot by default', () => {
    expect(selectFirmware(all, { interface: 'uefi', machine: 'pc-q35-7.2' })?.name).toBe('60-edk2-x86_64.json');
    expect(selectFirmware(all, { interface: 'uefi', machine: 'pc-q35-7.2', features: ['secure-boot'], excludeFeatures: [] })?.name).toBe(
      '50-edk2-x86_64-secure.json',
    );
    expect(selectFirmware(all, { interface: 'bios', machine: 'pc-i440fx-7.2' })?.name).toBe('70-seabios.json');
    expect(selectFirmware(all, { interface: 'uefi', machine: 'microvm' })).toBeUndefined();
    expect(selectFirmware(all, { interface: 'uefi', machine: 'pc-i440fx-7.2', architecture: 'aarch64' })).toBeUndefined();
  });

  test('globs are fnmatch-style', () => {
    expect(globMatch('pc-i440fx-*', 'pc-i440fx-7.2')).toBe(true);
    expect(globMatch('pc-i440fx-*', 'pc-q35-7.2')).toBe(false);
    expect(globMatch('pc-q35-?.?', 'pc-q35-7.2')).toBe(true);
    expect(globMatch('pc-q35-7.2', 'pc-q35-712')).toBe(false); // the dot is literal
  });

  test('mappings become what QEMU loads: -bios image, or pflash CODE plus a VARS template', () => {
    expect(firmwareFromDescriptor(all[2]!)).toEqual({ kind: 'bios', name: '70-seabios.json', path: '/usr/share/seabios/bios-256k.bin' });
    expect(firmwareFromDescriptor(all[1]!)).toEqual({
      kind: 'flash',
      name: '60-edk2-x86_64.json',
      code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      format: 'raw',
      varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      varsFormat: 'raw',
    });
    const stateless = parseDescriptor({ ...DEBIAN_OVMF, mapping: { device: 'flash', mode: 'stateless', executable: { filename: '/x/OVMF.fd' } } }, '/d/x.json');
    expect(firmwareFromDescriptor(stateless)).toMatchObject({ kind: 'flash', code: '/x/OVMF.fd', format: 'raw', varsTemplate: undefined });
    const kernel = parseDescriptor({ ...DEBIAN_OVMF, mapping: { device: 'kernel', filename: '/x/vmlinuz' } }, '/d/k.json');
    expect(() => firmwareFromDescriptor(kernel)).toThrow(/maps a kernel/);
  });
});

describe('resolveQemuFirmware', () => {
  const machine = () => 'pc-i440fx-7.2';

  test('a fixture name resolves to the verified cached file (-bios)', async () => {
    const fw = await resolveQemuFirmware({ firmware: 'seabios-256k' }, { machine });
    expect(fw).toMatchObject({ kind: 'bios', name: 'seabios-256k' });
    expect(fw.kind === 'bios' && fw.path.endsWith('usr/share/seabios/bios-256k.bin')).toBe(true);
  });

  test('ovmf-4m and ovmf-2m are the pinned OVMF fixtures as pflash CODE + a VARS template, the bytes the own VMM maps', async () => {
    for (const [name, code, vars] of [
      ['ovmf-4m', 'OVMF_CODE_4M.fd', 'OVMF_VARS_4M.fd'],
      ['ovmf-2m', 'OVMF_CODE.fd', 'OVMF_VARS.fd'],
    ] as const) {
      const fw = await resolveQemuFirmware({ firmware: name }, { machine, discover: () => [] });
      expect(fw).toMatchObject({ kind: 'flash', name, format: 'raw', varsFormat: 'raw' });
      expect(fw.kind === 'flash' && fw.code.endsWith(`/OVMF/${code}`) && fw.varsTemplate?.endsWith(`/OVMF/${vars}`)).toBe(true);
    }
  });

  test('ovmf asks the descriptors; an explicit descriptor path and an explicit image work too', async () => {
    const discover = () => [parseDescriptor(DEBIAN_OVMF_SECURE, '/d/50.json'), parseDescriptor(DEBIAN_OVMF, '/d/60.json')];
    await expect(resolveQemuFirmware({ firmware: 'ovmf' }, { machine, discover })).resolves.toMatchObject({ kind: 'flash', name: '60.json' });
    put(root, 'mine.json', SEABIOS);
    await expect(resolveQemuFirmware({ firmware: join(root, 'mine.json') }, { machine })).resolves.toMatchObject({ kind: 'bios', path: SEABIOS.mapping.filename });
    put(root, 'probe.bin', 'x');
    await expect(resolveQemuFirmware({ firmwareFile: join(root, 'probe.bin') }, { machine })).resolves.toEqual({ kind: 'bios', name: 'probe.bin', path: join(root, 'probe.bin') });
    // With a VARS image: pflash CODE read-only + a copy of VARS, as the own VMM's --flash-vars.
    await expect(resolveQemuFirmware({ firmwareFile: join(root, 'probe.bin'), flashVars: '/v/vars.fd' }, { machine })).resolves.toEqual({
      kind: 'flash',
      name: 'probe.bin',
      code: join(root, 'probe.bin'),
      format: 'raw',
      varsTemplate: '/v/vars.fd',
      varsFormat: 'raw',
    });
  });

  test('failures name the problem and the fix', async () => {
    await expect(resolveQemuFirmware({ firmware: 'ovmf' }, { machine, discover: () => [] })).rejects.toMatchObject({
      code: 'E_FIXTURE',
      message: expect.stringContaining('no QEMU firmware descriptor offers uefi for pc-i440fx-7.2'),
      hint: expect.stringContaining('apt-get install ovmf'),
    });
    await expect(resolveQemuFirmware({ firmware: 'coreboot' }, { machine })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: 'unknown firmware "coreboot" for QEMU',
      hint: expect.stringMatching(/seabios-256k.*ovmf\/uefi.*--firmware-file/),
    });
    // Other fixtures are not firmware: a kernel is no -bios image, and the hint lists only firmware.
    const notFirmware = await resolveQemuFirmware({ firmware: 'linux-cloud-kernel' }, { machine }).catch((e: unknown) => e as BootgateError);
    expect(notFirmware).toMatchObject({ code: 'E_CONFIG', message: 'unknown firmware "linux-cloud-kernel" for QEMU' });
    expect((notFirmware as BootgateError).hint).toBe('use a fixture (seabios, seabios-256k, ovmf-4m, ovmf-2m, ovmf-2m-bios), ovmf/uefi (QEMU firmware descriptors), a descriptor .json path, or --firmware-file PATH');
    await expect(resolveQemuFirmware({ firmwareFile: join(root, 'nope.bin') }, { machine })).rejects.toMatchObject({ code: 'E_CONFIG' });
  });
});
