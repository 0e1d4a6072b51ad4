// The configuration of one VM, validated once at the edge (CLI or harness): a bad value gives one
// clear line naming the option, the value received and what is expected.

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BootgateError, configError } from './errors.js';
import { SECTOR_SIZE } from './devices/ide/block-backend.js';
import { parseTestBars } from './devices/pci/pci-test-device.js';
import { FOUR_GIB, MAX_RAM_SIZE, MiB, MIN_RAM_SIZE, PC_LOW_RAM_MAX } from './layout.js';
import { parseQuirks, type QuirkName } from './quirks.js';

/** Firmware names the `pc` machine knows, mapped to their fixture names. */
export const FIRMWARES = {
  seabios: 'seabios',
  'seabios-256k': 'seabios-256k',
  'ovmf-4m': 'ovmf-code-4m',
  'ovmf-2m': 'ovmf-code-2m',
  // OVMF's 2 MiB CODE+VARS image mapped as a BIOS ROM (QEMU's -bios): no flash, so OVMF keeps its
  // variables in RAM only (the uefi-boot suite shows a variable lost across a fresh start).
  'ovmf-2m-bios': 'ovmf-combined-2m',
} as const;
/** OVMF's variable store template per build (pflash VARS; a per-VM copy is what the guest writes). */
export const OVMF_VARS_FIXTURES: Partial<Record<FirmwareName, string>> = { 'ovmf-4m': 'ovmf-vars-4m', 'ovmf-2m': 'ovmf-vars-2m' };
export type FirmwareName = keyof typeof FIRMWARES;

export const TARGETS = ['vmm:kvm'] as const;
export const MAX_VCPUS = 255;
/** PCI slots 2..29 are free for test devices on `pc`. */
export const MAX_PCI_TEST_DEVICES = 28;
export const MIN_PHYS_BITS = 32;
export const MAX_PHYS_BITS = 52;
/** The largest 64-bit aperture the option takes: 2^52 bytes, the widest physical address space, in MiB. */
export const MAX_PCI_MMIO64_MB = 2 ** (MAX_PHYS_BITS - 20);

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
  /**
   * Machine resets the run allows; one more ends it with E_GUEST (a reset loop), so a guest that
   * keeps resetting fails at once instead of at the timeout. Undefined: no limit.
   */
  maxResets?: number;
  eventsFile?: string;
  /** Echo the 0x402 debug console to stderr. */
  debugcon: boolean;
  /** OVMF: where the guest's variable store is kept between runs (loaded if it exists, saved at reset and exit). */
  varsFile?: string;
  /** With firmwareFile: a VARS image, so the firmware boots as pflash CODE + VARS (as OVMF does). */
  flashVarsTemplate?: string;
  /** PCI test devices, one BAR list each (e.g. "mem64pref:32G,mem32:512M"), at 00:02.0 onwards. */
  pciTestDevices: string[];
  /** CPUID 0x80000008 physical address bits; undefined keeps what KVM reports for the host. */
  physBits?: number;
  /** Most RAM below 4 GiB, MiB (QEMU's max-ram-below-4g): moves the start of the 32-bit PCI window. */
  lowMemMiB?: number;
  /** fw_cfg etc/reserved-memory-end: firmware keeps 64-bit BARs above it. */
  reservedMemoryEnd?: number;
  /** fw_cfg opt/ovmf/X-PciMmio64Mb: the size of OVMF's 64-bit PCI aperture, MiB (OVMF's default 32 GiB otherwise). */
  pciMmio64Mb?: number;
  /** Direct Linux boot through fw_cfg and linuxboot_dma.bin: bzImage, initrd, command line. */
  kernel?: string;
  initrd?: string;
  append?: string;
  /** Path of QEMU's linuxboot_dma.bin option ROM (resolved from the fixtures by the CLI). */
  linuxbootRom?: string;
  /** The interrupt test device at 00:1f.0 (INTx + MSI, guests/irqtest). */
  irqTestDevice: boolean;
  /** Sample vCPU 0's instruction pointer every N ms (a guest profile, reported as `rip-samples`). */
  sampleRipMs?: number;
  /** --vcpu-threads as given (undefined: the default, vcpuRunners). */
  vcpuThreads?: VcpuThreads;
  /** A raw disk image for the IDE primary master, used copy-on-write (the file is never written). */
  disk?: string;
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
  maxResets?: number | string;
  events?: string;
  debugcon?: boolean;
  pciTestDevice?: string[];
  physBits?: number | string;
  lowMem?: number | string;
  reservedMemoryEnd?: number | string;
  pciMmio64Mb?: number | string;
  sampleRip?: number | string;
  vcpuThreads?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  irqTestDevice?: boolean;
  vars?: string;
  flashVars?: string;
  disk?: string;
}

