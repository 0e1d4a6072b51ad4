// The fuzzer's guest actions: what a vCPU can do to the machine (port and MMIO accesses of every
// size, PCI configuration cycles, fw_cfg DMA and IDE bus-master DMA with guest-chosen descriptors,
// plain RAM writes that lay out tables, a machine reset), and how each prints. A shrunk
// counterexample is a list of these lines, readable as the instructions a guest would run.

export type Op =
  | { k: 'in'; port: number; size: 1 | 2 | 4 }
  | { k: 'out'; port: number; size: 1 | 2 | 4; value: number }
  | { k: 'mmio-read'; gpa: number; size: 1 | 2 | 4 | 8 }
  | { k: 'mmio-write'; gpa: number; size: 1 | 2 | 4 | 8; value: number }
  | { k: 'cfg-read'; dev: number; fn: number; reg: number; size: 1 | 2 | 4 }
  | { k: 'cfg-write'; dev: number; fn: number; reg: number; size: 1 | 2 | 4; value: number }
  /** Lay out a fw_cfg DMA descriptor at `at` (when that is RAM) and ring the doorbell with `at`. */
  | { k: 'fwcfg-dma'; at: number; control: number; length: number; addressHigh: number; addressLow: number }
  /** Lay out a PRD table at `table` (when RAM), point channel `channel` at it and run an ATA DMA command. */
  | { k: 'ide-dma'; channel: 0 | 1; table: number; prds: Array<{ gpa: number; bytes: number; last: boolean }>; toMemory: boolean; lba: number; sectors: number }
  | { k: 'reset' };

const SUFFIX = { 1: 'b', 2: 'w', 4: 'l', 8: 'q' } as const;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** One op as a line a person reads: `outb 0x3f9 <- 0xf`, `cfg 00:1f.0 [0x10]l <- 0xffffffff`. */
export function formatOp(op: Op): string {
  switch (op.k) {
    case 'in':
      return `in${SUFFIX[op.size]} ${hex(op.port)}`;
    case 'out':
      return `out${SUFFIX[op.size]} ${hex(op.port)} <- ${hex(op.value)}`;
    case 'mmio-read':
      return `read${SUFFIX[op.size]} [${hex(op.gpa)}]`;
    case 'mmio-write':
      return `write${SUFFIX[op.size]} [${hex(op.gpa)}] <- ${hex(op.value)}`;
    case 'cfg-read':
      return `cfg ${bdf(op.dev, op.fn)} [${hex(op.reg)}]${SUFFIX[op.size]}`;
    case 'cfg-write':
      return `cfg ${bdf(op.dev, op.fn)} [${hex(op.reg)}]${SUFFIX[op.size]} <- ${hex(op.value)}`;
    case 'fwcfg-dma':
      return `fw_cfg DMA descriptor at ${hex(op.at)}: control ${hex(op.control)} length ${hex(op.length)} address 0x${(BigInt(op.addressHigh) * 2n ** 32n + BigInt(op.addressLow)).toString(16)}`;
    case 'ide-dma':
      return (
        `IDE ${op.channel === 0 ? 'primary' : 'secondary'} DMA ${op.toMemory ? 'read' : 'write'} lba ${op.lba} x${op.sectors}, PRD table at ${hex(op.table)}: ` +
        (op.prds.map((p) => `${hex(p.gpa)}+${hex(p.bytes)}${p.last ? ' EOT' : ''}`).join(', ') || '(empty)')
      );
    case 'reset':
      return 'machine reset';
  }
}

function bdf(dev: number, fn: number): string {
  return `00:${dev.toString(16).padStart(2, '0')}.${fn}`;
}

export function formatOps(ops: readonly Op[]): string {
  return ops.map((op, i) => `${String(i + 1).padStart(3)}  ${formatOp(op)}`).join('\n');
}
