// Parses HMP `info registers -a` (target/i386 x86_cpu_dump_state) into the per-vCPU register
// map a Diagnostic carries, so a failing QEMU boot explains itself like a failing own-VMM boot:
// general registers, instruction pointer and flags, control registers, EFER, and each segment's
// selector and base. FPU, SSE and debug registers are left out (noise in a boot diagnostic).
// Values are written as the own VMM writes them (`0x` and the hex digits without leading zeros), so
// one check reads both.

export interface VcpuRegisters {
  vcpu: number;
  regs: Record<string, string>;
}

const SEGMENT = /^(ES|CS|SS|DS|FS|GS|LDT|TR)\s*=([0-9a-f]+) ([0-9a-f]+) /;
const PAIR = /\b([A-Z][A-Z0-9]*)\s*=\s*([0-9a-f]+)\b/g;
const SKIP = /^(DR\d|FCW|FPR|XMM|YMM|ZMM|Opmask|PKRU|GDT|IDT)/;

const hex = (digits: string): string => `0x${BigInt(`0x${digits}`).toString(16)}`;

export function parseInfoRegisters(text: string): VcpuRegisters[] {
  const out: VcpuRegisters[] = [];
  let cur: VcpuRegisters | undefined;
  for (const line of text.split(/\r?\n/)) {
    const head = /^CPU#(\d+)/.exec(line);
    if (head) {
      cur = { vcpu: Number(head[1]), regs: {} };
      out.push(cur);
      continue;
    }
    if (!cur || SKIP.test(line)) continue;
    const seg = SEGMENT.exec(line);
    if (seg) {
      const name = seg[1]!.toLowerCase();
      cur.regs[name] = hex(seg[2]!);
      cur.regs[`${name}.base`] = hex(seg[3]!);
      continue;
    }
    for (const m of line.matchAll(PAIR)) cur.regs[m[1]!.toLowerCase()] = hex(m[2]!);
  }
  return out;
}
