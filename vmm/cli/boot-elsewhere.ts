// `bootgate boot` on the targets that do not run in this process: `qemu:<accel>` (one
// qemu-system-x86_64 on the own VMM's machine, through the qemu target's bootOnQemu, targets/qemu/) and
// `<target>@lab` (the same `bootgate boot` command line, with the target's @lab suffix dropped, run
// inside a nested lab VM by this very CLI build). The `--guest` names resolve the same way on every
// target (guests/catalog.ts).
// qemu: COM1 is printed as it arrives, then a diagnostic (the registers; the serial tail is already
// on screen) and a one-line summary; --events gets the BootResult's events as JSON lines. Flags
// only the own VMM has (quirks, its own devices and memory-map knobs) are refused by name.
// @lab: the inner command runs in the repository root (the lab's writable share), so path
// arguments are made absolute first, and paths the lab cannot see (its /tmp, /run, ... are empty
// tmpfs) are refused; --events outside the repository is written inside and copied out.
// Left out: @lab with several boots per lab VM (targets/vmm/lab-batch.ts does that).

import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest, resolveFixture } from '../../fixtures/fixtures.js';
import { checkGuestRequest, type RebootMethod } from '../../guests/catalog.js';
import { projectRoot } from '../../lab/project.js';
import { defaultLabQemuKind } from '../../lab/qemu.js';
import { runInLab } from '../../lab/run.js';
import { LAB_QEMU_KIND_ENV, needsPatchedLab } from '../../targets/target.js';
import { LAB_SCRATCH_DIRS } from '../../lab/scripts.js';
import { LAB_ENV, LAB_SUFFIX, labUnavailable } from '../../lab/target.js';
import type { BootResult } from '../../targets/boot-result.js';
import { ACCEL_NAME } from '../../targets/qemu/args.js';
import { bootOnQemu } from '../../targets/qemu/boot.js';
import { FIRMWARES, OVMF_VARS_FIXTURES, validateVmConfig } from '../config.js';
import { BootgateError } from '../errors.js';
import type { BootValues } from './boot-command.js';
import { checkGuestOptions, guestOf, guestReboots } from './guest-option.js';

/** Where a `--target` runs when not in this process. */
export type ElsewhereTarget = { kind: 'qemu'; accel: string } | { kind: 'lab'; inner: string };

/** One `parseArgs` token (node:util, `tokens: true`), as far as the rewrite reads it. */
export interface ArgToken {
  kind: string;
  name?: string;
  rawName?: string;
  value?: string;
  inlineValue?: boolean;
}

/** Options only the own VMM has: quirk switches, its own devices and memory-map knobs, its OVMF store. */
export const OWN_VMM_ONLY = ['quirk', 'irq-test-device', 'debugcon', 'sample-rip', 'low-mem', 'reserved-memory-end', 'vars', 'max-resets', 'vcpu-threads'] as const;
/** Options naming host files the command reads (or, --vars, writes). */
const PATH_OPTIONS = ['firmware-file', 'flash-vars', 'kernel', 'initrd', 'vars', 'disk'] as const;
/** The inner run's own --timeout when none is given (vmm/config.ts's default). */
const DEFAULT_TIMEOUT_S = 120;
/** Lab time beyond the inner --timeout: the lab boot, Node's start under nested TCG, the VMM's own grace to stop. */
const LAB_OVERHEAD_S = 300;
/** Lab memory: its default, or the guest's --mem plus room for the lab kernel and Node. */
const LAB_MIN_MEM_MIB = 2048;
const LAB_MEM_HEADROOM_MIB = 1024;
const EXIT_TIMEOUT = 124;
const EXIT_FAILED = 1;
/** As bootgate's own bad-input exit (vmm/cli/main.ts). */
const EXIT_BAD_INPUT = 2;
/** This CLI build: the lab runs the same one (the repository and the host root are visible inside). */
const CLI = fileURLToPath(new URL('./main.js', import.meta.url));

const KNOWN_TARGETS = 'vmm:kvm, qemu:<accel> (e.g. qemu:tcg), vmm:kvm@lab or qemu:<accel>@lab';

