// Unrequested-fault rate in the nested lab, own VMM vs QEMU/KVM (issue 13, item 2): the guests
// whose lab boots used to be rerun after a triple fault, booted again and again on both stacks in
// the same lab VM, interleaved, so a fault rate on one stack can be told from the lab's.
//   irqtest: debian-irqtest, msi+intx, 32 interrupts per CPU, a 2 kHz PIT round, the IPI rounds
//            (the linux-interrupts suite's boot). QEMU has no bootgate interrupt test device; the
//            probe's module drives QEMU's `edu` device instead (guests/irqtest/bootgate_irqtest.c),
//            with the HPET off so the PIT reaches IRQ 0 as on the own VMM, which has no HPET.
//   triple:  debian-probe, reboot=triple once (the bios-reboot suite's boot): one triple fault asked for.
//   disk:    the debian-disk image from the IDE disk through SeaBIOS and GRUB to its probe's done line
//            (the debian-disk suite's boot); no fault asked for.
// Per boot: faults the guest did not ask for, any other failure (the probe's done line missing, an
// irqtest error or failed round, the second boot missing), and lab lockups (the lab VM wedged while
// the boot ran). Each reset is attributed by what the console showed since the previous one: the
// probe's reboot line (requested: reboot=t is a triple fault), neither the firmware banner nor a
// probe line (the firmware's own reset: on QEMU, SeaBIOS resets once more right after a reboot,
// before its banner), or anything else (unrequested). The own VMM also names every triple fault (which vCPU, when); its count
// beyond the requested ones is its figure. QEMU's QMP RESET events do not tell a triple fault from
// another guest reset, so the console attribution is its figure.
// On QEMU the probe's boot count (CMOS byte 0x7E through /dev/nvram) does not survive the reset:
// every boot reports boot 1 and reboots again, so a QEMU reboot=triple run loops until its timeout
// (TRIPLE_LOOP_S), several requested faults a run; rates are per requested fault as well as per run. Each round runs every (workload, SMP, stack) once in a FRESH lab
// VM, stacks alternating which goes first, so a lab that degrades over time hits both stacks alike.
// Records go to reports/out/fault-rate/records.jsonl (one line a boot, appended after each round);
// `--table` prints the table from that file alone; touching reports/out/fault-rate/stop ends a run
// after the round in progress.
// The parts: fault-rate/records.ts (plan, classification), inner.ts (the boots inside the lab),
// round.ts (lab VMs per round on the host), table.ts (the table); this file is the command.
//
//   npm run fault-rate -- --boots N [--smp 2,8] [--workloads irqtest,triple] [--configs irqtest:2,triple:2,irqtest:8] [--stacks own,qemu]

import { appendFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDebianDiskImage } from '../guests/debian-disk/build.js';
import { LAB_CPU, labCpu, labKvmAmdParams } from '../lab/qemu-args.js';
import { defaultLabQemuKind, LAB_QEMU_BINARY_ENV, QEMU_ENV } from '../lab/qemu.js';
import { inLab, labUnavailable } from '../lab/target.js';
import { inner } from './fault-rate/inner.js';
import { plan, type Stack, STACK_NAMES } from './fault-rate/records.js';
import { otherQemus, runRound } from './fault-rate/round.js';
import { formatTable, parseConfigs, readRecords, table } from './fault-rate/table.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url)).replace(/\/dist\/$/, '/');
const OUT_DIR = join(ROOT, 'reports', 'out', 'fault-rate');
const RECORDS = join(OUT_DIR, 'records.jsonl');
/** Seconds without any other QEMU on the host before a round starts, once one was seen. */
const QUIET_S = 30;
/** The same when none was seen: two looks, 5 s apart, catch a test run between two of its labs. */
const QUIET_UNSEEN_S = 10;
/** A record's `lab.qemu` when the lab ran the patched build of lab/qemu-build/ (lab/qemu.ts defaultLabQemuKind). */
const PATCHED_LABEL = 'patched build (lab/qemu-build)';
/** Touch this file to end a long run after the round in progress (its records kept). */
const STOP_FILE = join(OUT_DIR, 'stop');

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      inner: { type: 'string' },
      out: { type: 'string' },
      boots: { type: 'string' },
      smp: { type: 'string' },
      workloads: { type: 'string' },
      configs: { type: 'string' },
      stacks: { type: 'string' },
      records: { type: 'string' },
      table: { type: 'boolean' },
    },
  });
  if (values.inner !== undefined) {
    if (!values.out) throw new TypeError('--inner needs --out');
    await inner(values.inner, values.out);
    return 0;
  }
  const records = values.records ?? RECORDS;
  if (values.table) {
    console.log(formatTable(table(readRecords(records))));
    return 0;
  }
  const boots = Number(values.boots ?? '1');
  if (!Number.isInteger(boots) || boots < 1) throw new TypeError(`invalid --boots ${JSON.stringify(values.boots)}; expected a positive integer`);
  const stacks = (values.stacks ?? 'own,qemu').split(',') as Stack[];
  for (const s of stacks) if (s !== 'own' && s !== 'qemu') throw new TypeError(`unknown stack ${JSON.stringify(s)}; expected own or qemu`);
  const configs = parseConfigs(values);
  if (inLab()) throw new Error('run fault-rate on the host: it starts its own lab VMs');
  const why = labUnavailable();
  if (why) throw new Error(`the nested lab cannot start: ${why}`);
  mkdirSync(OUT_DIR, { recursive: true });
  // A run under another lab CPU model, kvm_amd parameters or QEMU (an A/B of the emulated SVM) says
  // so in every record; records without `lab` are the lab-qemu fixture's, as every lab was once.
  const qemu = process.env[LAB_QEMU_BINARY_ENV] || process.env[QEMU_ENV] || (defaultLabQemuKind() === 'patched' ? PATCHED_LABEL : undefined);
  const lab = labCpu() !== LAB_CPU || labKvmAmdParams().length > 0 || qemu ? { cpu: labCpu(), kvmAmd: labKvmAmdParams(), ...(qemu ? { qemu } : {}) } : undefined;
  if (lab) console.error(`fault-rate: lab CPU ${lab.cpu}, kvm_amd ${lab.kvmAmd.join(' ') || '(defaults)'}, QEMU ${lab.qemu ?? '(the lab-qemu fixture)'}`);
  // The disk workload boots the debian-disk image: built (or found cached) here, its path in each plan.
  const disk = configs.some((c) => c.workload === 'disk') ? (await buildDebianDiskImage({ log: (l) => console.error(l) })).path : undefined;
  const first = Math.max(0, ...readRecords(records).map((r) => r.round)) + 1;
  console.error(`fault-rate: ${boots} round(s) of ${configs.map((c) => `${c.workload} SMP ${c.smp}`).join(', ')} on ${stacks.map((s) => STACK_NAMES[s]).join(' and ')}, one fresh lab VM a round; records: ${records}`);
  for (let round = first; round < first + boots; round++) {
    if (existsSync(STOP_FILE)) {
      rmSync(STOP_FILE);
      console.error(`fault-rate: ${STOP_FILE} found, stopping after ${round - first} round(s)`);
      break;
    }
    // Two labs on two cores slow each other down and change what is measured: wait for the other,
    // and for QUIET_S without one (a test run starts its labs one after another).
    for (let waited = 0, quiet = 0, needed = QUIET_UNSEEN_S; ; waited++) {
      const others = otherQemus();
      if (others.length > 0) needed = QUIET_S;
      quiet = others.length > 0 ? 0 : quiet + 5;
      if (quiet >= needed) break;
      if (others.length > 0 && waited % 24 === 0) console.error(`fault-rate: waiting for another QEMU to end: ${others[0]!.slice(0, 120)}`);
      await new Promise((r) => setTimeout(r, 5_000));
    }
    const recs = await runRound(ROOT, OUT_DIR, plan(1, configs, stacks, round).map((p) => (p.workload === 'disk' ? { ...p, disk } : p)));
    for (const r of recs) appendFileSync(records, `${JSON.stringify(lab ? { ...r, lab } : r)}\n`);
    console.error(`fault-rate: round ${round} done`);
  }
  console.log(formatTable(table(readRecords(records))));
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`fault-rate: ${(err as Error).message}`);
      process.exitCode = err instanceof TypeError ? 2 : 1;
    },
  );
}
