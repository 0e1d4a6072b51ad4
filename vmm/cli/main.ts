// The `bootgate` command line: one line per bad input, naming the problem and the fix.
// Each command's module is loaded when it runs, not before: a boot inside the nested lab, where
// Node runs its code about 40 times slower than on the host, then loads only the boot path
// (docs/host-and-lab.md, "Node start-up in the lab").

import { BootgateError } from '../errors.js';

const COMMANDS = `usage: bootgate <command> [options]
commands:
  boot     boot one machine (own VMM, QEMU, or either in the nested lab) and print its console
  lab      run a command inside the nested lab (QEMU TCG, emulated SVM, real /dev/kvm)
  doctor   what this host can run: /dev/kvm, QEMU, tools, fixtures`;

async function usage(): Promise<string> {
  const [boot, lab, doctor] = await Promise.all([import('./boot-command.js'), import('./lab-command.js'), import('./doctor-command.js')]);
  return `${COMMANDS}\n${boot.BOOT_USAGE}\n${lab.LAB_USAGE}\n${doctor.DOCTOR_USAGE}`;
}

/**
 * Whether `boot` with these words boots the own VMM in this process (no --target, or vmm:kvm), so
 * that its device owner's worker may start while the boot command's modules load
 * (owner-prewarm.ts). Anything unclear says no: the boot then starts the worker itself.
 */
export function bootsHere(words: readonly string[]): boolean {
  if (words.some((w) => w === '--help' || w === '-h')) return false;
  const targets = words.flatMap((w, i) => (w === '--target' ? [words[i + 1]] : w.startsWith('--target=') ? [w.slice('--target='.length)] : []));
  return targets.every((t) => t === 'vmm:kvm');
}

/** `boot` with the device owner's worker started first, and released if the boot never took it. */
async function bootWithEarlyOwner(words: string[]): Promise<number> {
  const prewarm = await import('../owner-prewarm.js');
  prewarm.prewarmOwner();
  try {
    return await (await import('./boot-command.js')).bootCommand(words);
  } finally {
    await prewarm.releasePrewarmedOwner();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'boot':
        if (!bootsHere(rest)) return await (await import('./boot-command.js')).bootCommand(rest);
        return await bootWithEarlyOwner(rest);
      case 'lab':
        return await (await import('./lab-command.js')).labCommand(rest);
      case 'doctor':
        return await (await import('./doctor-command.js')).doctorCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${await usage()}\n`);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`bootgate: E_CONFIG: unknown command ${JSON.stringify(command)} (fix: use one of: boot, lab, doctor)\n`);
        return 2;
    }
  } catch (e) {
    const line = refusalLine(e, command);
    if (line === undefined) throw e;
    process.stderr.write(`${line}\n`);
    return 2;
  }
}

/**
 * The one line a refusal prints (a BootgateError, or a bad option Node's argument parser
 * rejected), its exit code 2; undefined for anything else, which is an internal error. Shared
 * with the lab series (targets/vmm/lab-series.ts), which runs `boot` command lines in-process.
 */
export function refusalLine(e: unknown, command: string | undefined): string | undefined {
  if (e instanceof BootgateError) return e.toLine();
  const code = (e as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    // Node's message can span lines (the "ambiguous argument" advice): one line, as every refusal.
    const message = (e as Error).message.replace(/\s*\n\s*/g, ' ');
    return `bootgate: E_CONFIG: ${message} (fix: see bootgate ${command} --help)`;
  }
  return undefined;
}

const isEntry = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\/dist\//, '/dist/'));
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`bootgate: E_INTERNAL: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 70;
    },
  );
}
