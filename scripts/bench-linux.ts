// Debian reset-to-init, own VMM vs QEMU/KVM (issue 5's bench): the probe guest (Debian's cloud
// kernel, SeaBIOS, linuxboot_dma.bin, the busybox probe) booted until its init line, alternating
// between the stacks: own VMM SMP 1, QEMU -accel kvm SMP 1, own VMM SMP 8, QEMU SMP 8. Both on
// the same /dev/kvm: natively where this host's KVM runs Linux guests, else all of them inside
// ONE nested lab VM (this file re-runs itself there with --inner and reads its JSON back).
// Reset-to-init is the `init` milestone minus the moment the machine starts running: own VMM its
// `reset-vector` milestone (every vCPU thread is up and the BSP fetched its first instruction;
// the KVM VM exists from `vm-created`, but at SMP 8 in the lab the seven AP worker threads take
// ~12 s to start after it), QEMU its `vm-created` (started paused with -S, every vCPU thread
// created, timed from QMP's `cont`). So the VMM's own start-up (Node, threads, loading the kernel)
// is not counted for either stack.
// Ratios: own/QEMU at SMP 1 (target <= 0.8) and own SMP 8 / own SMP 1 (target <= 1.5).

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { hostKvmCapability } from '../lab/capability.js';
import { lockupWatch } from '../lab/lockup.js';
import { runInLab } from '../lab/run.js';
import { inLab, labUnavailable } from '../lab/target.js';
import type { BootRequest } from '../targets/index.js';
import { bootOnQemu } from '../targets/qemu/boot.js';
import { bootOnOwnVmm } from '../targets/vmm/target.js';
import { BootgateError } from '../vmm/errors.js';
import { alternate, describeError, type Failure, failuresOf, fig, type Figure, median, medianOf, type Series, seriesFigures } from './bench-figures.js';

const GUEST = 'debian-probe';
const INIT_LINE = '@@bootgate \\{"event":"init"';
const OWN_QEMU_TARGET = 0.8;
const SMP8_SMP1_TARGET = 1.5;
/** Per boot inside the lab (TCG underneath): generous; a hung boot is reported, not waited for. */
const BOOT_TIMEOUT_S = 300;
const LAB_MEM_MIB = 3072;

export const LINUX_STACKS = [
  { key: 'own.smp1', label: 'Debian reset to init, own VMM, SMP 1', own: true, smp: 1 },
  { key: 'qemu.smp1', label: 'Debian reset to init, QEMU -accel kvm, SMP 1', own: false, smp: 1 },
  { key: 'own.smp8', label: 'Debian reset to init, own VMM, SMP 8', own: true, smp: 8 },
  { key: 'qemu.smp8', label: 'Debian reset to init, QEMU -accel kvm, SMP 8', own: false, smp: 8 },
] as const;
type StackKey = (typeof LINUX_STACKS)[number]['key'];

/**
 * What the inner run hands back: per stack, its samples (ms) or why it failed; for the own VMM
 * also the part of each sample its threads spent outside KVM_RUN (handling exits: the VMM's share).
 */
export type LinuxBenchSeries = Record<StackKey, { samples: number[]; outsideGuest?: number[]; error?: string }>;

/** One boot's reset-to-init and, own VMM, the time outside KVM_RUN over the same stretch (SMP 1: vCPU 0 is the only thread). */
interface Sample {
  ms: number;
  outsideGuestMs?: number;
}

/** `init` minus `reset-vector` (own VMM) or `vm-created` (QEMU), from a boot that reached the init line. */
export function resetToInitMs(r: { status: string; milestones: Record<string, number>; error?: { message: string } }, what: string): number {
  if (r.status !== 'until-matched') throw new BootgateError('E_GUEST', `${what}: the probe's init line never came (${r.status}${r.error ? `: ${r.error.message}` : ''})`);
  const start = r.milestones['reset-vector'] ?? r.milestones['vm-created'];
  const init = r.milestones.init;
  if (start === undefined || init === undefined) throw new BootgateError('E_INTERNAL', `${what}: milestones reset-vector or vm-created, and init, missing (${Object.keys(r.milestones).join(', ')})`);
  return init - start;
}

