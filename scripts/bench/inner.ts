// The boots of a bench, where the stacks share one /dev/kvm: this host's when it runs Linux
// guests, else inside one nested lab VM (lab.ts starts `node dist/scripts/bench/inner.js --plan
// FILE --out FILE` there). Every boot goes through a Target (targets/): the own VMM of this
// checkout, QEMU -accel kvm, and with --baseline the own VMM of the baseline tree. Each comparison
// runs its stacks in turn, run after run (figures.ts alternate); the samples so far are written
// after every boot, so a lab that wedges still leaves what it measured. The C loop is not a target:
// it is run as the process it is.

import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { type BootRequest, ownVmmTarget, type Target } from '../../targets/index.js';
import { qemuTarget } from '../../targets/qemu/target.js';
import { ownVmmTargetAt } from '../../targets/vmm/target.js';
import { BootgateError } from '../../vmm/errors.js';
import { alternate, describeError, type Series } from './figures.js';
import { LOGIN_PROMPT } from '../../guests/debian-disk/spec.js';
import { cLoopRoundTripUs, outsideGuestMs, pioRoundTripUs, processStartMs, resetToInitMs, resetToLoginMs, resetVectorMs, type Sample } from './measures.js';
import { type BenchPlan, COMPARISONS, type ComparisonName, runsOf, type Samples, SERIES, type SeriesKey } from './plan.js';

/** The OVMF build the uefi comparison boots (pflash CODE + VARS, the same fixture on both stacks). */
const UEFI_FIRMWARE = 'ovmf-4m';

/** The probe's init line: the Debian boots stop there. */
export const INIT_LINE = '@@bootgate \\{"event":"init"';
/** SeaBIOS's first boot attempt; with no disks "Booting from Hard Disk..." comes first. */
export const BOOT_ATTEMPT = 'No bootable device|Booting from';
/** Per boot: generous for the lab (TCG underneath); a hung boot is reported, not waited for. */
const LINUX_TIMEOUT_S = 300;
/** The disk boots (GRUB, systemd): the suite's budget (suites/debian-disk.test.ts). */
const DISK_TIMEOUT_S = 300;
const DISK_FIRMWARE = 'seabios-256k';
const SEABIOS_TIMEOUT_S = 120;
const PIO_TIMEOUT_S = 300;
const C_LOOP_TIMEOUT_MS = 120_000;
const HEARTBEAT_MS = 5_000;
export const HEARTBEAT_LINE = '@@bench heartbeat';

/** What the boots run on; tests pass fakes. */
export interface BenchStacks {
  own: Target;
  qemu: Target;
  base?: Target;
  /** Runs the C loop on the image; resolves with its stdout. */
  runCLoop(bin: string, image: string): Promise<string>;
}

export function realStacks(plan: BenchPlan): BenchStacks {
  return {
    own: ownVmmTarget,
    qemu: qemuTarget('kvm'),
    base: plan.baseline ? ownVmmTargetAt(plan.baseline.cli, `vmm:kvm (--baseline ${plan.baseline.ref})`) : undefined,
    async runCLoop(bin, image) {
      const r = await execa(bin, [image], { reject: false, timeout: C_LOOP_TIMEOUT_MS, stdin: 'ignore' });
      if (r.timedOut) throw new BootgateError('E_TIMEOUT', `kvm-exit-loop did not finish within ${C_LOOP_TIMEOUT_MS / 1000} s`);
      if (r.exitCode !== 0) throw new BootgateError('E_ACCEL', `kvm-exit-loop failed (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim() || '(no stderr)'}`);
      return r.stdout;
    },
  };
}

type Run = (i: number) => Promise<Sample>;