function intOption(name: string, raw: number | string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n)) throw configError(name, raw, 'an integer');
  return n;
}

function varsOption(vars: string | undefined, firmware: FirmwareName | undefined): string | undefined {
  if (vars !== undefined && (firmware === undefined || OVMF_VARS_FIXTURES[firmware] === undefined)) {
    throw new BootgateError('E_CONFIG', '--vars needs an OVMF firmware', { hint: '--firmware ovmf-4m or ovmf-2m' });
  }
  // The store is written at the end of the run: a path that cannot take it is refused before the boot.
  if (vars !== undefined) writableFilePath('--vars', vars, 'pass a file path (an existing store is read, a new one is created from the template)');
  return vars;
}

function flashVarsOption(flashVars: string | undefined, firmwareFile: string | undefined): string | undefined {
  if (flashVars === undefined) return undefined;
  if (firmwareFile === undefined) {
    throw new BootgateError('E_CONFIG', '--flash-vars needs --firmware-file (the built-in OVMF firmwares bring their own VARS)', { hint: 'pass --firmware-file CODE_IMAGE' });
  }
  return readableFile('--flash-vars', flashVars);
}

function readableFile(option: string, path: string): string {
  if (!existsSync(path)) throw new BootgateError('E_CONFIG', `${option} ${path} does not exist`, { hint: `check the ${option} path` });
  if (statSync(path).isDirectory()) throw new BootgateError('E_CONFIG', `${option} ${path} is a directory`, { hint: `pass a file to ${option}` });
  return path;
}

/** Offset and value of the Linux boot protocol's header magic "HdrS" (Documentation/arch/x86/boot.rst). */
const BZIMAGE_MAGIC_OFFSET = 0x202;
const BZIMAGE_MAGIC = 'HdrS';

/** A kernel must be a bzImage: anything else fails deep inside fw_cfg's Linux loader, after the VM is built. */
function bzImage(path: string): string {
  readableFile('--kernel', path);
  const head = new Uint8Array(BZIMAGE_MAGIC_OFFSET + BZIMAGE_MAGIC.length);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (n < head.length || new TextDecoder().decode(head.subarray(BZIMAGE_MAGIC_OFFSET)) !== BZIMAGE_MAGIC) {
    throw new BootgateError('E_CONFIG', `--kernel ${path} is not a bzImage (no "HdrS" boot header at 0x202)`, { hint: 'pass an x86 bzImage (e.g. /boot/vmlinuz-*), not a vmlinux ELF or a compressed archive' });
  }
  return path;
}

/** The IDE disk: a raw image of whole 512-byte sectors (checked here, not when the VM is half built). */
function diskOption(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  readableFile('--disk', path);
  const size = statSync(path).size;
  if (size === 0 || size % SECTOR_SIZE !== 0) {
    throw new BootgateError('E_CONFIG', `--disk ${path} is ${size} bytes, not a whole number of ${SECTOR_SIZE}-byte sectors`, { hint: 'pass a raw disk image (truncate -s to a sector multiple if it is one)' });
  }
  return path;
}