async function bootOnce(own: boolean, smp: number): Promise<Sample> {
  const req: BootRequest = { guest: GUEST, smp, timeoutS: BOOT_TIMEOUT_S, until: INIT_LINE };
  const r = own ? await bootOnOwnVmm(req) : await bootOnQemu('kvm', req);
  const ms = resetToInitMs(r, `${own ? 'own VMM' : 'QEMU -accel kvm'} SMP ${smp}`);
  const start = r.milestones['reset-vector'];
  if (!own || smp !== 1 || !r.profile || start === undefined) return { ms };
  // From the first instruction to the stop (the init line, a few ms later), minus time in the guest.
  return { ms, outsideGuestMs: Math.max(0, r.profile.wallMs - start - r.profile.vcpuRunMs) };
}

/** Boots the four stacks in turn `runs` times, here (native KVM or already inside the lab). */
export async function measureHere(runs: number, onProgress?: (series: LinuxBenchSeries) => void): Promise<LinuxBenchSeries> {
  const show = (s: Sample) =>
    `init at ${(s.ms / 1000).toFixed(1)} s after reset${s.outsideGuestMs === undefined ? '' : `, ${(s.outsideGuestMs / 1000).toFixed(1)} s of it outside the guest`}`;
  const toJson = (series: Series<Sample>[]): LinuxBenchSeries =>
    Object.fromEntries(
      LINUX_STACKS.map((s, i) => {
        const one = series[i]!;
        const outside = one.samples.flatMap((x) => (x.outsideGuestMs === undefined ? [] : [x.outsideGuestMs]));
        return [
          s.key,
          {
            samples: one.samples.map((x) => x.ms),
            ...(outside.length > 0 ? { outsideGuest: outside } : {}),
            ...(one.error === undefined ? {} : { error: describeError(one.error) }),
          },
        ];
      }),
    ) as LinuxBenchSeries;
  const series = await alternate<Sample>(
    runs,
    LINUX_STACKS.map((s) => ({ label: s.label, run: () => bootOnce(s.own, s.smp), show })),
    onProgress && ((so) => onProgress(toJson(so))),
  );
  return toJson(series);
}

/** The whole measurement inside one lab VM; its JSON comes back through the shared repository. */
async function measureInLab(root: string, runs: number): Promise<LinuxBenchSeries> {
  const why = labUnavailable();
  if (why) throw new BootgateError('E_CONFIG', `this host's /dev/kvm cannot run Linux guests and the nested lab cannot start: ${why}`);
  const dir = join(root, 'reports', 'out', 'bench');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `linux-${process.pid}.json`);
  rmSync(out, { force: true });
  // Four stacks per run, a few minutes per boot at worst under TCG, plus the lab's own start.
  const timeoutS = 120 + runs * LINUX_STACKS.length * BOOT_TIMEOUT_S;
  // The lab's QEMU can wedge under a nested SMP 8 guest: stop at the first lockup line and keep
  // the samples written so far (the inner run writes and fsyncs them after every boot).
  const abort = new AbortController();
  let lockup: string | undefined;
  const lab = await runInLab({
    command: ['node', 'dist/scripts/bench-linux.js', '--inner', '--runs', String(runs), '--out', out],
    cwd: root,
    memMiB: LAB_MEM_MIB,
    timeoutS,
    signal: abort.signal,
    onOutput: (_stream, chunk) => process.stderr.write(chunk),
    onConsole: lockupWatch((line) => {
      lockup = line;
      abort.abort();
    }),
  });
  let text: string;
  try {
    text = readFileSync(out, 'utf8');
  } catch {
    throw new BootgateError('E_INTERNAL', `the lab run left no ${out} (lab ${lab.status}${lockup ? `, wedged: ${lockup}` : ''}); console tail:\n${lab.consoleTail}\nstderr tail:\n${lab.stderrTail}`);
  }
  rmSync(out, { force: true });
  const series = JSON.parse(text) as LinuxBenchSeries;
  // A lab that ended any other way than a clean exit explains every stack it left short.
  const ended = lockup ? `the nested lab wedged before this stack finished: ${lockup}` : lab.status !== 'exited' || lab.exitCode !== 0 ? `the lab run ended (${lab.status}${lab.exitCode === undefined ? '' : `, exit code ${lab.exitCode}`}) before this stack finished; console tail: ${lab.consoleTail.slice(-400)}` : undefined;
  if (ended) {
    for (const s of LINUX_STACKS) if (series[s.key].samples.length < runs) series[s.key].error ??= ended;
  }
  return series;
}

