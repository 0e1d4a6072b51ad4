// Target `vmm:kvm`: the own VMM, one process per VM started with execa (`bootgate boot`), its
// JSON-lines event stream read back into a BootResult. The process is killed at the harness
// timeout (a little after the VMM's own) so nothing is left running even if the VMM hangs.
// `ownVmmTargetAt` is the same target on another build of the CLI (the bench's --baseline tree).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { type BootResult, parseEventStream } from '../boot-result.js';
import { LAB_ENV } from '../../lab/target.js';
import { type BootRequest, CANNOT_RUN_HERE, LAB_QEMU_KIND_ENV, needsPatchedLab, type Observation, resetAllowance, type Target } from '../target.js';

/** The built CLI, whether this module runs from the sources (vitest) or from dist/ (the bench). */
export const OWN_CLI = fileURLToPath(new URL('../../vmm/cli/main.js', import.meta.url)).replace(/\/(?:dist\/)?vmm\/cli\/main\.js$/, '/dist/vmm/cli/main.js');
/**
 * Extra time the harness grants the VMM to stop and write its final event after its own timeout;
 * inside the nested lab Node itself runs ~40x slower, so it gets much more.
 */
const KILL_GRACE_S = process.env.BOOTGATE_LAB === '1' ? 120 : 15;

/** Suites state timeouts for a native host; inside the lab everything runs several times slower. */
export const TIMEOUT_SCALE = process.env.BOOTGATE_LAB === '1' ? 4 : 1;

export const OWN_VMM_OBSERVES: ReadonlySet<Observation> = new Set<Observation>([
  'reset-vector-step',
  'reset-vector-mapping',
  'exit-profile',
  'firmware-high-hash',
  'rom-write-trap',
  'debugcon',
  'bar-readback',
  'quirks',
  'disk-interrupts',
  'irq-counters',
  'reset-path',
  'guest-refusals',
  'firmware-bar-placement-any',
  'ovmf',
]);

export function cliArgs(req: BootRequest, eventsFile: string): string[] {
  const timeout = String(req.timeoutS * TIMEOUT_SCALE);
  const args = ['boot', '--target', 'vmm:kvm', '--smp', String(req.smp), '--timeout', timeout, '--events', eventsFile];
  if (req.guest) args.push('--guest', req.guest);
  if (req.reboot) args.push('--reboot', req.reboot);
  if (req.reboots !== undefined) args.push('--reboots', String(req.reboots));
  if (req.irqtest) args.push('--irqtest', req.irqtest);
  if (req.append) args.push('--append', req.append);
  if (req.linux) {
    args.push('--kernel', req.linux.kernel);
    if (req.linux.initrd) args.push('--initrd', req.linux.initrd);
    if (req.linux.append) args.push('--append', req.linux.append);
  }
  if (req.firmware) args.push('--firmware', req.firmware);
  if (req.firmwareFile) args.push('--firmware-file', req.firmwareFile);
  if (req.flashVars) args.push('--flash-vars', req.flashVars);
  if (req.vars) args.push('--vars', req.vars);
  if (req.memMiB) args.push('--mem', String(req.memMiB));
  for (const q of req.quirks ?? []) args.push('--quirk', q);
  if (req.until) args.push('--until', req.until);
  args.push('--max-resets', String(resetAllowance(req)));
  for (const d of req.pciTestDevices ?? []) args.push('--pci-test-device', d);
  if (req.physBits !== undefined) args.push('--phys-bits', String(req.physBits));
  if (req.pciMmio64Mb !== undefined) args.push('--pci-mmio64-mb', String(req.pciMmio64Mb));
  if (req.disk !== undefined) args.push('--disk', req.disk);
  if (req.vcpuThreads !== undefined) args.push('--vcpu-threads', req.vcpuThreads);
  return args;
}

/** One boot on the own VMM built at `cli` (default: this checkout's dist/vmm/cli/main.js). */
export async function bootOnOwnVmm(req: BootRequest, cli: string = OWN_CLI, target = 'vmm:kvm'): Promise<BootResult> {
  if (req.guest !== undefined && req.linux !== undefined) {
    throw new TypeError(`a catalog guest (${req.guest}) and a kernel of its own (${req.linux.kernel}) are exclusive`);
  }
  if (!existsSync(cli)) throw new Error(`bootgate CLI not built at ${cli} (fix: npm run build)`);
  const dir = mkdtempSync(join(tmpdir(), 'bootgate-'));
  const eventsFile = join(dir, 'events.jsonl');
  try {
    const proc = await execa('node', [cli, ...cliArgs(req, eventsFile)], {
      reject: false,
      timeout: (req.timeoutS * TIMEOUT_SCALE + KILL_GRACE_S) * 1000,
      killSignal: 'SIGKILL',
      stdin: 'ignore',
    });
    const text = existsSync(eventsFile) ? readFileSync(eventsFile, 'utf8') : '';
    const result = parseEventStream(target, text, proc.stderr);
    if (proc.timedOut) {
      result.status = 'killed';
      result.error = { code: 'E_TIMEOUT', message: `VMM process did not exit within ${req.timeoutS * TIMEOUT_SCALE + KILL_GRACE_S} s and was killed` };
    } else if (!result.events.some((e) => e.event === 'final')) {
      result.error ??= { code: 'E_INTERNAL', message: `VMM exited with code ${proc.exitCode} without a final event: ${proc.stderr.slice(-2000)}` };
      result.status = 'error';
      result.exitCode = proc.exitCode ?? -1;
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The own VMM of the CLI build at `cli`, reported as `name`. */
export function ownVmmTargetAt(cli: string, name: string): Target {
  return {
    name,
    observes: OWN_VMM_OBSERVES,
    async unavailable() {
      return undefined; // a missing build fails the boot with the fix (npm run build), it is not a skip
    },
    cannotBoot(req) {
      // A whole conformance run inside the lab (--target vmm:kvm@lab) runs under the lab-qemu
      // fixture, which aborts on OVMF's CR8 writes (and would take the run with it) and faults or
      // hangs the disk image at SMP 2 or more.
      const needs = needsPatchedLab(req);
      if (needs && process.env[LAB_ENV] === '1' && process.env[LAB_QEMU_KIND_ENV] !== 'patched') {
        return `${CANNOT_RUN_HERE}this lab VM runs the lab-qemu fixture, which cannot run ${needs}; such boots run in the lab from the host's --target vmm:kvm, under the patched lab QEMU (docs/uefi.md, docs/lab-fault-rate.md)`;
      }
      return undefined;
    },
    boot: (req) => bootOnOwnVmm(req, cli, name),
  };
}

/** This checkout's own VMM, booted in this process's host (its /dev/kvm). */
export const ownVmmTarget: Target = ownVmmTargetAt(OWN_CLI, 'vmm:kvm');