/** `vmm:kvm` (or none) runs in this process: undefined. Anything else is where to send the boot. */
export function elsewhereTarget(target: string | undefined): ElsewhereTarget | undefined {
  if (target === undefined || target === 'vmm:kvm') return undefined;
  const unknown = () => new BootgateError('E_CONFIG', `unknown target ${JSON.stringify(target)}`, { hint: `use ${KNOWN_TARGETS}` });
  const isLab = target.endsWith(LAB_SUFFIX);
  const name = isLab ? target.slice(0, -LAB_SUFFIX.length) : target;
  if (name !== 'vmm:kvm' && !name.startsWith('qemu:')) throw unknown();
  if (name.startsWith('qemu:') && !ACCEL_NAME.test(name.slice('qemu:'.length))) {
    throw new BootgateError('E_CONFIG', `invalid target ${target}: the accelerator must be a name like tcg, kvm, nvmm, whpx or hvf`, {
      hint: 'use qemu:<accel> with a name from `qemu-system-x86_64 -accel help`',
    });
  }
  if (isLab) return { kind: 'lab', inner: name };
  return { kind: 'qemu', accel: name.slice('qemu:'.length) };
}

/** Refuses, by name, the first option only the own VMM has. */
export function rejectOwnVmmOptions(values: Partial<Record<string, unknown>>, target: string): void {
  const used = OWN_VMM_ONLY.find((name) => values[name] !== undefined);
  if (used === undefined) return;
  throw new BootgateError('E_CONFIG', `--${used} is an own-VMM option; ${target} has no such thing`, {
    hint: `drop --${used}, or use --target vmm:kvm (or vmm:kvm@lab)`,
  });
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** A host path as the lab sees it: absolute; refused when the lab hides it (or, for a written file, cannot write it). */
export function labPath(option: string, value: string, where: { cwd: string; root: string; written?: boolean }): string {
  const path = resolve(where.cwd, value);
  if (isUnder(path, where.root)) return path;
  if (where.written) {
    throw new BootgateError('E_CONFIG', `--${option} ${path} is outside ${where.root}, the only folder the lab can write`, {
      hint: `put the file below ${where.root}`,
    });
  }
  const scratch = LAB_SCRATCH_DIRS.find((d) => isUnder(path, d));
  if (scratch) {
    throw new BootgateError('E_CONFIG', `--${option} ${path} is below ${scratch}, which is an empty tmpfs inside the lab`, {
      hint: `put the file below ${where.root} (or another folder outside ${LAB_SCRATCH_DIRS.join(', ')})`,
    });
  }
  return path;
}

/**
 * The `bootgate boot` arguments to run inside the lab: the same tokens in the same form, with the
 * target's @lab dropped, path options made absolute (the inner cwd is the repository root) and
 * --events pointed at `eventsInside` when given.
 */
export function labArgv(tokens: readonly ArgToken[], opts: { inner: string; cwd: string; root: string; eventsInside?: string }): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    if (t.kind !== 'option') throw new BootgateError('E_CONFIG', `unexpected argument ${JSON.stringify(t.value ?? '--')}`, { hint: 'see bootgate boot --help' });
    const name = t.name!;
    if (t.value === undefined) {
      out.push(t.rawName!);
      continue;
    }
    let value = t.value;
    if (name === 'target') value = opts.inner;
    else if (name === 'events') value = opts.eventsInside ?? labPath(name, value, { ...opts, written: true });
    else if ((PATH_OPTIONS as readonly string[]).includes(name)) value = labPath(name, value, { ...opts, written: name === 'vars' });
    out.push(...(t.inlineValue ? [`${t.rawName}=${value}`] : [t.rawName!, value]));
  }
  return out;
}

function intOf(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return raw !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
}

/**
 * What the inner command would fetch or build, done on the host first: the lab has no network,
 * and building the probe's initramfs is far faster here. Also checks the guest name before a lab boots.
 */