/** A file the run writes: its directory must exist and the path must not be a directory. */
function writableFilePath(option: string, path: string, directoryHint: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new BootgateError('E_CONFIG', `${option} ${path}: the directory ${dir} does not exist`, { hint: `create it (mkdir -p ${dir}) or pass a path in an existing directory` });
  }
  if (existsSync(path) && statSync(path).isDirectory()) throw new BootgateError('E_CONFIG', `${option} ${path} is a directory`, { hint: directoryHint });
}

/** The event stream is opened when the VM starts: a path that cannot take it is refused first. */
function eventsOption(events: string | undefined): string | undefined {
  if (events !== undefined) writableFilePath('--events', events, 'pass a file path for the JSON-lines stream');
  return events;
}

/** Quirks that act on one kind of firmware mapping, and what they need. */
const PFLASH_QUIRKS: readonly QuirkName[] = ['romd-unmapped', 'romd-never-remapped'];
const BIOS_IMAGE_QUIRKS: readonly QuirkName[] = ['no-high-bios-copy', 'vmd-low-bios-only'];

/** A quirk that cannot act on this firmware would make a known-bad run pass for the wrong reason: refuse it. */
function checkQuirksFit(quirks: readonly QuirkName[], pflash: boolean, disk: boolean): void {
  for (const q of quirks) {
    if (!disk && q === 'scrub-irr-live-vector') {
      throw new BootgateError('E_CONFIG', `--quirk ${q} acts on IRQ 14, the IDE disk's, and this boot has no disk`, { hint: 'add --disk IMAGE' });
    }
    if (!pflash && PFLASH_QUIRKS.includes(q)) {
      throw new BootgateError('E_CONFIG', `--quirk ${q} acts on pflash firmware, and this boot has none`, { hint: 'add --firmware ovmf-4m (or ovmf-2m), or --firmware-file CODE --flash-vars VARS' });
    }
    if (pflash && BIOS_IMAGE_QUIRKS.includes(q)) {
      throw new BootgateError('E_CONFIG', `--quirk ${q} acts on a BIOS image's high copy, and pflash firmware has none`, { hint: 'use --firmware seabios or seabios-256k with this quirk' });
    }
  }
}

function linuxOptions(raw: RawVmOptions): Pick<VmConfig, 'kernel' | 'initrd' | 'append'> {
  if (raw.kernel === undefined) {
    if (raw.initrd !== undefined || raw.append !== undefined) {
      throw new BootgateError('E_CONFIG', '--initrd and --append need --kernel', { hint: 'pass --kernel PATH (a bzImage)' });
    }
    return {};
  }
  return {
    kernel: bzImage(raw.kernel),
    initrd: raw.initrd === undefined ? undefined : readableFile('--initrd', raw.initrd),
    append: raw.append ?? '',
  };
}

export const VCPU_THREADS = ['native', 'worker'] as const;
export type VcpuThreads = (typeof VCPU_THREADS)[number];

/**
 * What enters the vCPUs (docs/vcpu-layer.md): 'native', a native thread per vCPU whose exits the
 * device owner serves (the default at SMP > 1, and at SMP 1 when asked for); 'worker', a
 * JavaScript worker per vCPU (SMP > 1 only, when asked for); 'owner', the device owner runs vCPU 0
 * itself (the default at SMP 1).
 */
export function vcpuRunners(config: Pick<VmConfig, 'smp' | 'vcpuThreads'>): 'native' | 'worker' | 'owner' {
  if (config.vcpuThreads === 'native') return 'native';
  if (config.smp === 1) return 'owner';
  return config.vcpuThreads ?? 'native';
}

function vcpuThreads(raw: string | undefined): VcpuThreads | undefined {
  if (raw === undefined) return undefined;
  if (!(VCPU_THREADS as readonly string[]).includes(raw)) throw configError('--vcpu-threads', raw, VCPU_THREADS.join(' or '));
  return raw as VcpuThreads;
}

