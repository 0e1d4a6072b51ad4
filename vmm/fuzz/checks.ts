// What must hold whatever the guest did, checked by the fuzzer:
// - readChecks: values a register may show (its documented set), checked on every read the fuzzer
//   makes: the 16550's IIR codes and LSR's TEMT-implies-THRE, the interrupt test device's ID, the
//   fw_cfg DMA signature;
// - signature: what a machine reset must bring back. Registers that survive a reset on hardware
//   are left out on purpose: CMOS RAM and the RTC (battery-backed), flash contents, fw_cfg items a
//   guest wrote, the PM timer (time), the disk's sectors. Everything else a guest can read must be
//   at its power-on value after a reset, however the devices were left.

import { IRQ_TEST_ID, REG_ID } from '../devices/pci/irq-test-regs.js';
import type { FuzzPc } from './fuzz-pc.js';
import type { Op } from './ops.js';

const UART_BASE = 0x3f8;
const UART_IIR = 2;
const UART_LSR = 5;
const IIR_CODES = new Set([0x00, 0x01, 0x02, 0x04, 0x06, 0x0c]);
const FWCFG_DMA_PORT = 0x514;
const FWCFG_DMA_SIGNATURE = 'QEMU CFG';

/** A value read by `op` that lies outside the register's documented set, described; else undefined. */
export function checkRead(pc: FuzzPc, op: Op, value: number): string | undefined {
  if (op.k === 'in') {
    const r = pc.pc.machine.pio.find(op.port);
    if (r?.device.name === 'uart16550' && op.size === 1) {
      const reg = op.port - r.base;
      if (reg === UART_IIR && (!IIR_CODES.has(value & 0x0f) || (value & 0x30) !== 0 || ![0x00, 0xc0].includes(value & 0xc0))) {
        return `16550 IIR read 0x${value.toString(16)}: not an interrupt code with FIFO bits 00 or 11`;
      }
      if (reg === UART_LSR && value & 0x40 && !(value & 0x20)) return `16550 LSR read 0x${value.toString(16)}: TEMT set without THRE`;
    }
    if (r?.device.name === 'fw_cfg' && op.port === FWCFG_DMA_PORT && op.size === 4) {
      const want = [...FWCFG_DMA_SIGNATURE.slice(0, 4)].reduce((v, c, i) => v + c.charCodeAt(0) * 256 ** i, 0);
      if (value !== want) return `fw_cfg DMA signature read 0x${value.toString(16)}, want "QEMU" (0x${want.toString(16)})`;
    }
  }
  if (op.k === 'mmio-read' && op.size === 4) {
    const r = pc.pc.machine.mmio.find(op.gpa);
    if (r?.device.name.startsWith('irq-test') && op.gpa - r.base === REG_ID && value !== IRQ_TEST_ID) {
      return `interrupt test device ID read 0x${value.toString(16)}, want 0x${IRQ_TEST_ID.toString(16)}`;
    }
  }
  return undefined;
}

/** Config space of every function on bus 0, as 32-bit reads; absent functions are skipped. */
function pciSignature(pc: FuzzPc, out: Map<string, number | string>): void {
  for (let dev = 0; dev < 32; dev++) {
    for (let fn = 0; fn < 8; fn++) {
      const id = pc.cfgRead(dev, fn, 0, 4);
      out.set(`pci ${dev.toString(16)}.${fn} id`, id);
      if (id === 0xffff_ffff) continue;
      for (let reg = 4; reg < 0x100; reg += 4) out.set(`pci ${dev.toString(16)}.${fn} [0x${reg.toString(16)}]`, pc.cfgRead(dev, fn, reg, 4));
    }
  }
}

/**
 * What a guest can read after a reset, register by register. Reads with side effects (16550 RBR,
 * i8042 data) are made the same way on both machines compared, so they compare like for like.
 */
export function resetSignature(pc: FuzzPc): Map<string, number | string> {
  const out = new Map<string, number | string>();
  pciSignature(pc, out);
  for (let reg = 1; reg < 8; reg++) out.set(`16550 +${reg}`, pc.in(UART_BASE + reg, 1));
  out.set('i8042 status', pc.in(0x64, 1));
  out.set('port 0x92', pc.in(0x92, 1));
  out.set('0xcf9', pc.in(0xcf9, 1));
  for (const [name, base, control] of [
    ['ide primary', 0x1f0, 0x3f6],
    ['ide secondary', 0x170, 0x376],
  ] as const) {
    for (let reg = 1; reg < 8; reg++) out.set(`${name} +${reg}`, pc.in(base + reg, 1));
    out.set(`${name} alt-status`, pc.in(control, 1));
  }
  out.set('fw_cfg selection', [0, 1, 2, 3].map(() => pc.in(0x511, 1)).join(','));
  out.set('gpe0', pc.in(0xafe0, 4));
  // The memory map: the slots the accelerator was told about, and the trap regions on the MMIO bus.
  for (const s of [...pc.vm.slots.values()].sort((a, b) => a.slot - b.slot)) {
    out.set(`slot ${s.slot}`, `${s.name} 0x${s.gpa.toString(16)}+0x${s.size.toString(16)} ${s.flags.write ? 'rw' : 'ro'}`);
  }
  for (const r of pc.pc.machine.mmio.list()) out.set(`mmio ${r.device.name}`, `0x${r.base.toString(16)}+0x${r.span.toString(16)}`);
  for (const r of pc.pc.machine.pio.list()) out.set(`pio ${r.device.name}`, `0x${r.base.toString(16)}+0x${r.span.toString(16)}`);
  return out;
}

/** The registers where `after` differs from `fresh`, as lines. */
export function signatureDiff(fresh: Map<string, number | string>, after: Map<string, number | string>): string[] {
  const keys = new Set([...fresh.keys(), ...after.keys()]);
  const fmt = (v: number | string | undefined) => (typeof v === 'number' ? `0x${v.toString(16)}` : String(v));
  return [...keys].filter((k) => fresh.get(k) !== after.get(k)).map((k) => `${k}: ${fmt(after.get(k))} after the reset, ${fmt(fresh.get(k))} at power-on`);
}
