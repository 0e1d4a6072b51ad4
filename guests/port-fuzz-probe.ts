// The port-fuzz probe (probes/port-fuzz.asm), assembled once per seed and op count into
// guests/build/: a 64 KiB firmware image booted with --firmware-file.

import { assemble } from './nasm.js';

/** The line the probe prints when its reset came back: what a harness waits for. */
export const PORT_FUZZ_BACK = 'port-fuzz: reset came back';

export function portFuzzDoneLine(seed: number, ops: number): string {
  const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
  return `port-fuzz: seed ${hex8(seed)}: ${hex8(ops)} ops done`;
}

export async function portFuzzProbe(seed: number, ops: number): Promise<string> {
  if (!Number.isInteger(seed) || seed <= 0 || seed > 0xffff_ffff) throw new RangeError(`port-fuzz seed must be 1..0xffffffff (xorshift32 stays at 0), got ${seed}`);
  if (!Number.isInteger(ops) || ops < 1 || ops > 0xffff_ffff) throw new RangeError(`port-fuzz ops must be 1..0xffffffff, got ${ops}`);
  return assemble('probes/port-fuzz.asm', { SEED: `0x${seed.toString(16)}`, OPS: ops });
}
