// Boots one machine on QEMU (the qemu:<accel> targets): qemu-system-x86_64 started with execa on
// the machine args.ts describes, paused at reset (-S) until the harness has read the memory map
// (`info mtree -f`: what serves the reset vector) and connected the consoles, then `cont` (a
// `guest-start` event when QEMU answered it: the guest runs). A boot with `timeResetVector` starts
// at once instead and gets its `reset-vector` milestone from QEMU's trace (first-exit.ts); its
// mapping at reset is not read, and debug-console bytes written before the harness connected are lost.
// Observed through the consoles (COM1 on stdout, the 0x402 debug console on a socket) and QMP
// (RESET, SHUTDOWN, STOP events; the high firmware copy read back with pmemsave; registers on
// failure; the test devices' BARs with query-pci). Every way out (until-matched, guest power-off
// or isa-debug-exit, timeout, crash, refused command line) ends with the process killed and
// reaped in `finally`; the result's `config` event carries the pid so a test can check it is gone.

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Result, type ResultPromise } from 'execa';
import { type RebootMethod, resolveGuest } from '../../guests/catalog.js';
import { BootgateError } from '../../vmm/errors.js';
import type { BootResult } from '../boot-result.js';
import type { LinuxBoot } from '../target.js';
import { DEFAULT_MEM_MIB, guestLinux, PCI_TESTDEV_ID, pcRamSplit, qemuArgs } from './args.js';
import { qemuMachine, requireQemu } from './binary.js';
import { type QemuFirmware, resolveQemuFirmware } from './firmware.js';
import { parseFlatViews, resetVectorMapping, type ResetVectorMapping } from './mtree.js';
import { type BarPlacement, barPlacement, parseQueryPci, readbackBars } from './pci.js';
import { connectUnixSocket, QmpClient } from './qmp.js';
import { parseInfoRegisters } from './registers.js';
import { FIRST_EXIT_TRACE_EVENT, FirstExitTrace } from './first-exit.js';
import { exitOutcome, finalResult, QemuRun, shutdownOutcome, startupError, STDERR_TAIL } from './run.js';
import type { QemuBootRequest } from './target.js';

/** Time QEMU gets to leave after `quit` before it is killed. */
const QUIT_GRACE_MS = 3_000;
/** Time the failure diagnostics (registers over QMP) may take. */
const DIAGNOSE_MS = 2_000;
/**
 * Time a read the verdict needs (the high BIOS copy) may take: a QEMU nested in the lab has taken
 * more than DIAGNOSE_MS to answer pmemsave, and a missing copy fails the reboot suite.
 */
const VERDICT_READ_MS = 30_000;
/** How long the debug console may take to deliver its last bytes after QEMU exited. */
const CONSOLE_DRAIN_MS = 1_000;
/** How long a failed QMP handshake waits for QEMU's exit before blaming the handshake. */
const STARTUP_EXIT_WAIT_MS = 2_000;
/** query-status run states that mean QEMU paused the guest because something broke. */
const STOPPED_BY_ERROR = ['internal-error', 'io-error', 'guest-panicked'];

function firmwareFacts(fw: QemuFirmware): { region: string; bytes: number; path: string } {
  const path = fw.kind === 'bios' ? fw.path : fw.code;
  // QEMU names the -bios image pc.bios and the first pflash unit system.flash0 (hw/i386/pc_sysfw.c).
  return { region: fw.kind === 'bios' ? 'pc.bios' : 'system.flash0', bytes: statSync(path).size, path };
}

