// Target `vmm:kvm`: the own VMM, one process per VM started with execa (`bootgate boot`), its
// JSON-lines event stream read back into a BootResult. The process is killed at the harness
// timeout (a little after the VMM's own) so nothing is left running even if the VMM hangs.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { type BootResult, parseEventStream } from './boot-result.js';

/** The built CLI, whether this module runs from the sources (vitest) or from dist/ (the bench). */
const CLI = fileURLToPath(new URL('../../vmm/cli/main.js', import.meta.url)).replace(/\/(?:dist\/)?vmm\/cli\/main\.js$/, '/dist/vmm/cli/main.js');
/**
 * Extra time the harness grants the VMM to stop and write its final event after its own timeout;
 * inside the nested lab Node itself runs ~40x slower, so it gets much more.
 */
const KILL_GRACE_S = process.env.BOOTGATE_LAB === '1' ? 120 : 15;

export interface BootRequest {
  /** A guest from guests/catalog.ts (`debian-probe`, `debian-irqtest`), with its options. */
  guest?: string;
  reboot?: string;
  reboots?: number;
  irqtest?: string;
  /** Extra kernel command-line words for a Linux guest. */
  append?: string;
  firmware?: string;
  firmwareFile?: string;
  smp: number;
  memMiB?: number;
  quirks?: string[];
  timeoutS: number;
  until?: string;
  /** PCI test devices, one BAR list each ("mem64pref:32G,mem32:512M"). */
  pciTestDevices?: string[];
  physBits?: number;
}

/** Suites state timeouts for a native host; inside the lab everything runs several times slower. */
export const TIMEOUT_SCALE = process.env.BOOTGATE_LAB === '1' ? 4 : 1;

export function cliArgs(req: BootRequest, eventsFile: string): string[] {
  const timeout = String(req.timeoutS * TIMEOUT_SCALE);
  const args = ['boot', '--target', 'vmm:kvm', '--smp', String(req.smp), '--timeout', timeout, '--events', eventsFile];
  if (req.guest) args.push('--guest', req.guest);
  if (req.reboot) args.push('--reboot', req.reboot);
  if (req.reboots !== undefined) args.push('--reboots', String(req.reboots));
  if (req.irqtest) args.push('--irqtest', req.irqtest);
  if (req.append) args.push('--append', req.append);
  if (req.firmware) args.push('--firmware', req.firmware);
  if (req.firmwareFile) args.push('--firmware-file', req.firmwareFile);
  if (req.memMiB) args.push('--mem', String(req.memMiB));
  for (const q of req.quirks ?? []) args.push('--quirk', q);
  if (req.until) args.push('--until', req.until);
  for (const d of req.pciTestDevices ?? []) args.push('--pci-test-device', d);
  if (req.physBits !== undefined) args.push('--phys-bits', String(req.physBits));
  return args;
}

export async function bootOnOwnVmm(req: BootRequest): Promise<BootResult> {
  if (!existsSync(CLI)) throw new Error(`bootgate CLI not built at ${CLI} (fix: npm run build)`);
  const dir = mkdtempSync(join(tmpdir(), 'bootgate-'));
  const eventsFile = join(dir, 'events.jsonl');
  try {
    const proc = await execa('node', [CLI, ...cliArgs(req, eventsFile)], {
      reject: false,
      timeout: (req.timeoutS * TIMEOUT_SCALE + KILL_GRACE_S) * 1000,
      killSignal: 'SIGKILL',
      stdin: 'ignore',
    });
    const text = existsSync(eventsFile) ? readFileSync(eventsFile, 'utf8') : '';
    const result = parseEventStream('vmm:kvm', text, proc.stderr);
    if (proc.timedOut) {
      result.status = 'killed';
      result.error = { code: 'E_TIMEOUT', message: `VMM process did not exit within ${req.timeoutS * TIMEOUT_SCALE + KILL_GRACE_S} s and was killed` };
    } else if (!text.includes('"event":"final"')) {
      result.error ??= { code: 'E_INTERNAL', message: `VMM exited with code ${proc.exitCode} without a final event: ${proc.stderr.slice(-2000)}` };
      result.status = 'error';
      result.exitCode = proc.exitCode ?? -1;
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
