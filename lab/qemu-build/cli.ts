// `node dist/lab/qemu-build/cli.js [--if-lab]`: build the lab's patched QEMU (build.ts) now,
// unless it is cached. The bootstrap of `npm test`, `npm run conformance` and `npm run uefi` runs it
// with --if-lab, before vitest starts, so that the build (about 4 min on 2 cores, once per machine
// and recipe) is its own step with its own output and not a surprise inside a suite's time.
// --if-lab: only on a Linux host whose own VMM runs OVMF and Linux in the nested lab (no /dev/kvm,
// or a PVM one: lab/capability.ts; a lab can start; no $QEMU of the user's); elsewhere nothing runs
// OVMF in the lab and it says so in one line.
// Errors as `bootgate: E_CODE: ... (fix: ...)`, exit 1.

import { parseArgs } from 'node:util';
import { BootgateError } from '../../vmm/errors.js';
import { QEMU_ENV } from '../qemu.js';
import { inLab, labAdvice, labUnavailable } from '../target.js';
import { cachedPatchedQemu, ensurePatchedQemu } from './build.js';

const USAGE = `usage: node dist/lab/qemu-build/cli.js [--if-lab]
  builds the nested lab's patched QEMU (lab/qemu-build/, docs/uefi.md) unless it is cached
  --if-lab   only when this host's own VMM runs OVMF in the lab (no /dev/kvm, or a PVM one); else say why not and exit 0`;

/**
 * Whether the own VMM's OVMF and Linux boots go to the lab: the capability the suites route by
 * (suites/harness/linux-runner.ts), not the device's existence. A PVM host has /dev/kvm, runs
 * SeaBIOS on it, and still boots OVMF in the lab.
 */
export function nativeGuestsNeedLab(): boolean {
  return !inLab() && labAdvice() !== undefined;
}

/** Why --if-lab builds nothing here, or undefined when the lab will need the binary. */
export function labNeedsNoBuild(env: NodeJS.ProcessEnv = process.env, needsLab: () => boolean = nativeGuestsNeedLab, platform: string = process.platform): string | undefined {
  if (env[QEMU_ENV]) return `$${QEMU_ENV} names the lab's QEMU`;
  // The lab's QEMU is a Debian build of Linux binaries (the lab-qemu fixture), and so is this one.
  if (platform !== 'linux') return `the nested lab runs on Linux hosts; this is ${platform}`;
  if (!needsLab()) return 'this host runs OVMF and Linux on the own VMM without the lab (its /dev/kvm has VT-x/SVM, or this is a lab VM)';
  const why = labUnavailable(env);
  return why ? `the nested lab cannot run here: ${why}` : undefined;
}

async function main(argv: string[]): Promise<number> {
  let ifLab: boolean;
  try {
    ifLab = parseArgs({ args: argv, options: { 'if-lab': { type: 'boolean', default: false } }, strict: true }).values['if-lab'] === true;
  } catch (err) {
    process.stderr.write(`bootgate: E_CONFIG: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const skip = ifLab ? labNeedsNoBuild() : undefined;
  if (skip) {
    process.stderr.write(`lab-qemu-uefi: not needed: ${skip}\n`);
    return 0;
  }
  if (cachedPatchedQemu()) return 0;
  try {
    await ensurePatchedQemu({ log: (line) => process.stderr.write(`${line}\n`) });
    return 0;
  } catch (err) {
    process.stderr.write(`${err instanceof BootgateError ? err.toLine() : `bootgate: E_INTERNAL: ${(err as Error).stack ?? String(err)}`}\n`);
    return 1;
  }
}

if (process.argv[1]?.endsWith('/qemu-build/cli.js')) process.exitCode = await main(process.argv.slice(2));