/** How one series takes a sample, or why it cannot. */
function runnerOf(key: SeriesKey, plan: BenchPlan, stacks: BenchStacks): Run | string {
  const boot = async (target: Target | undefined, req: BootRequest) => {
    if (!target) throw new BootgateError('E_CONFIG', 'no --baseline build');
    return target.boot(req);
  };
  const seabios = (smp: number): BootRequest => ({ ...plan.seabios, smp, timeoutS: SEABIOS_TIMEOUT_S, until: BOOT_ATTEMPT, timeResetVector: true });
  const linux = (smp: number): BootRequest => ({ linux: plan.linux, firmware: plan.linuxFirmware, smp, timeoutS: LINUX_TIMEOUT_S, until: INIT_LINE });
  const label = SERIES[key].label;
  switch (key) {
    case 'pio.c':
      if (!plan.cLoop || !plan.pioImage) return 'no C loop or PIO guest image';
      return async () => cLoopRoundTripUs(await stacks.runCLoop(plan.cLoop!, plan.pioImage!), plan.iterations);
    case 'pio.own':
    case 'pio.own.native':
      if (!plan.pioImage) return 'no PIO guest image';
      return async () =>
        pioRoundTripUs(
          await boot(stacks.own, { firmwareFile: plan.pioImage, smp: 1, timeoutS: PIO_TIMEOUT_S, ...(key === 'pio.own.native' ? { vcpuThreads: 'native' as const } : {}) }),
          plan.iterations,
        );
    case 'resetVector.own.smp1':
    case 'resetVector.own.smp8':
      return async () => {
        const r = await boot(stacks.own, seabios(key.endsWith('8') ? 8 : 1));
        const s = resetVectorMs(r, label);
        const processMs = processStartMs(r);
        return processMs === undefined ? s : { ...s, processMs };
      };
    case 'resetVector.qemu.smp1':
    case 'resetVector.qemu.smp8':
      return async () => resetVectorMs(await boot(stacks.qemu, seabios(key.endsWith('8') ? 8 : 1)), label);
    case 'linux.own.smp1':
      if (!plan.linux) return 'no probe guest';
      return async () => {
        const r = await boot(stacks.own, linux(1));
        const s = resetToInitMs(r, label);
        const outside = outsideGuestMs(r);
        return outside === undefined ? s : { ...s, outsideGuestMs: outside };
      };
    case 'linux.qemu.smp1':
    case 'linux.qemu.smp8':
    case 'linux.own.smp8':
    case 'linux.base.smp8': {
      if (!plan.linux) return 'no probe guest';
      const target = key.startsWith('linux.qemu') ? stacks.qemu : key === 'linux.base.smp8' ? stacks.base : stacks.own;
      return async () => resetToInitMs(await boot(target, linux(key.endsWith('8') ? 8 : 1)), label);
    }
    case 'uefi.own.smp1':
    case 'uefi.qemu.smp1':
      if (!plan.linux) return 'no probe guest';
      return async () => resetToInitMs(await boot(key === 'uefi.own.smp1' ? stacks.own : stacks.qemu, { ...linux(1), firmware: UEFI_FIRMWARE }), label);
    case 'disk.own.smp1':
    case 'disk.qemu.smp1':
    case 'disk.own.smp8':
    case 'disk.qemu.smp8': {
      if (!plan.diskImage) return 'no debian-disk image';
      const req: BootRequest = { firmware: DISK_FIRMWARE, disk: plan.diskImage, smp: key.endsWith('8') ? 8 : 1, timeoutS: DISK_TIMEOUT_S, until: LOGIN_PROMPT };
      return async () => resetToLoginMs(await boot(key.startsWith('disk.own') ? stacks.own : stacks.qemu, req), LOGIN_PROMPT, label);
    }
  }
}

function show(key: SeriesKey, s: Sample): string {
  const unit = SERIES[key].unit === 'us' ? 'µs' : 'ms';
  const h = s.handover ? `, AP hand-over wait median ${s.handover.medianMs?.toFixed(2) ?? '(not reported)'} ms, max ${s.handover.maxMs.toFixed(1)} ms over ${s.handover.count}` : '';
  return `${s.value.toFixed(unit === 'µs' ? 2 : 0)} ${unit}${h}`;
}

/** The series of one comparison this plan runs (the baseline's only with a --baseline build or its failure). */
export function seriesOf(comparison: ComparisonName, plan: BenchPlan): SeriesKey[] {
  return COMPARISONS[comparison].filter((k) => k !== 'linux.base.smp8' || plan.baseline !== undefined || plan.skip[k] !== undefined);
}

/** Every comparison of the plan; `save` gets the samples after each boot. */
export async function measure(plan: BenchPlan, stacks: BenchStacks, save: (s: Samples) => void = () => {}): Promise<Samples> {
  const samples: Samples = {};
  for (const comparison of Object.keys(COMPARISONS) as ComparisonName[]) {
    const runs = runsOf(comparison, plan);
    if (runs === 0 || (plan.only !== undefined && !plan.only.includes(comparison))) continue;
    const keys = seriesOf(comparison, plan);
    const runnable: Array<{ key: SeriesKey; run: Run }> = [];
    for (const key of keys) {
      const run = plan.skip[key] ?? runnerOf(key, plan, stacks);
      if (typeof run === 'string') samples[key] = { samples: [], error: run };
      else runnable.push({ key, run });
    }
    const record = (series: Series<Sample>[]) => {
      series.forEach((s, i) => {
        samples[runnable[i]!.key] = { samples: s.samples, ...(s.error === undefined ? {} : { error: describeError(s.error) }) };
      });
      save(samples);
    };
    await alternate<Sample>(
      runs,
      runnable.map(({ key, run }) => ({ label: SERIES[key].label, run, show: (s) => show(key, s) })),
      record,
    );
  }
  save(samples);
  return samples;
}

/** Writes and flushes the samples: a lab killed afterwards loses nothing written here. */
export function writeSamples(file: string, samples: Samples): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, `${JSON.stringify(samples)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function innerMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { plan: { type: 'string' }, out: { type: 'string' } } });
  if (!values.plan || !values.out) {
    console.error('usage: node dist/scripts/bench/inner.js --plan FILE --out FILE (run by npm run bench)');
    return 2;
  }
  const plan = JSON.parse(readFileSync(values.plan, 'utf8')) as BenchPlan;
  const out = values.out;
  const beat = setInterval(() => console.log(HEARTBEAT_LINE), HEARTBEAT_MS);
  try {
    await measure(plan, realStacks(plan), (s) => writeSamples(out, s));
  } finally {
    clearInterval(beat);
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  innerMain(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(describeError(err));
      process.exitCode = 1;
    },
  );
}
