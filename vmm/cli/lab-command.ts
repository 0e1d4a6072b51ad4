// `bootgate lab [options] -- <command...>`: run one command inside a fresh nested lab VM (QEMU
// TCG with emulated SVM, kvm-amd loaded, the host root read-only over 9p, the bootgate repository
// writable) in this working directory; its stdout and stderr come out here as they are written,
// the lab's own console only with --verbose, and bootgate exits with the command's exit code.
// Exit codes of bootgate itself: 124 when the run timed out (the console tail says where), 2 for
// bad input, 1 when the lab could not be set up or QEMU died.

import { parseArgs } from 'node:util';
import { LAB_DEFAULTS, runInLab } from '../../lab/run.js';
import { BootgateError, configError } from '../errors.js';

export const LAB_USAGE = `usage: bootgate lab [--smp N] [--mem MiB] [--timeout S] [--rw DIR]... [--verbose] -- <command...>
  --smp N        lab vCPUs (default ${LAB_DEFAULTS.smp})
  --mem MiB      lab memory (default ${LAB_DEFAULTS.memMiB})
  --timeout S    seconds from the lab's start, boot included, before it is killed (default ${LAB_DEFAULTS.timeoutS})
  --rw DIR       share DIR writable at its own path (repeatable; default: the bootgate repository)
  --verbose      echo the lab console (kernel, init) to stderr
  The host's root is read-only inside, /tmp /var/tmp /run are scratch tmpfs; no network, stdin is empty.
  $QEMU overrides the QEMU binary (default qemu-system-x86_64 on PATH).`;

const EXIT_TIMEOUT = 124;
const EXIT_FAILED = 1;

const OPTIONS = {
  smp: { type: 'string' },
  mem: { type: 'string' },
  timeout: { type: 'string' },
  rw: { type: 'string', multiple: true },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Splits `[options] [--] command...`: the command starts after `--` or at the first word that is not an option. */
export function splitLabArgs(argv: readonly string[]): { options: string[]; command: string[] } {
  const dashdash = argv.indexOf('--');
  if (dashdash >= 0) return { options: argv.slice(0, dashdash), command: argv.slice(dashdash + 1) };
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const name = argv[i]!.replace(/^-+/, '');
    const spec = (OPTIONS as Record<string, { type: string }>)[name];
    i += spec?.type === 'string' && !argv[i]!.includes('=') ? 2 : 1;
  }
  return { options: argv.slice(0, i), command: argv.slice(i) };
}

function intValue(option: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw configError(option, raw, 'a positive integer');
  return Number(raw);
}

export async function labCommand(argv: string[]): Promise<number> {
  const { options, command } = splitLabArgs(argv);
  const { values } = parseArgs({ args: options, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${LAB_USAGE}\n`);
    return 0;
  }
  if (command.length === 0) {
    throw new BootgateError('E_CONFIG', 'no command to run in the lab', { hint: 'put it after --, e.g. bootgate lab -- cat /proc/cpuinfo' });
  }
  const result = await runInLab({
    command,
    smp: intValue('--smp', values.smp),
    memMiB: intValue('--mem', values.mem),
    timeoutS: intValue('--timeout', values.timeout),
    rw: values.rw,
    onOutput: (stream, chunk) => (stream === 'stdout' ? process.stdout : process.stderr).write(chunk),
    onConsole: values.verbose ? (chunk) => process.stderr.write(chunk) : undefined,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (result.status === 'exited') return result.exitCode!;
  process.stderr.write(`${result.error!.toLine()}\n`);
  return result.status === 'timeout' ? EXIT_TIMEOUT : EXIT_FAILED;
}
