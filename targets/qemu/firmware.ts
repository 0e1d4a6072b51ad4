// Firmware for the QEMU targets: a named fixture (SeaBIOS today, passed with -bios), an explicit
// image file (-bios), or a firmware found through QEMU's firmware descriptor files
// (docs/interop/firmware.json): JSON files in a distro directory (/usr/share/qemu/firmware; BSD
// packages and Homebrew install under /usr/local/share, NetBSD's pkgsrc under /usr/pkg/share, a
// self-built QEMU under <prefix>/share), overridden by name from /etc/qemu/firmware (and the BSD
// etc directories) and then from $XDG_CONFIG_HOME/qemu/firmware; an empty file masks a name.
// Descriptors are tried in file-name order; the first that matches interface, architecture,
// machine and features wins. Mappings: `memory` (-bios), `flash` (pflash CODE read-only + a copy
// of the VARS template, or one image in `combined`/`stateless` mode). Left out: `kernel`
// mappings (SEV direct boot) — bootgate boots no firmware that needs one.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { loadManifest, resolveFixture } from '../../fixtures/fixtures.js';
import { FIRMWARES, OVMF_VARS_FIXTURES, type FirmwareName } from '../../vmm/config.js';
import { BootgateError } from '../../vmm/errors.js';

export type DescriptorMapping =
  | {
      device: 'flash';
      mode: 'split' | 'combined' | 'stateless';
      executable: { filename: string; format: string };
      nvramTemplate?: { filename: string; format: string };
    }
  | { device: 'memory'; filename: string }
  | { device: 'kernel'; filename: string };

export interface FirmwareDescriptor {
  /** The descriptor file's name (the key overrides and masks use) and where it was read. */
  name: string;
  path: string;
  description: string;
  interfaceTypes: string[];
  mapping: DescriptorMapping;
  targets: Array<{ architecture: string; machines: string[] }>;
  features: string[];
  tags: string[];
}

/** What a QEMU target maps at the top of 4 GiB. */
export type QemuFirmware =
  | { kind: 'bios'; name: string; path: string }
  | { kind: 'flash'; name: string; code: string; format: string; varsTemplate?: string; varsFormat?: string };

/** The descriptor directories, lowest priority first: distro, then sysadmin, then user. */
export function descriptorDirs(env: NodeJS.ProcessEnv = process.env, qemuBinary?: string): string[][] {
  const prefixes = ['/usr', '/usr/local', '/usr/pkg', '/opt/homebrew'];
  // A QEMU installed under its own prefix (<prefix>/bin/qemu-system-x86_64) reads <prefix>/share.
  if (qemuBinary?.includes('/')) {
    const prefix = dirname(dirname(qemuBinary));
    if (!prefixes.includes(prefix)) prefixes.push(prefix);
  }
  const distro = prefixes.map((p) => join(p, 'share/qemu/firmware'));
  const sysadmin = ['/etc/qemu/firmware', '/usr/local/etc/qemu/firmware', '/usr/pkg/etc/qemu/firmware'];
  const config = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : join(homedir(), '.config'));
  return [distro, sysadmin, [join(config, 'qemu/firmware')]];
}

