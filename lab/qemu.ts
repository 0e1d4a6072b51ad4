// Which QEMU the lab runs: `BOOTGATE_LAB_QEMU_BINARY` or `$QEMU` when set, else the patched build
// of lab/qemu-build/ (QEMU 10.0.2 with the fixes for its emulated SVM's faults,
// docs/lab-fault-rate.md) where it is cached or can be built, else the `lab-qemu` fixture: the
// same release from bookworm-backports, unpacked, not installed. Debian 12's QEMU 7.2 TCG (SVM
// emulation) wedged or crashed under nested SMP 2-8 guests in measured runs. Either binary runs
// on the shared libraries (libglib, libpixman, libfdt, libslirp, ...) and the firmware
// (/usr/share/qemu: bios-256k.bin, linuxboot_dma.bin) of the installed qemu-system-x86 7.2, which
// is why the lab still needs that package (`qemuBinary`, the availability check). Also `setpriv`
// (util-linux), used to give QEMU a parent-death signal so that a lab VM cannot outlive a bootgate
// process killed with SIGKILL.

import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { ensureFixtures } from '../fixtures/fixtures.js';
import { isOffline } from '../fixtures/fetch.js';
import { cachedPatchedQemu, cannotBuildPatchedQemu, ensurePatchedQemu } from './qemu-build/build.js';
import { BootgateError } from '../vmm/errors.js';

export const QEMU_ENV = 'QEMU';
/**
 * BOOTGATE_LAB_QEMU_BINARY: the lab VM's own QEMU only (an instrumented or patched build under test),
 * where $QEMU would also be the QEMU the suites boot as a stack. A diagnostic; it wins over both.
 */
export const LAB_QEMU_BINARY_ENV = 'BOOTGATE_LAB_QEMU_BINARY';
export const DEFAULT_QEMU = 'qemu-system-x86_64';
export const LAB_QEMU_FIXTURE = 'lab-qemu';

/** The absolute path of `command` on PATH (or itself when it holds a slash), or undefined. */
export function which(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (command.includes('/')) return executable(command) ? command : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isAbsolute(dir) && executable(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

/** The QEMU binary to run; a missing one is an error that says how to install it. */
export function qemuBinary(env: NodeJS.ProcessEnv = process.env): string {
  const wanted = env[QEMU_ENV] || DEFAULT_QEMU;
  const found = which(wanted, env);
  if (!found) {
    throw new BootgateError(
      'E_FIXTURE',
      env[QEMU_ENV] ? `$${QEMU_ENV} is ${JSON.stringify(wanted)}, which is not an executable` : `${DEFAULT_QEMU} is not on PATH; the nested lab runs under QEMU TCG`,
      { hint: env[QEMU_ENV] ? `point $${QEMU_ENV} at qemu-system-x86_64` : 'apt-get install qemu-system-x86 (npm run bench installs it)' },
    );
  }
  return found;
}

/**
 * Which QEMU a lab VM runs: `patched` (the lab-qemu fixture's release built with the patches of
 * lab/qemu-build/, which fix its emulated SVM's faults: every lab's QEMU where it can be had) or
 * `fixture` (the lab-qemu fixture as shipped: the fallback where the build cannot be had, which
 * cannot run the boots of targets/target.ts needsPatchedLab).
 */
export type LabQemuKind = 'fixture' | 'patched';

/**
 * The lab's QEMU for a boot that does not need the patched build: the patched build when it is
 * cached or this host can build it (docs/lab-fault-rate.md: the fixture's emulated SVM faults
 * about one SMP 8 boot in four), else the fixture.
 */
export function defaultLabQemuKind(env: NodeJS.ProcessEnv = process.env, canBuild: () => boolean = () => cannotBuildPatchedQemu() === undefined): LabQemuKind {
  if (cachedPatchedQemu(env) !== undefined) return 'patched';
  return !isOffline(env) && canBuild() ? 'patched' : 'fixture';
}

/**
 * The QEMU binary the lab VM runs: `$QEMU`, else the lab-qemu fixture (fetched on first use) or,
 * for `patched`, the patched build (built on first use), checked to start (`--version`): a missing
 * shared library is named with the fix.
 */
export async function labQemuBinary(log?: (line: string) => void, env: NodeJS.ProcessEnv = process.env, kind: LabQemuKind = defaultLabQemuKind(env)): Promise<string> {
  const own = env[LAB_QEMU_BINARY_ENV];
  if (own) {
    if (!isAbsolute(own) || which(own, env) === undefined) {
      throw new BootgateError('E_CONFIG', `${LAB_QEMU_BINARY_ENV}=${JSON.stringify(own)} is not an executable file`, { hint: `point ${LAB_QEMU_BINARY_ENV} at a qemu-system-x86_64 binary by its absolute path` });
    }
    return own;
  }
  if (env[QEMU_ENV]) return qemuBinary(env);
  qemuBinary(env); // the installed package: both run on its libraries and firmware
  const path = kind === 'patched' ? await ensurePatchedQemu({ env, log }) : (await ensureFixtures([LAB_QEMU_FIXTURE], { log }))[0]!.path;
  const what = kind === 'patched' ? `the lab's patched QEMU (${path})` : `the lab's QEMU (fixture ${LAB_QEMU_FIXTURE}, ${path})`;
  const { error } = await runVersion(path);
  if (error !== undefined) {
    throw new BootgateError('E_FIXTURE', `${what} does not start: ${error}`, {
      hint: `apt-get install qemu-system-x86 (the lab's QEMU uses its libraries), or point $${QEMU_ENV} at another qemu-system-x86_64`,
    });
  }
  return path;
}

/** `qemu --version`: the version (`7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)`), or why it does not run (stderr: a missing library, a bad ELF). */
function runVersion(binary: string): Promise<{ version?: string; error?: string }> {
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) return resolve({ error: String(stderr).trim().split('\n').slice(-2).join(' | ') || error.message });
      const m = /version\s+(.+)/i.exec(String(stdout).split('\n')[0] ?? '');
      resolve({ version: m?.[1]?.trim() });
    });
  });
}

/** The version `qemu --version` prints, or undefined when it does not run. */
export async function qemuVersion(binary: string): Promise<string | undefined> {
  return (await runVersion(binary)).version;
}

/** `[setpriv, --pdeathsig, KILL, --]` when util-linux setpriv is present, else nothing. */
export function deathSignalPrefix(env: NodeJS.ProcessEnv = process.env): string[] {
  const setpriv = which('setpriv', env);
  return setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
}