async function prepareForLab(values: BootValues, inner: string): Promise<void> {
  const guest = await guestOf(values);
  if (values['firmware-file'] !== undefined) return;
  const firmware = values.firmware ?? guest?.firmware ?? 'seabios-256k';
  const fixtures = [FIRMWARES[firmware as keyof typeof FIRMWARES] ?? firmware, OVMF_VARS_FIXTURES[firmware as keyof typeof FIRMWARES]];
  if (inner === 'vmm:kvm' && (values.kernel !== undefined || guest?.kernel !== undefined)) fixtures.push('linuxboot-dma');
  const known = loadManifest().artifacts;
  for (const f of fixtures) if (f !== undefined && f in known) await resolveFixture(f);
}

async function bootInLab(values: BootValues, tokens: readonly ArgToken[], target: string, inner: string): Promise<number> {
  const why = labUnavailable();
  if (why) throw new BootgateError('E_CONFIG', `${target}: the lab cannot run here: ${why}`, { hint: `use --target ${inner}, or run bootgate doctor` });
  const root = projectRoot();
  const cwd = process.cwd();
  const eventsHost = values.events === undefined ? undefined : resolve(cwd, values.events);
  // The lab writes only below the repository: an events file elsewhere is written there and copied out.
  const eventsInside =
    eventsHost === undefined || isUnder(eventsHost, root) ? undefined : join(root, 'reports', 'out', 'lab', `boot-${process.pid}-${Date.now()}.jsonl`);
  const args = labArgv(tokens, { inner, cwd, root, eventsInside });
  await prepareForLab(values, inner);
  if (eventsInside) mkdirSync(dirname(eventsInside), { recursive: true });
  // OVMF, and a disk at SMP 2 or more, need the lab's patched QEMU (targets/target.ts
  // needsPatchedLab), built here on first use: one boot asked for by hand is worth the build.
  // Other boots take it too where it can be had (lab/qemu.ts defaultLabQemuKind).
  const firmware = values.firmware ?? (await guestOf(values))?.firmware;
  const qemu = needsPatchedLab({ firmware, disk: values.disk, smp: intOf(values.smp, 1) }) ? 'patched' : defaultLabQemuKind();
  try {
    const lab = await runInLab({
      command: [process.execPath, CLI, 'boot', ...args],
      cwd: root,
      env: { ...process.env, [LAB_ENV]: '1', [LAB_QEMU_KIND_ENV]: qemu },
      qemu,
      timeoutS: intOf(values.timeout, DEFAULT_TIMEOUT_S) + LAB_OVERHEAD_S,
      memMiB: Math.max(LAB_MIN_MEM_MIB, intOf(values.mem, 512) + LAB_MEM_HEADROOM_MIB),
      onOutput: (stream, chunk) => (stream === 'stdout' ? process.stdout : process.stderr).write(chunk),
      log: (line) => process.stderr.write(`${line}\n`),
    }).catch((e: unknown) => {
      const err = e instanceof BootgateError ? e : undefined;
      throw new BootgateError(err?.code ?? 'E_INTERNAL', `${target}: the lab could not start: ${(e as Error).message}`, { hint: err?.hint ?? 'run bootgate doctor', cause: e });
    });
    if (eventsInside && eventsHost && existsSync(eventsInside)) copyFileSync(eventsInside, eventsHost);
    if (lab.status === 'exited') return lab.exitCode!;
    process.stderr.write(`bootgate: ${lab.error!.code}: ${target}: ${lab.error!.message}\n`);
    return lab.status === 'timeout' ? EXIT_TIMEOUT : EXIT_FAILED;
  } finally {
    if (eventsInside) rmSync(eventsInside, { force: true });
  }
}

/** The summary line: how it ended, when each milestone came (seconds from QEMU's start). */
export function summaryLine(r: BootResult): string {
  const ms = Object.entries(r.milestones).map(([name, t]) => `${name} ${(t / 1000).toFixed(2)}`).join(', ');
  return `bootgate: ${r.status} on ${r.target} after ${(r.wallMs / 1000).toFixed(2)} s, ${r.resets} resets, milestones (s): ${ms || 'none'}`;
}