/** Figures for the four stacks, with the two ratios on the own VMM's medians; a stack short of `runs` samples is a failure. */
export function linuxFigures(series: LinuxBenchSeries, runs: number): { figures: Figure[]; failures: Failure[] } {
  const ms = (k: StackKey) => series[k].samples;
  const ownSmp1 = LINUX_STACKS[0];
  const figures = [
    ...seriesFigures('linux.qemu.smp1.resetToInit', LINUX_STACKS[1].label, 'ms', ms('qemu.smp1')),
    ...seriesFigures('linux.own.smp1.resetToInit', `${ownSmp1.label} (ratio: to QEMU SMP 1)`, 'ms', ms('own.smp1'), medianOf(ms('qemu.smp1'), OWN_QEMU_TARGET)),
    // What the VMM itself costs: its threads' time outside KVM_RUN. The rest is the guest running
    // (and KVM's own entry/exit work), the same for both stacks: the ratio over it is the floor
    // own/QEMU could reach with free exit handling.
    ...outsideGuestFigures(series, ms('qemu.smp1')),
    ...seriesFigures('linux.qemu.smp8.resetToInit', LINUX_STACKS[3].label, 'ms', ms('qemu.smp8')),
    ...seriesFigures('linux.own.smp8.resetToInit', `${LINUX_STACKS[2].label} (ratio: to own SMP 1)`, 'ms', ms('own.smp8'), medianOf(ms('own.smp1'), SMP8_SMP1_TARGET)),
  ];
  const all: Series<unknown>[] = LINUX_STACKS.map((s) => ({ label: s.label, samples: series[s.key].samples, error: series[s.key].error === undefined ? undefined : new Error(series[s.key].error) }));
  return { figures, failures: failuresOf(all, 'Debian reset to init', runs) };
}

function outsideGuestFigures(series: LinuxBenchSeries, qemuSmp1: number[]): Figure[] {
  const outside = series['own.smp1'].outsideGuest ?? [];
  const own = series['own.smp1'].samples;
  if (outside.length === 0 || own.length === 0 || qemuSmp1.length === 0) return [];
  const m = median(outside);
  const floor = (median(own) - m) / median(qemuSmp1);
  return [fig('linux.own.smp1.outsideGuest.median', `${LINUX_STACKS[0].label}: outside the guest (exit handling; ratio: own/QEMU with free exit handling), median`, m, 'ms', floor, null)];
}

/** The bench entry: measure here when this KVM runs Linux guests, else in the lab. */
export async function benchLinux(root: string, runs: number): Promise<{ figures: Figure[]; failures: Failure[]; where: string }> {
  const native = inLab() || hostKvmCapability().nativeGuests;
  const series = native ? await measureHere(runs) : await measureInLab(root, runs);
  return { ...linuxFigures(series, runs), where: native ? 'this host' : 'the nested lab (QEMU TCG, kvm-amd inside)' };
}

async function innerMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { inner: { type: 'boolean' }, runs: { type: 'string' }, out: { type: 'string' } } });
  const runs = Number(values.runs ?? '1');
  if (!values.inner || !values.out || !Number.isInteger(runs) || runs < 1) {
    console.error('usage: node dist/scripts/bench-linux.js --inner --runs N --out FILE (run by npm run bench)');
    return 2;
  }
  const out = values.out;
  const save = (series: LinuxBenchSeries) => {
    const fd = openSync(out, 'w');
    writeSync(fd, `${JSON.stringify(series)}\n`);
    fsyncSync(fd);
    closeSync(fd);
  };
  save(await measureHere(runs, save));
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
