// Inside the lab: boot the planned boots one after another on both stacks, classify each and
// append its record to the round's file (flushed, so a lab that wedges keeps what it finished),
// with a heartbeat line on stdout every few seconds for the host's frozen-lab watch. Each boot is
// traced in the lab kernel's KVM until its first unrequested shutdown (lab/kvm-trace.ts); such a
// trace is saved beside the round's records, its summary in the boot's record.

import { chmodSync, closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveGuest } from '../../guests/catalog.js';
import { KvmTrace, kvmTraceExcerpt, kvmTraceSummary, shutdownFilter } from '../../lab/kvm-trace.js';
import type { BootResult } from '../../targets/index.js';
import { findExecutable, qemuBinary } from '../../targets/qemu/binary.js';
import { bootOnQemu } from '../../targets/qemu/boot.js';
import { bootOnOwnVmm } from '../../targets/vmm/target.js';
import { type BootRecord, classify, describe, type PlannedBoot, requestOf, type Workload } from './records.js';

/** The inner run prints a heartbeat this often (the host's watch: round.ts). */
const HEARTBEAT_EVERY_MS = 5_000;
export const HEARTBEAT_LINE = '@@fault-rate heartbeat';

/**
 * QEMU with `extra` on the boot's command line (the one with -S); its queries (`-accel help`)
 * untouched. The harness's QEMU command line has no switch for these two, so a wrapper adds them.
 */
function qemuWith(name: string, extra: string): string {
  const real = findExecutable(qemuBinary());
  if (!real) throw new Error(`no ${qemuBinary()} on PATH`);
  const path = join(mkdtempSync(join(tmpdir(), 'fault-rate-')), name);
  writeFileSync(path, `#!/bin/sh\nfor a; do [ "$a" = -S ] && exec ${real} "$@" ${extra}; done\nexec ${real} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** The QEMU per workload: no HPET (the own VMM has none; with it the PIT does not reach IRQ 0), edu for the irqtest probe. */
type QemuByWorkload = Record<Workload, string>;

async function bootOnce(p: PlannedBoot, qemu: QemuByWorkload): Promise<BootResult> {
  const req = requestOf(p);
  if (p.stack === 'own') return bootOnOwnVmm(req);
  if (p.workload === 'disk') return bootOnQemu('kvm', req, { ...process.env, QEMU: qemu.disk });
  // The catalog refuses debian-irqtest on QEMU (it has no bootgate device); edu stands in, so boot its kernel directly.
  const guest = await resolveGuest(req.guest ?? 'debian-probe', { reboot: req.reboot as 'triple' | undefined, reboots: req.reboots, irqtest: req.irqtest });
  const { guest: _g, reboot: _r, reboots: _n, irqtest: _i, ...rest } = req;
  return bootOnQemu('kvm', { ...rest, firmware: guest.firmware, linux: { kernel: guest.kernel!, initrd: guest.initrd, append: guest.append } }, { ...process.env, QEMU: qemu[p.workload] });
}

export async function inner(planFile: string, out: string): Promise<void> {
  const boots = JSON.parse(readFileSync(planFile, 'utf8')) as PlannedBoot[];
  const noHpet = qemuWith('qemu-nohpet', '-machine hpet=off');
  const qemu: QemuByWorkload = { irqtest: qemuWith('qemu-edu', '-device edu -machine hpet=off'), triple: noHpet, disk: noHpet, probe: noHpet, bar32g: noHpet };
  // L1 KVM's trace, stopped at the first shutdown a boot did not ask for (either stack): lab/kvm-trace.ts.
  const opened = KvmTrace.open();
  const trace = 'unavailable' in opened ? undefined : opened;
  if ('unavailable' in opened) console.log(`@@fault-rate note: shutdowns are not traced: ${opened.unavailable}`);
  const beat = setInterval(() => console.log(HEARTBEAT_LINE), HEARTBEAT_EVERY_MS);
  try {
    for (const [i, p] of boots.entries()) {
      console.log(`@@fault-rate start ${i}`);
      trace?.arm(shutdownFilter(p.workload === 'triple'));
      let rec: BootRecord;
      try {
        rec = classify(p, await bootOnce(p, qemu));
      } catch (err) {
        rec = { ...p, failure: `harness: ${(err as Error).message}`.slice(0, 300) };
      }
      const text = trace?.stopped();
      if (text !== undefined) {
        const file = `${out}.kvm-trace-${i}.txt`;
        writeFileSync(file, text);
        rec.kvmTrace = { summary: kvmTraceSummary(kvmTraceExcerpt(text)), file };
      }
      const fd = openSync(out, 'a');
      writeSync(fd, `${JSON.stringify(rec)}\n`);
      fsyncSync(fd);
      closeSync(fd);
      console.log(`@@fault-rate ${describe(rec)}`);
    }
  } finally {
    clearInterval(beat);
  }
}