function str(v: unknown, what: string, file: string): string {
  if (typeof v !== 'string' || v === '') throw new TypeError(`firmware descriptor ${file}: ${what} is ${JSON.stringify(v)}`);
  return v;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Parses one descriptor file's JSON. Throws TypeError naming the file and the bad field. */
export function parseDescriptor(json: unknown, path: string): FirmwareDescriptor {
  const d = (json ?? {}) as Record<string, unknown>;
  const m = (d.mapping ?? {}) as Record<string, unknown>;
  let mapping: DescriptorMapping;
  const device = str(m.device, 'mapping.device', path);
  if (device === 'flash') {
    const exe = (m.executable ?? {}) as Record<string, unknown>;
    const tpl = m['nvram-template'] as Record<string, unknown> | undefined;
    const mode = m.mode === undefined ? 'split' : str(m.mode, 'mapping.mode', path);
    if (mode !== 'split' && mode !== 'combined' && mode !== 'stateless') throw new TypeError(`firmware descriptor ${path}: unknown mapping.mode ${mode}`);
    mapping = {
      device,
      mode,
      executable: { filename: str(exe.filename, 'mapping.executable.filename', path), format: typeof exe.format === 'string' ? exe.format : 'raw' },
      nvramTemplate: tpl ? { filename: str(tpl.filename, 'mapping.nvram-template.filename', path), format: typeof tpl.format === 'string' ? tpl.format : 'raw' } : undefined,
    };
  } else if (device === 'memory' || device === 'kernel') {
    mapping = { device, filename: str(m.filename, 'mapping.filename', path) };
  } else {
    throw new TypeError(`firmware descriptor ${path}: unknown mapping.device ${device}`);
  }
  return {
    name: basename(path),
    path,
    description: typeof d.description === 'string' ? d.description : '',
    interfaceTypes: strings(d['interface-types']),
    mapping,
    targets: Array.isArray(d.targets)
      ? d.targets.map((t: Record<string, unknown>) => ({ architecture: String(t.architecture), machines: strings(t.machines) }))
      : [],
    features: strings(d.features),
    tags: strings(d.tags),
  };
}

export interface DiscoverOptions {
  /** Directory tiers, lowest priority first (default: descriptorDirs()). */
  dirs?: string[][];
  /** Called for a descriptor that cannot be read or parsed; it is skipped. */
  warn?: (line: string) => void;
}

/** Every usable descriptor, overrides and masks applied, in file-name order. */
export function discoverFirmware(options: DiscoverOptions = {}): FirmwareDescriptor[] {
  const byName = new Map<string, string | null>();
  for (const tier of options.dirs ?? descriptorDirs()) {
    for (const dir of tier) {
      let files: string[];
      try {
        files = readdirSync(dir).filter((f) => f.endsWith('.json'));
      } catch {
        continue;
      }
      for (const f of files) {
        const path = join(dir, f);
        byName.set(f, statSync(path).size === 0 ? null : path);
      }
    }
  }
  const out: FirmwareDescriptor[] = [];
  for (const name of [...byName.keys()].sort()) {
    const path = byName.get(name);
    if (!path) continue;
    try {
      out.push(parseDescriptor(JSON.parse(readFileSync(path, 'utf8')), path));
    } catch (e) {
      options.warn?.(`skipping firmware descriptor ${path}: ${(e as Error).message}`);
    }
  }
  return out;
}

/** fnmatch(3) as the descriptors use it: `*` and `?` only. */
export function globMatch(pattern: string, text: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(text);
}

export interface FirmwareQuery {
  interface: string; // 'uefi' | 'bios'
  architecture?: string;
  /** The concrete machine type (`pc-i440fx-7.2`, not the `pc` alias). */
  machine: string;
  /** Features the firmware must have. */
  features?: string[];
  /** Features it must not have. Default: the ones bootgate's plain pc machine cannot satisfy. */
  excludeFeatures?: string[];
}

/** Features that need a machine set up for them (SMM, enrolled keys, confidential computing). */
export const DEFAULT_EXCLUDED_FEATURES = ['requires-smm', 'secure-boot', 'enrolled-keys', 'amd-sev-es', 'amd-sev-snp', 'intel-tdx'];

export function selectFirmware(descriptors: readonly FirmwareDescriptor[], q: FirmwareQuery): FirmwareDescriptor | undefined {
  const arch = q.architecture ?? 'x86_64';
  const exclude = q.excludeFeatures ?? DEFAULT_EXCLUDED_FEATURES;
  return descriptors.find(
    (d) =>
      d.interfaceTypes.includes(q.interface) &&
      d.mapping.device !== 'kernel' &&
      d.targets.some((t) => t.architecture === arch && t.machines.some((m) => globMatch(m, q.machine))) &&
      (q.features ?? []).every((f) => d.features.includes(f)) &&
      !d.features.some((f) => exclude.includes(f)),
  );
}

export function firmwareFromDescriptor(d: FirmwareDescriptor): QemuFirmware {
  const m = d.mapping;
  if (m.device === 'memory') return { kind: 'bios', name: d.name, path: m.filename };
  if (m.device === 'flash') {
    return {
      kind: 'flash',
      name: d.name,
      code: m.executable.filename,
      format: m.executable.format,
      varsTemplate: m.mode === 'split' ? m.nvramTemplate?.filename : undefined,
      varsFormat: m.nvramTemplate?.format,
    };
  }
  throw new BootgateError('E_CONFIG', `firmware descriptor ${d.path} maps a kernel, which bootgate cannot boot`, { hint: 'pick a flash or memory descriptor' });
}

/** Fixtures that are whole BIOS images QEMU can take as -bios (kernels, modules and QEMU itself are not). */
export const QEMU_BIOS_FIXTURES = ['seabios', 'seabios-256k'] as const;

/** Names that mean "ask the descriptors", with the interface they ask for. */
const DESCRIPTOR_NAMES: Record<string, string> = { ovmf: 'uefi', uefi: 'uefi' };

export interface ResolveOptions {
  /** The concrete machine type for descriptor matching (from `-machine help`). */
  machine: () => string;
  discover?: () => FirmwareDescriptor[];
}

/**
 * A BootRequest's firmware for QEMU: `firmwareFile` (-bios), a BIOS fixture name (-bios with the
 * verified cached file), `ovmf`/`uefi` (descriptors), or the path of a descriptor file.
 */
export async function resolveQemuFirmware(req: { firmware?: string; firmwareFile?: string; flashVars?: string }, options: ResolveOptions): Promise<QemuFirmware> {
  if (req.firmwareFile) {
    if (!existsSync(req.firmwareFile)) throw new BootgateError('E_CONFIG', `firmware file ${req.firmwareFile} does not exist`, { hint: 'pass the path of a raw firmware image' });
    // With a VARS image: pflash CODE (read-only) + a copy of VARS, as the own VMM's --flash-vars.
    if (req.flashVars) return { kind: 'flash', name: basename(req.firmwareFile), code: req.firmwareFile, format: 'raw', varsTemplate: req.flashVars, varsFormat: 'raw' };
    return { kind: 'bios', name: basename(req.firmwareFile), path: req.firmwareFile };
  }
  const name = req.firmware ?? 'seabios-256k';
  if (name.endsWith('.json')) return firmwareFromDescriptor(parseDescriptor(JSON.parse(readFileSync(name, 'utf8')), name));
  const fixtures = QEMU_BIOS_FIXTURES.filter((f) => f in loadManifest().artifacts);
  if ((fixtures as readonly string[]).includes(name)) return { kind: 'bios', name, path: await resolveFixture(name) };
  if (name === 'ovmf-2m-bios') return { kind: 'bios', name, path: await resolveFixture(FIRMWARES[name]) };
  // The pinned OVMF builds (ovmf-4m, ovmf-2m): pflash CODE read-only + a copy of the pinned VARS,
  // the same bytes the own VMM maps, so both stacks boot one firmware.
  const varsFixture = OVMF_VARS_FIXTURES[name as FirmwareName];
  if (varsFixture !== undefined) {
    const [code, vars] = await Promise.all([resolveFixture(FIRMWARES[name as FirmwareName]), resolveFixture(varsFixture)]);
    return { kind: 'flash', name, code, format: 'raw', varsTemplate: vars, varsFormat: 'raw' };
  }
  const iface = DESCRIPTOR_NAMES[name];
  if (iface) {
    const machine = options.machine();
    const found = selectFirmware((options.discover ?? discoverFirmware)(), { interface: iface, machine });
    if (!found) {
      throw new BootgateError('E_FIXTURE', `no QEMU firmware descriptor offers ${iface} for ${machine} without ${DEFAULT_EXCLUDED_FEATURES.join('/')}`, {
        hint: `install the firmware package (Debian: apt-get install ovmf) or add a descriptor under ${descriptorDirs()[2]![0]}`,
      });
    }
    return firmwareFromDescriptor(found);
  }
  throw new BootgateError('E_CONFIG', `unknown firmware ${JSON.stringify(name)} for QEMU`, {
    hint: `use a fixture (${[...fixtures, ...Object.keys(OVMF_VARS_FIXTURES), 'ovmf-2m-bios'].join(', ')}), ${Object.keys(DESCRIPTOR_NAMES).join('/')} (QEMU firmware descriptors), a descriptor .json path, or --firmware-file PATH`,
  });
}
