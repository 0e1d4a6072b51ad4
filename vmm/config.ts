// The configuration of one VM, validated once at the edge (CLI or harness): a bad value gives one
// clear line naming the option, the value received and what is expected.

import { BootgateError, configError } from './errors.js';
import { MAX_RAM_SIZE, MiB, MIN_RAM_SIZE } from './layout.js';
import { parseQuirks, type QuirkName } from './quirks.js';

/** Firmware names the `pc` machine knows, mapped to their fixture names. */
export const FIRMWARES = {
  seabios: 'seabios',
  'seabios-256k': 'seabios-256k',
} as const;
export type FirmwareName = keyof typeof FIRMWARES;

export const TARGETS = ['vmm:kvm'] as const;
export const MAX_VCPUS = 255;

export interface VmConfig {
  target: string;
  /** A named firmware (resolved through fixtures) ... */
  firmware?: FirmwareName;
  /** ... or a raw image file mapped to end at 4 GiB (probe and bench guests). */
  firmwareFile?: string;
  smp: number;
  memMiB: number;
  quirks: QuirkName[];
  /** Seconds before the VM is stopped with a diagnostic. */
  timeoutS: number;
  /** Stop successfully when the console matches. */
  until?: string;
  eventsFile?: string;
  /** Echo the 0x402 debug console to stderr. */
  debugcon: boolean;
}

export interface RawVmOptions {
  target?: string;
  firmware?: string;
  firmwareFile?: string;
  smp?: number | string;
  mem?: number | string;
  quirks?: string[];
  timeout?: number | string;
  until?: string;
  events?: string;
  debugcon?: boolean;
}

function intOption(name: string, raw: number | string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n)) throw configError(name, raw, 'an integer');
  return n;
}

export function validateVmConfig(raw: RawVmOptions): VmConfig {
  const target = raw.target ?? 'vmm:kvm';
  if (!(TARGETS as readonly string[]).includes(target)) {
    throw new BootgateError('E_CONFIG', `unknown target ${JSON.stringify(target)} for the own VMM`, {
      hint: `use one of: ${TARGETS.join(', ')}`,
    });
  }
  if (raw.firmware !== undefined && raw.firmwareFile !== undefined) {
    throw new BootgateError('E_CONFIG', '--firmware and --firmware-file are exclusive', { hint: 'pass only one' });
  }
  let firmware: FirmwareName | undefined;
  if (raw.firmwareFile === undefined) {
    const f = raw.firmware ?? 'seabios-256k';
    if (!(f in FIRMWARES)) {
      throw new BootgateError('E_CONFIG', `unknown firmware ${JSON.stringify(f)}`, {
        hint: `use one of: ${Object.keys(FIRMWARES).join(', ')} (or --firmware-file PATH for a raw image)`,
      });
    }
    firmware = f as FirmwareName;
  }
  const smp = intOption('--smp', raw.smp, 1);
  if (smp < 1 || smp > MAX_VCPUS) throw configError('--smp', raw.smp, `1..${MAX_VCPUS} vCPUs`);
  const memMiB = intOption('--mem', raw.mem, 512);
  if (memMiB * MiB < MIN_RAM_SIZE) {
    throw new BootgateError('E_CONFIG', `--mem ${memMiB} MiB is too small: SeaBIOS needs at least ${MIN_RAM_SIZE / MiB} MiB`, {
      hint: `pass --mem ${MIN_RAM_SIZE / MiB} or more`,
    });
  }
  if (memMiB * MiB > MAX_RAM_SIZE) throw configError('--mem', raw.mem, `at most ${MAX_RAM_SIZE / MiB} MiB`);
  const timeoutS = intOption('--timeout', raw.timeout, 120);
  if (timeoutS < 1) throw configError('--timeout', raw.timeout, 'a positive number of seconds');
  if (raw.until !== undefined) {
    try {
      new RegExp(raw.until);
    } catch (e) {
      throw new BootgateError('E_CONFIG', `--until ${JSON.stringify(raw.until)} is not a valid regular expression`, { cause: e });
    }
  }
  return {
    target,
    firmware,
    firmwareFile: raw.firmwareFile,
    smp,
    memMiB,
    quirks: parseQuirks(raw.quirks ?? []),
    timeoutS,
    until: raw.until,
    eventsFile: raw.events,
    debugcon: raw.debugcon ?? false,
  };
}