function vmHighWaterBytes(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** `p`'s value, or why there is none (its error, or no answer within `ms`), for the report. */
async function answerOrWhy<T>(p: Promise<T>, ms: number): Promise<{ value: T } | { why: string }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ why: string }>((r) => (timer = setTimeout(() => r({ why: `no answer within ${ms / 1000} s` }), ms).unref()));
  try {
    return await Promise.race([p.then((value) => ({ value }), (e: unknown) => ({ why: (e as Error).message })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `p`'s value, or undefined when it failed or took longer than `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return answerOrWhy(p, ms).then((r) => ('value' in r ? r.value : undefined));
}

export async function bootOnQemu(accel: string, req: QemuBootRequest, env: NodeJS.ProcessEnv = process.env): Promise<BootResult> {
  const target = `qemu:${accel}`;
  const run = new QemuRun(target, req);
  const dir = mkdtempSync(join(tmpdir(), 'bootgate-qemu-'));
  const qmpSocket = join(dir, 'qmp.sock');
  let proc: ResultPromise | undefined;
  let result: Result | undefined;
  let qmp: QmpClient | undefined;
  let debugcon: Socket | undefined;
  let mapping: ResetVectorMapping | undefined;
  let stderr = '';
  const stderrTail = () => stderr.trim().slice(-STDERR_TAIL);
  let timer: NodeJS.Timeout | undefined;
  const timed = req.timeResetVector === true;
  const trace = timed ? new FirstExitTrace() : undefined;
  // One exit is all the figure needs: the trace goes off once QMP is up and the first exit is in.
  const stopTrace = () => {
    if (qmp && trace?.first) void qmp.execute('trace-event-set-state', { name: FIRST_EXIT_TRACE_EVENT, enable: false }).catch(() => {});
  };
  try {
    if (req.quirks?.length) {
      throw new BootgateError('E_CONFIG', `${target} has no quirk switches (asked for ${req.quirks.join(', ')})`, {
        hint: 'quirks are own-VMM misbehaviours; run known-bad cases on vmm:kvm',
      });
    }
    const binary = requireQemu(env);
    const linux = await linuxFor(req);
    const guestFirmware = req.firmware === undefined && req.firmwareFile === undefined ? linux.firmware : undefined;
    const firmware = await resolveQemuFirmware({ ...req, ...(guestFirmware ? { firmware: guestFirmware } : {}) }, { machine: () => qemuMachine(binary) });
    const fw = firmwareFacts(firmware);
    let varsPath: string | undefined;
    if (firmware.kind === 'flash' && firmware.varsTemplate) {
      // A store kept between runs (req.vars) is the drive itself; else a fresh copy per boot.
      varsPath = req.vars ?? join(dir, 'vars.fd');
      if (!existsSync(varsPath)) copyFileSync(firmware.varsTemplate, varsPath);
    } else if (req.vars !== undefined) {
      throw new BootgateError('E_CONFIG', `vars ${req.vars}: firmware ${firmware.name} has no variable store to keep`, { hint: 'use firmware ovmf-4m or ovmf-2m' });
    }
    const memMiB = req.memMiB ?? DEFAULT_MEM_MIB;
    const args = qemuArgs({
      accel,
      smp: req.smp,
      memMiB,
      firmware,
      varsPath,
      qmpSocket,
      debugconSocket: join(dir, 'debugcon.sock'),
      noReboot: req.noReboot,
      pciTestDevices: req.pciTestDevices,
      physBits: req.physBits,
      pciMmio64Mb: req.pciMmio64Mb,
      linux: linux.boot,
      disk: req.disk,
      interruptDevice: linux.interruptDevice,
      paused: !timed,
      traceFirstExit: timed,
    });

    run.startClock();
    proc = execa(binary, args, { reject: false, stdin: 'ignore', buffer: { stdout: false } });
    const guest = req.guest ?? (req.linux ? 'kernel' : undefined);
    run.emit({ event: 'config', config: { target, accel, binary, args, firmware, guest, smp: req.smp, memMiB, timeoutS: req.timeoutS, until: req.until }, quirks: [], pid: proc.pid }, 0);
    run.milestone('vmm-start', `${binary} pid ${proc.pid}`, 0);
    proc.stdout!.on('data', (chunk: Buffer) => run.console('com1', chunk.toString('latin1')));
    proc.stderr!.on('data', (chunk: Buffer) => {
      if (!trace) {
        stderr += chunk.toString('utf8');
        return;
      }
      stderr += trace.feed(chunk.toString('utf8'));
      if (trace.first && !('reset-vector' in run.milestones)) {
        run.firstExit(trace.first.epochMs, trace.first.reason);
        stopTrace();
      }
    });
    const exited = proc.then((r) => (result = r));
    // Waiting for QEMU's sockets stops when QEMU exits or the run ends (timeout).
    const aborted = new AbortController();
    void exited.then(() => aborted.abort());
    void run.settled.then(() => aborted.abort());
    timer = setTimeout(() => run.finish('timeout', `timed out after ${req.timeoutS} s${req.until ? ` waiting for /${req.until}/` : ''}`), req.timeoutS * 1000);

    // A Linux boot with test devices: where the firmware placed their BARs, read with the guest
    // stopped when SeaBIOS hands over to the kernel's option ROM (linuxboot_dma.bin), long before
    // Linux enumerates PCI; the readback at the end then tells kept from moved.
    let firmwareBars: Promise<BarPlacement | undefined> | undefined;
    if (req.pciTestDevices?.length && linux.boot) {
      run.onFirstMilestone = (name) => {
        if (name === 'option-rom' && qmp && !firmwareBars) firmwareBars = snapshotFirmwareBars(run, qmp);
      };
    }

    // Paused at reset: connect, look at the memory map, start the guest.
    try {
      qmp = await QmpClient.connect(qmpSocket, { timeoutMs: req.timeoutS * 1000, signal: aborted.signal, onEvent: (ev) => run.qmpEvent(ev) });
      run.milestone('vm-created', `QEMU ${qmp.greeting.version.package || 'unknown'}, ${req.smp} vCPU, ${memMiB} MiB, -accel ${accel}`);
      debugcon = await connectUnixSocket(join(dir, 'debugcon.sock'), { timeoutMs: 5_000, signal: aborted.signal });
      debugcon.on('data', (chunk: Buffer) => run.console('debugcon', chunk.toString('latin1')));
      debugcon.on('error', () => {});
      void exited.then(() => exitOutcome(run, result!, stderrTail()));
      if (timed) stopTrace();
      else {
        mapping = resetVectorMapping(parseFlatViews(await qmp.hmp('info mtree -f')), fw.region, fw.bytes);
        run.emit({ event: 'reset-vector-mapping', ...mapping, imageBytes: fw.bytes });
        qmp.execute('cont').then(
          () => run.emit({ event: 'guest-start', detail: 'QMP cont answered' }),
          () => {},
        );
      }
    } catch (e) {
      // QEMU may close the socket it just created before its exit reaches us: give the exit a moment.
      if (!aborted.signal.aborted) await withTimeout(exited, STARTUP_EXIT_WAIT_MS);
      if (result === undefined) throw e;
      const err = startupError(accel, result!, stderr);
      run.fail(err.code, err.message, err.hint);
    }

    // A STOP we did not ask for: QEMU paused the guest on an internal error (e.g. KVM emulation failure).
    qmp?.waitForEvent('STOP', req.timeoutS * 1000).then(async (ev) => {
      if (!ev || run.status !== undefined || !qmp) return;
      const st = await withTimeout(qmp.execute<{ status: string }>('query-status'), DIAGNOSE_MS);
      if (st && STOPPED_BY_ERROR.includes(st.status)) run.fail('E_ACCEL', `QEMU stopped the guest (${st.status}): ${stderrTail() || '(no stderr)'}`);
    });
    // Settled, or the guest powered off and -no-shutdown keeps QEMU paused: the exit after our
    // quit below classifies that run once COM1 has drained (a --until line still in it wins).
    await Promise.race([run.settled, run.guestShutdown]);
    clearTimeout(timer);

    if (qmp && result === undefined) {
      // Still running: read what only a live QEMU can show, then ask it to quit.
      const ended = run.status === 'until-matched' || (run.status === undefined && run.shutdownAt !== undefined);
      if (ended && mapping) {
        const dump = join(dir, 'high.bin');
        const saved = await answerOrWhy(qmp.execute('pmemsave', { val: 2 ** 32 - fw.bytes, size: fw.bytes, filename: dump }), VERDICT_READ_MS);
        if ('value' in saved) {
          const sha256 = createHash('sha256').update(readFileSync(dump)).digest('hex');
          run.emit({ event: 'firmware-high', mapped: mapping.firmware, sha256, bytes: fw.bytes });
        } else {
          // The checker's "no high copy" then says why, instead of blaming the firmware.
          run.emit({ event: 'firmware-high-unread', reason: `pmemsave: ${saved.why}` });
        }
      }
      if (req.pciTestDevices?.length) await readBack(run, qmp, memMiB, await firmwareBars);
      if (run.status === 'timeout' || run.status === 'error') {
        const text = await withTimeout(qmp.hmp('info registers -a'), DIAGNOSE_MS);
        if (text) run.emit({ event: 'registers', vcpus: parseInfoRegisters(text) });
      }
      const rss = proc.pid === undefined ? undefined : vmHighWaterBytes(proc.pid);
      if (rss !== undefined) run.emit({ event: 'max-rss', bytes: rss });
      void qmp.execute('quit').catch(() => {});
      await withTimeout(exited, QUIT_GRACE_MS);
      // QEMU did not leave in time (it is killed below): the guest's shutdown still ends the run as such.
      if (run.shutdownAt !== undefined) shutdownOutcome(run, String(run.shutdown?.data?.reason ?? ''));
    }
  } catch (e) {
    const err = e instanceof BootgateError ? e : new BootgateError('E_INTERNAL', `qemu target: ${(e as Error).message}`, { cause: e });
    run.fail(err.code, err.message, err.hint);
  } finally {
    clearTimeout(timer);
    qmp?.close();
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    if (proc) result = await proc; // reaped; execa also waits for stdout (COM1) to drain
    if (trace) stderr += trace.flush();
    // QEMU is gone, so the debug console ends: read what it wrote last (a probe's verdict) first.
    const dbg = debugcon;
    if (dbg && !dbg.destroyed && !dbg.readableEnded) await withTimeout(new Promise((r) => dbg.once('close', r)), CONSOLE_DRAIN_MS);
    dbg?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  return finalResult(run, req, result, stderr);
}

/** The request's Linux boot and the firmware its guest comes with; nothing for a firmware-only boot. */
async function linuxFor(req: QemuBootRequest): Promise<{ boot?: LinuxBoot; firmware?: string; interruptDevice?: boolean }> {
  if (req.guest !== undefined && req.linux !== undefined) {
    throw new BootgateError('E_CONFIG', `a catalog guest (${req.guest}) and a kernel of its own (${req.linux.kernel}) are exclusive`, { hint: 'pass only one' });
  }
  if (req.guest === undefined) {
    if (req.reboot !== undefined || req.reboots !== undefined || req.irqtest !== undefined) {
      throw new BootgateError('E_CONFIG', 'reboot, reboots and irqtest need a guest', { hint: 'pass guest debian-probe (--guest debian-probe)' });
    }
    return { boot: req.linux };
  }
  const guest = await resolveGuest(req.guest, { reboot: req.reboot as RebootMethod | undefined, reboots: req.reboots, irqtest: req.irqtest, append: req.append });
  return { boot: guestLinux(guest), firmware: guest.firmware, interruptDevice: guest.irqTestDevice };
}

/** Stop the guest, read the test devices' BARs as the firmware left them, let it go on; a `firmware-bars` event says when. */
async function snapshotFirmwareBars(run: QemuRun, qmp: QmpClient): Promise<BarPlacement | undefined> {
  try {
    await qmp.execute('stop');
    const pci = await withTimeout(qmp.execute('query-pci'), DIAGNOSE_MS);
    const placement = pci === undefined ? undefined : barPlacement(parseQueryPci(pci), PCI_TESTDEV_ID);
    run.emit({ event: 'firmware-bars', at: 'option-rom', bars: placement ? Object.fromEntries(placement) : null });
    return placement;
  } catch {
    return undefined;
  } finally {
    await qmp.execute('cont').catch(() => {});
  }
}

/**
 * The test devices' BARs (query-pci) and the machine they were judged against, as the own VMM's
 * `pci-bars` and `machine` events: phys-bits as the vCPU has it (what CPUID 0x80000008 reports),
 * RAM split as QEMU's pc splits it. Only pci-testdev's membar (BAR 2, 64-bit prefetchable) is a
 * scenario BAR; its fixed BARs 0 and 1 are left out.
 */
async function readBack(run: QemuRun, qmp: QmpClient, memMiB: number, firmware?: BarPlacement): Promise<void> {
  const pci = await withTimeout(qmp.execute('query-pci'), DIAGNOSE_MS);
  if (pci !== undefined) {
    const bars = readbackBars(parseQueryPci(pci), PCI_TESTDEV_ID, (b) => b.type === 'memory' && b.mem64 === true && b.prefetch === true, firmware);
    run.emit({ event: 'pci-bars', bars });
  }
  const cpus = await withTimeout(qmp.execute<Array<{ 'qom-path': string }>>('query-cpus-fast'), DIAGNOSE_MS);
  const path = cpus?.[0]?.['qom-path'];
  const physBits = path ? await withTimeout(qmp.execute<number>('qom-get', { path, property: 'phys-bits' }), DIAGNOSE_MS) : undefined;
  if (typeof physBits !== 'number') return;
  const { below4g, above4g } = pcRamSplit(memMiB);
  const memoryMap = [{ name: 'ram', gpa: 0, size: below4g }, ...(above4g > 0 ? [{ name: 'ram-high', gpa: 2 ** 32, size: above4g }] : [])];
  run.emit({ event: 'machine', physBits, memoryMap });
}
