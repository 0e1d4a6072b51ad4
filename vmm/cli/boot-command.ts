// `bootgate boot`: boot one machine in this process's worker threads, print the guest console,
// write the JSON-lines event stream, exit 0 when --until matched (or the guest powered off with
// status 0 and no --until was given), non-zero with a diagnostic otherwise. Other targets
// (qemu:<accel>, <target>@lab) are handed to boot-elsewhere.ts.

import { parseArgs } from 'node:util';
import { resolveFixture } from '../../fixtures/fixtures.js';
import { hostKvmCapability } from '../../lab/capability.js';
import { probeAccelerator } from '../accel/open.js';
import { QUIRKS } from '../quirks.js';
import { FIRMWARES, OVMF_VARS_FIXTURES, type VmConfig, validateVmConfig } from '../config.js';
import type { Diagnostic } from '../events.js';
import { BootgateError } from '../errors.js';
import { checkFirmwareImage } from '../machine/firmware-image.js';
import { runVm } from '../supervisor.js';
import { guestOf } from './guest-option.js';
import { pvmBootNote, pvmErrorHint } from './pvm-note.js';

export const BOOT_USAGE = `usage: bootgate boot [--target vmm:kvm|qemu:ACCEL|vmm:kvm@lab|qemu:ACCEL@lab] [--guest seabios|seabios-256k|debian-probe|debian-irqtest [--reboot bios|pci|kbd|acpi|triple] [--reboots N] [--irqtest MODE,COUNT,HZ]]
                    [--firmware seabios|seabios-256k|ovmf-4m|ovmf-2m|ovmf-2m-bios [--vars FILE] | --firmware-file PATH [--flash-vars VARS_IMAGE]]
                    [--smp N] [--mem MiB] [--quirk NAME]... [--timeout S] [--until REGEX] [--max-resets N]
                    [--events FILE] [--debugcon]
                    [--pci-test-device BARS]... [--phys-bits N] [--low-mem MiB] [--reserved-memory-end ADDR] [--pci-mmio64-mb MiB]
                    [--sample-rip MS] [--irq-test-device] [--kernel BZIMAGE [--initrd FILE] [--append CMDLINE]] [--disk RAW_IMAGE]
                    [--vcpu-threads native|worker]
  --target vmm:kvm (default) boots in this process; qemu:ACCEL (tcg, kvm, ...) boots QEMU on the same machine,
  without the own-VMM options --quirk --vars --debugcon --low-mem --reserved-memory-end --sample-rip --irq-test-device --max-resets --vcpu-threads;
  --vcpu-threads: a native thread per vCPU (the default at SMP > 1; at SMP 1 the device owner runs vCPU 0 unless
  native is asked for) or, at SMP > 1, a JavaScript worker per vCPU;
  --max-resets N: one machine reset more ends the run (E_GUEST, a reset loop) instead of its timeout;
  --disk: the IDE primary master, copy-on-write (guest writes stay in memory; the image is never written);
  --flash-vars: boot --firmware-file as pflash CODE with (a copy of) this VARS image below it, as OVMF;
  TARGET@lab runs this command with TARGET inside the nested lab (see bootgate lab).`;

/** The target this process boots itself; every other one is boot-elsewhere.ts's. */
const OWN_VMM_TARGET = 'vmm:kvm';

/** QEMU's linuxboot_dma.bin option ROM, from Debian's qemu-system-data. */
const LINUXBOOT_FIXTURE = 'linuxboot-dma';

export async function firmwarePathFor(config: VmConfig): Promise<string> {
  if (config.firmwareFile) {
    checkFirmwareImage(config.firmwareFile);
    return config.firmwareFile;
  }
  return resolveFixture(FIRMWARES[config.firmware!]);
}