function sampleRipMs(raw: number | string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = intOption('--sample-rip', raw, 0);
  if (ms < 1 || ms > 10_000) throw configError('--sample-rip', raw, '1..10000 milliseconds');
  return ms;
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
  const maxResets = raw.maxResets === undefined ? undefined : intOption('--max-resets', raw.maxResets, 0);
  if (maxResets !== undefined && maxResets < 0) throw configError('--max-resets', raw.maxResets, 'a count of 0 or more');
  for (const spec of raw.pciTestDevice ?? []) parseTestBars(spec);
  if ((raw.pciTestDevice ?? []).length > MAX_PCI_TEST_DEVICES) {
    throw configError('--pci-test-device', raw.pciTestDevice!.length, `at most ${MAX_PCI_TEST_DEVICES} devices`);
  }
  const physBits = raw.physBits === undefined ? undefined : intOption('--phys-bits', raw.physBits, 0);
  if (physBits !== undefined && (physBits < MIN_PHYS_BITS || physBits > MAX_PHYS_BITS)) {
    throw configError('--phys-bits', raw.physBits, `${MIN_PHYS_BITS}..${MAX_PHYS_BITS}`);
  }
  const lowMemMiB = raw.lowMem === undefined ? undefined : intOption('--low-mem', raw.lowMem, 0);
  if (lowMemMiB !== undefined && (lowMemMiB * MiB < MIN_RAM_SIZE || lowMemMiB * MiB > PC_LOW_RAM_MAX)) {
    throw configError('--low-mem', raw.lowMem, `${MIN_RAM_SIZE / MiB}..${PC_LOW_RAM_MAX / MiB} MiB`);
  }
  let reservedMemoryEnd: number | undefined;
  if (raw.reservedMemoryEnd !== undefined) {
    reservedMemoryEnd = Number(raw.reservedMemoryEnd);
    if (!Number.isSafeInteger(reservedMemoryEnd) || reservedMemoryEnd < FOUR_GIB) {
      throw configError('--reserved-memory-end', raw.reservedMemoryEnd, 'an address at or above 4 GiB (e.g. 0x1000000000)');
    }
  }
  const pciMmio64Mb = raw.pciMmio64Mb === undefined ? undefined : intOption('--pci-mmio64-mb', raw.pciMmio64Mb, 0);
  // OVMF reads the item as a decimal count of MiB and aligns the aperture to its size.
  if (pciMmio64Mb !== undefined && (pciMmio64Mb < 1 || pciMmio64Mb > MAX_PCI_MMIO64_MB)) {
    throw configError('--pci-mmio64-mb', raw.pciMmio64Mb, `1..${MAX_PCI_MMIO64_MB} MiB (OVMF's 64-bit PCI aperture)`);
  }
  const quirks = parseQuirks(raw.quirks ?? []);
  checkQuirksFit(quirks, (firmware !== undefined && OVMF_VARS_FIXTURES[firmware] !== undefined) || raw.flashVars !== undefined, raw.disk !== undefined);
  return {
    target,
    firmware,
    firmwareFile: raw.firmwareFile,
    smp,
    memMiB,
    quirks,
    timeoutS,
    until: raw.until,
    ...(maxResets === undefined ? {} : { maxResets }),
    eventsFile: eventsOption(raw.events),
    debugcon: raw.debugcon ?? false,
    pciTestDevices: raw.pciTestDevice ?? [],
    physBits,
    lowMemMiB,
    reservedMemoryEnd,
    pciMmio64Mb,
    sampleRipMs: sampleRipMs(raw.sampleRip),
    ...(raw.vcpuThreads === undefined ? {} : { vcpuThreads: vcpuThreads(raw.vcpuThreads) }),
    irqTestDevice: raw.irqTestDevice ?? false,
    varsFile: varsOption(raw.vars, firmware),
    flashVarsTemplate: flashVarsOption(raw.flashVars, raw.firmwareFile),
    disk: diskOption(raw.disk),
    ...linuxOptions(raw),
  };
}
