// The QEMU binary a qemu:<accel> target runs: `QEMU` in the environment (a path or a command
// name), else qemu-system-x86_64 on PATH (Debian: qemu-system-x86, which bootstrap installs).
// Asks the binary what it has — accelerators (`-accel help`), the machine `pc` stands for
// (`-machine help`) — once per binary and process.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execaSync } from 'execa';
import { BootgateError } from '../../vmm/errors.js';

export const QEMU_ENV = 'QEMU';
export const DEFAULT_QEMU = 'qemu-system-x86_64';
export const INSTALL_HINT = `apt-get install qemu-system-x86 (npm test installs it), or set ${QEMU_ENV}=/path/to/qemu-system-x86_64`;

/** The configured binary name or path (not checked). */
export function qemuBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env[QEMU_ENV] || DEFAULT_QEMU;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of `binary` (searched on PATH when it has no slash), or undefined. */
export function findExecutable(binary: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (binary.includes('/')) return executable(binary) ? binary : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}

export function missingQemuError(binary: string): BootgateError {
  return new BootgateError('E_CONFIG', `QEMU binary ${binary} not found${binary.includes('/') ? '' : ' on PATH'}`, { hint: INSTALL_HINT });
}

/** The binary's absolute path; throws a one-line E_CONFIG error naming the fix when it is missing. */
export function requireQemu(env: NodeJS.ProcessEnv = process.env): string {
  const binary = qemuBinary(env);
  const path = findExecutable(binary, env);
  if (!path) throw missingQemuError(binary);
  return path;
}

const cache = new Map<string, string>();

function ask(path: string, args: string[]): string {
  const key = `${path}\0${args.join(' ')}`;
  let out = cache.get(key);
  if (out === undefined) {
    const r = execaSync(path, args, { reject: false, stdin: 'ignore', timeout: 10_000 });
    if (r.exitCode !== 0) {
      throw new BootgateError('E_CONFIG', `${path} ${args.join(' ')} failed (exit ${r.exitCode ?? r.signal}): ${String(r.stderr).trim().slice(0, 500)}`, {
        hint: INSTALL_HINT,
      });
    }
    out = String(r.stdout);
    cache.set(key, out);
  }
  return out;
}

/** `-accel help`: "Accelerators supported in QEMU binary:" then one name per line. */
export function parseAccelHelp(text: string): string[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => /^[a-z0-9_-]+$/.test(l));
}

/** `-machine help`: the line `pc ... (alias of pc-i440fx-7.2)` names what `pc` stands for. */
export function parseMachineAlias(text: string, alias: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s.*\(alias of (\S+)\)/.exec(line);
    if (m && m[1] === alias) return m[2];
  }
  return undefined;
}

export function qemuAccelerators(path: string): string[] {
  return parseAccelHelp(ask(path, ['-accel', 'help']));
}

export function qemuMachine(path: string, alias = 'pc'): string {
  return parseMachineAlias(ask(path, ['-machine', 'help']), alias) ?? alias;
}
