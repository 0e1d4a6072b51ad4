// Which QEMU the lab runs: `$QEMU` when set (a path or a name on PATH), else qemu-system-x86_64
// from PATH, which is Debian's qemu-system-x86 package (apt-get install qemu-system-x86). An
// unpacked (not installed) QEMU would also need its shared libraries (libglib, libpixman,
// libfdt, libslirp, ...) on the loader path, which is why the lab uses the installed one.
// Also `setpriv` (util-linux), used to give QEMU a parent-death signal so that a lab VM cannot
// outlive a bootgate process killed with SIGKILL.

import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { BootgateError } from '../vmm/errors.js';

export const QEMU_ENV = 'QEMU';
export const DEFAULT_QEMU = 'qemu-system-x86_64';

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

/** `7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)` from `qemu --version`, or undefined when it does not run. */
export function qemuVersion(binary: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(binary, ['--version'], { timeout: 10_000 }, (error, stdout) => {
      if (error) return resolve(undefined);
      const m = /version\s+(.+)/i.exec(String(stdout).split('\n')[0] ?? '');
      resolve(m?.[1]?.trim());
    });
  });
}

/** `[setpriv, --pdeathsig, KILL, --]` when util-linux setpriv is present, else nothing. */
export function deathSignalPrefix(env: NodeJS.ProcessEnv = process.env): string[] {
  const setpriv = which('setpriv', env);
  return setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
}