export function formatDiagnostic(d: Diagnostic): string {
  const lines = [`diagnostic: ${d.reason}`];
  for (const r of d.registers) {
    lines.push(`  vCPU ${r.vcpu} registers: ${Object.entries(r.regs).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  if (d.lastExits.length > 0) {
    lines.push('  last exits:');
    for (const e of d.lastExits.slice(-12)) lines.push(`    vCPU ${e.vcpu} ${e.kind} ${e.detail}`);
  }
  for (const dev of d.devices ?? []) lines.push(`  ${dev}`);
  lines.push('  serial tail:', ...d.serialTail.split('\n').slice(-15).map((l) => `    | ${l}`));
  return lines.join('\n');
}

const BOOT_OPTIONS = {
  target: { type: 'string' },
  firmware: { type: 'string' },
  'firmware-file': { type: 'string' },
  smp: { type: 'string' },
  mem: { type: 'string' },
  quirk: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  until: { type: 'string' },
  'max-resets': { type: 'string' },
  events: { type: 'string' },
  debugcon: { type: 'boolean' },
  'pci-test-device': { type: 'string', multiple: true },
  'phys-bits': { type: 'string' },
  'low-mem': { type: 'string' },
  'reserved-memory-end': { type: 'string' },
  'pci-mmio64-mb': { type: 'string' },
  'sample-rip': { type: 'string' },
  'vcpu-threads': { type: 'string' },
  guest: { type: 'string' },
  'irq-test-device': { type: 'boolean' },
  vars: { type: 'string' },
  'flash-vars': { type: 'string' },
  reboot: { type: 'string' },
  reboots: { type: 'string' },
  irqtest: { type: 'string' },
  kernel: { type: 'string' },
  initrd: { type: 'string' },
  append: { type: 'string' },
  disk: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * The parsed command line, and its tokens (for rewriting it to run in the lab). An option that
 * takes one value and is given twice is refused: parseArgs would keep the last one silently.
 */
export function parseBootArgs(argv: string[]) {
  const parsed = parseArgs({ args: argv, options: BOOT_OPTIONS, strict: true, tokens: true });
  const seen = new Map<string, string | undefined>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    const spec = BOOT_OPTIONS[t.name as keyof typeof BOOT_OPTIONS] as { multiple?: boolean };
    if (spec.multiple) continue;
    if (seen.has(t.name)) {
      const values = [seen.get(t.name), t.value].filter((v) => v !== undefined).map((v) => JSON.stringify(v));
      throw new BootgateError('E_CONFIG', `--${t.name} given twice${values.length ? ` (${values.join(' and ')})` : ''}`, { hint: `pass --${t.name} once` });
    }
    seen.set(t.name, t.value);
  }
  return parsed;
}

export type BootValues = ReturnType<typeof parseBootArgs>['values'];

/** Where a boot's console and messages go: this process's streams, or a lab series' files. */
export interface BootOutput {
  stdout(text: string): void;
  stderr(text: string): void;
  /**
   * The process runs other boots before and after this one (targets/vmm/lab-series.ts): its
   * start-up time and its peak RSS are not this boot's, so the event stream leaves them out.
   */
  sharedProcess?: boolean;
}

const PROCESS_OUTPUT: BootOutput = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/** How one boot ended: its exit code, and the threads that never stopped (the process must end to end them). */
export interface BootOutcome {
  code: number;
  stuckThreads: string[];
}

export async function bootCommand(argv: string[]): Promise<number> {
  const { code, stuckThreads } = await bootOnce(argv, PROCESS_OUTPUT);
  if (stuckThreads.length > 0) {
    // Their threads would keep the process alive for good: end it here, the reports written.
    process.stderr.write(`bootgate: ending the process: ${stuckThreads.join(', ')} never stopped\n`);
    process.exit(code);
  }
  return code;
}

/** One `boot` command line, its output to `out`; never ends the process (bootCommand does). */
export async function bootOnce(argv: string[], out: BootOutput): Promise<BootOutcome> {
  const { values, tokens } = parseBootArgs(argv);
  if (values.help) {
    const quirks = Object.entries(QUIRKS).map(([name, what]) => `  ${name}: ${what}`).join('\n');
    out.stdout(`${BOOT_USAGE}\nquirks (named VMM bugs, off by default):\n${quirks}\n`);
    return { code: 0, stuckThreads: [] };
  }
  if (values.target !== undefined && values.target !== OWN_VMM_TARGET) {
    // QEMU and the lab's driver load only for a boot that goes there (main.ts says why).
    const { bootElsewhere, elsewhereTarget } = await import('./boot-elsewhere.js');
    const elsewhere = elsewhereTarget(values.target);
    if (elsewhere) return { code: await bootElsewhere(values, tokens, elsewhere), stuckThreads: [] };
  }
  const guest = await guestOf(values);
  const config = validateVmConfig({
    target: values.target,
    firmware: values.firmware ?? guest?.firmware,
    firmwareFile: values['firmware-file'],
    smp: values.smp,
    mem: values.mem,
    quirks: values.quirk,
    timeout: values.timeout,
    until: values.until,
    maxResets: values['max-resets'],
    events: values.events,
    debugcon: values.debugcon,
    pciTestDevice: values['pci-test-device'],
    physBits: values['phys-bits'],
    lowMem: values['low-mem'],
    reservedMemoryEnd: values['reserved-memory-end'],
    pciMmio64Mb: values['pci-mmio64-mb'],
    sampleRip: values['sample-rip'],
    vcpuThreads: values['vcpu-threads'],
    kernel: values.kernel ?? guest?.kernel,
    initrd: values.initrd ?? guest?.initrd,
    append: guest ? guest.append : values.append,
    irqTestDevice: values['irq-test-device'] ?? guest?.irqTestDevice,
    vars: values.vars,
    flashVars: values['flash-vars'],
    disk: values.disk,
  });
  if (config.kernel) config.linuxbootRom = await resolveFixture(LINUXBOOT_FIXTURE);
  const firmwarePath = await firmwarePathFor(config);
  probeAccelerator(config.target);
  const kvm = hostKvmCapability();
  const note = pvmBootNote(config, kvm);
  if (note) out.stderr(`${note}\n`);
  const varsFixture = config.firmware ? OVMF_VARS_FIXTURES[config.firmware] : undefined;
  const varsTemplate = varsFixture ? await resolveFixture(varsFixture) : config.flashVarsTemplate;
  const result = await runVm(
    config,
    firmwarePath,
    {
      console: (t) => out.stdout(t),
      debugcon: config.debugcon ? (t) => out.stderr(t) : undefined,
      sharedProcess: out.sharedProcess,
    },
    varsTemplate,
  );
  if (result.error) {
    const hint = pvmErrorHint(result.error, kvm);
    out.stderr(`\nbootgate: ${result.error.code}: ${result.error.message}${hint ? ` (fix: ${hint})` : ''}\n`);
  }
  if (result.diagnostic) out.stderr(`\n${formatDiagnostic(result.diagnostic)}\n`);
  out.stderr(
    `\nbootgate: ${result.status} after ${(result.wallMs / 1000).toFixed(2)} s, ${result.profile.totalExits} exits, ${result.resets} resets, exit code ${result.exitCode}\n`,
  );
  return { code: result.exitCode, stuckThreads: result.stuckThreads };
}
