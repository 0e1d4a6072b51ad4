// The `bootgate` command line: one line per bad input, naming the problem and the fix.

import { BootgateError } from '../errors.js';
import { BOOT_USAGE, bootCommand } from './boot-command.js';
import { DOCTOR_USAGE, doctorCommand } from './doctor-command.js';
import { LAB_USAGE, labCommand } from './lab-command.js';

const USAGE = `usage: bootgate <command> [options]
commands:
  boot     boot one machine (own VMM, QEMU, or either in the nested lab) and print its console
  lab      run a command inside the nested lab (QEMU TCG, emulated SVM, real /dev/kvm)
  doctor   what this host can run: /dev/kvm, QEMU, tools, fixtures
${BOOT_USAGE}
${LAB_USAGE}
${DOCTOR_USAGE}`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'boot':
        return await bootCommand(rest);
      case 'lab':
        return await labCommand(rest);
      case 'doctor':
        return await doctorCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`bootgate: E_CONFIG: unknown command ${JSON.stringify(command)} (fix: use one of: boot, lab, doctor)\n`);
        return 2;
    }
  } catch (e) {
    if (e instanceof BootgateError) {
      process.stderr.write(`${e.toLine()}\n`);
      return 2;
    }
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      // Node's message can span lines (the "ambiguous argument" advice): one line, as every refusal.
      const message = (e as Error).message.replace(/\s*\n\s*/g, ' ');
      process.stderr.write(`bootgate: E_CONFIG: ${message} (fix: see bootgate ${command} --help)\n`);
      return 2;
    }
    throw e;
  }
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