/**
 * 0 when the boot got where it was asked to: --until matched, or (without --until) the guest
 * powered off, whatever code it passed to isa-debug-exit (the summary shows it). A refused
 * configuration is bad input (2); anything else keeps the result's code, at least 1.
 */
export function exitCodeOf(r: BootResult, until: string | undefined): number {
  if (r.status === 'until-matched') return 0;
  if (r.error?.code === 'E_CONFIG') return EXIT_BAD_INPUT;
  if (r.status === 'power-off') return until === undefined ? 0 : EXIT_FAILED;
  return r.exitCode > 0 ? r.exitCode : EXIT_FAILED;
}

async function bootQemu(values: BootValues, target: string, accel: string): Promise<number> {
  rejectOwnVmmOptions(values, target);
  if (values.guest !== undefined && values.kernel !== undefined) {
    throw new BootgateError('E_CONFIG', '--guest and --kernel are exclusive', { hint: 'pass only one' });
  }
  // The limits the own VMM checks (vCPUs, memory, timeout, --until, BAR lists, phys-bits, kernel files) hold for every target.
  const checked = validateVmConfig({
    smp: values.smp,
    mem: values.mem,
    timeout: values.timeout,
    until: values.until,
    pciTestDevice: values['pci-test-device'],
    physBits: values['phys-bits'],
    pciMmio64Mb: values['pci-mmio64-mb'],
    kernel: values.kernel,
    initrd: values.initrd,
    append: values.guest === undefined ? values.append : undefined,
    disk: values.disk,
    firmwareFile: values['firmware-file'],
    flashVars: values['flash-vars'],
    events: values.events,
  });
  const result = await bootOnQemu(accel, {
    guest: values.guest,
    reboot: values.reboot,
    reboots: guestReboots(values.reboots),
    irqtest: values.irqtest,
    append: values.guest === undefined ? undefined : values.append,
    linux: checked.kernel === undefined ? undefined : { kernel: checked.kernel, initrd: checked.initrd, append: checked.append },
    firmware: values.firmware,
    firmwareFile: values['firmware-file'],
    flashVars: checked.flashVarsTemplate,
    smp: checked.smp,
    memMiB: checked.memMiB,
    timeoutS: checked.timeoutS,
    until: checked.until,
    pciTestDevices: checked.pciTestDevices.length > 0 ? checked.pciTestDevices : undefined,
    physBits: checked.physBits,
    pciMmio64Mb: checked.pciMmio64Mb,
    disk: checked.disk,
    onSerial: (text) => process.stdout.write(text),
  });
  if (values.events !== undefined) writeFileSync(values.events, result.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  if (result.error) process.stderr.write(`\nbootgate: ${result.error.code}: ${result.error.message}${result.error.hint ? ` (fix: ${result.error.hint})` : ''}\n`);
  // The serial tail is on screen already; the reason only when the error line did not say it.
  if (result.diagnostic) {
    if (result.diagnostic.reason !== result.error?.message) process.stderr.write(`\ndiagnostic: ${result.diagnostic.reason}\n`);
    for (const r of result.diagnostic.registers) {
      process.stderr.write(`  vCPU ${r.vcpu} registers: ${Object.entries(r.regs).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
    }
  }
  const code = exitCodeOf(result, checked.until);
  process.stderr.write(`\n${summaryLine(result)}, exit code ${code}\n`);
  return code;
}

/** Boots on a target outside this process; `where` from elsewhereTarget(values.target). */
export async function bootElsewhere(values: BootValues, tokens: readonly ArgToken[], where: ElsewhereTarget): Promise<number> {
  const target = values.target!;
  checkGuestOptions(values);
  // Refused here, not after QEMU or the lab has started.
  if (values.guest !== undefined) {
    checkGuestRequest(values.guest, { reboot: values.reboot as RebootMethod | undefined, reboots: guestReboots(values.reboots), irqtest: values.irqtest, append: values.append });
  }
  return where.kind === 'lab' ? bootInLab(values, tokens, target, where.inner) : bootQemu(values, target, where.accel);
}
