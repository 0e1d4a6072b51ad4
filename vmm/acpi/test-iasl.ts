// Test helper: run ACPICA's iasl (Debian package acpica-tools) on ASL or AML in a temporary
// directory. The ACPI unit tests compare bootgate's encoder against it and use its disassembler as
// an independent parser of the tables; without iasl they fail with the command that installs it.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const IASL_MISSING = 'iasl (ACPICA) is not installed: run `apt-get install acpica-tools`';

let checked = false;

/** Throws with the install command when iasl is not on PATH. */
export function requireIasl(): void {
  if (checked) return;
  const probe = spawnSync('iasl', ['-v'], { encoding: 'utf8' });
  if (probe.error) throw new Error(IASL_MISSING, { cause: probe.error });
  checked = true;
}

export interface IaslResult {
  /** Everything iasl printed (stdout and stderr). */
  log: string;
  /** The produced file: AML for a compile, the .dsl text for a disassembly. */
  output: Uint8Array;
}

function run(args: string[], dir: string): string {
  const r = spawnSync('iasl', args, { cwd: dir, encoding: 'utf8' });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) throw new Error(IASL_MISSING, { cause: r.error });
  if (r.status !== 0) throw new Error(`iasl ${args.join(' ')} failed (exit ${r.status}):\n${log}`);
  return log;
}

function inTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'bootgate-iasl-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Compile ASL source. `-on` turns off iasl's named-reference optimisation, so names come out as
 * written; integer optimisation stays on (Zero/One/Byte... as the encoder picks).
 */
export function compileAsl(source: string): IaslResult {
  requireIasl();
  return inTempDir((dir) => {
    writeFileSync(join(dir, 't.asl'), source);
    const log = run(['-on', '-p', join(dir, 'out'), 't.asl'], dir);
    return { log, output: new Uint8Array(readFileSync(join(dir, 'out.aml'))) };
  });
}

/** Disassemble one table (`iasl -d`); the output is the .dsl text as bytes. */
export function disassemble(table: Uint8Array): IaslResult {
  requireIasl();
  return inTempDir((dir) => {
    writeFileSync(join(dir, 't.dat'), table);
    const log = run(['-d', 't.dat'], dir);
    const dsl = readdirSync(dir).find((f) => f.endsWith('.dsl'));
    if (!dsl) throw new Error(`iasl -d wrote no .dsl file:\n${log}`);
    return { log, output: new Uint8Array(readFileSync(join(dir, dsl))) };
  });
}

/** Size of an ACPI table header: what iaslTermBytes strips. */
const TABLE_HEADER_SIZE = 36;

/**
 * The AML iasl emits for `body` inside a revision-2 (64-bit integer) definition block, without the
 * table header: what an encoder's terms must equal byte for byte. Throws unless iasl reports success.
 */
export function iaslTermBytes(body: string): Uint8Array {
  const { output, log } = compileAsl(`DefinitionBlock ("", "SSDT", 2, "BOCHS ", "BXPC    ", 1)\n{\n${body}\n}\n`);
  if (!/Compilation successful\. 0 Errors/.test(log)) throw new Error(`iasl did not compile cleanly:\n${log}`);
  return output.subarray(TABLE_HEADER_SIZE);
}
