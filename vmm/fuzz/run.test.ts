// The fuzzer's checkers, each fed a machine with a planted defect: a fuzzer that cannot fail
// would report "0 escapes" for any device.
import { afterAll, describe, expect, it } from 'vitest';
import type { BusDevice } from '../devices/device.js';
import { checkRead } from './checks.js';
import { FUZZ_RAM_BELOW_4G, FuzzPc, removeScratchDisk } from './fuzz-pc.js';
import { DEVICE_MODELS } from './models.js';
import { formatOps } from './ops.js';
import { fuzzModel, runSequence } from './run.js';

// The machines' scratch disk image (fuzz-pc.ts) goes with this file's tests.
afterAll(removeScratchDisk);

function device(name: string, read: BusDevice['read'], write: BusDevice['write'] = () => {}): BusDevice {
  return { name, read, write };
}

const SPARE_PORT = 0x700;

describe('fuzz checkers', () => {
  it('reports an exception that leaves the bus as an escape, naming the op', () => {
    const r = runSequence('seabios', [{ k: 'out', port: SPARE_PORT, size: 1, value: 1 }], {
      mutate: (pc) =>
        pc.pc.machine.pio.insert(SPARE_PORT, 1, device('thrower', () => {}, () => {
          throw new RangeError('offset out of range');
        })),
    });
    expect(r.finding).toMatchObject({ kind: 'escape', at: 1 });
    expect(r.finding!.message).toMatch(/outb 0x700 <- 0x1 threw RangeError: offset out of range/);
  });

  it('catches a device that writes past the access it was given (exit-buffer guard)', () => {
    const r = runSequence('seabios', [{ k: 'in', port: SPARE_PORT, size: 4 }], {
      mutate: (pc) => pc.pc.machine.pio.insert(SPARE_PORT, 4, device('overrun', (_o, data) => new Uint8Array(data.buffer, data.byteOffset, data.length + 1).fill(0))),
    });
    expect(r.finding).toMatchObject({ kind: 'out-of-bounds', at: 1 });
    expect(r.finding!.message).toMatch(/exit buffer: byte 0 past the end was written/);
  });

  it('catches a write before the start of guest RAM (RAM guard)', () => {
    const r = runSequence('seabios', [{ k: 'out', port: SPARE_PORT, size: 1, value: 0 }], {
      mutate: (pc) =>
        pc.pc.machine.pio.insert(SPARE_PORT, 1, device('wild', () => {}, () => {
          new Uint8Array(pc.ram.bytes.buffer)[pc.ram.bytes.byteOffset - 1] = 0;
        })),
    });
    expect(r.finding).toMatchObject({ kind: 'out-of-bounds', at: 0 });
    expect(r.finding!.message).toMatch(/guest RAM: byte 1 before the start was written/);
  });

  it('catches DMA served outside RAM when the Machine bounds check is broken', () => {
    const r = runSequence('seabios', [{ k: 'fwcfg-dma', at: 0x1000, control: 0x02, length: 4, addressHigh: 0, addressLow: 0xfee0_0000 }], {
      // A Machine that folds any address above low RAM into it instead of refusing it.
      mutate: (pc) => Object.assign(pc.pc.machine, { ramOffset: (gpa: number) => (gpa < FUZZ_RAM_BELOW_4G ? gpa : gpa % 0x1000) }),
    });
    expect(r.finding).toMatchObject({ kind: 'out-of-bounds', at: 1 });
    expect(r.finding!.message).toMatch(/write of 4 bytes at 0xfee00000 was served outside guest RAM/);
  });

  it('refuses (and counts) DMA outside RAM on the real Machine: no finding', () => {
    const r = runSequence('seabios', [{ k: 'fwcfg-dma', at: 0x1000, control: 0x02, length: 4, addressHigh: 0, addressLow: 0xfee0_0000 }]);
    expect(r.finding).toBeUndefined();
    expect(r).toMatchObject({ dmaTransfers: 1, dmaRefused: 1 });
  });

  it('flags reads outside a register’s documented set', () => {
    const pc = new FuzzPc('seabios');
    try {
      expect(checkRead(pc, { k: 'in', port: 0x3fa, size: 1 }, 0x35)).toMatch(/IIR read 0x35/);
      expect(checkRead(pc, { k: 'in', port: 0x3fa, size: 1 }, 0xc1)).toBeUndefined();
      expect(checkRead(pc, { k: 'in', port: 0x3fd, size: 1 }, 0x40)).toMatch(/TEMT set without THRE/);
      expect(checkRead(pc, { k: 'in', port: 0x514, size: 4 }, 0)).toMatch(/DMA signature/);
    } finally {
      pc.close();
    }
  });

  it('catches state a machine reset leaves behind', () => {
    const r = runSequence('seabios', [{ k: 'out', port: 0x3ff, size: 1, value: 0x5a }], {
      mutate: (pc) => Object.assign(pc.pc.uart, { reset: () => {} }),
    });
    expect(r.finding).toMatchObject({ kind: 'state', at: 0 });
    expect(r.finding!.message).toMatch(/16550 \+7: 0x5a after the reset, 0x0 at power-on/);
  });

  it('finds a planted defect under fast-check and shrinks it to a short readable sequence', () => {
    const uart = DEVICE_MODELS.find((m) => m.name === 'uart16550')!;
    const report = fuzzModel(uart, { ops: 20_000, seed: 7, mutate: (pc) => Object.assign(pc.pc.uart, { reset: () => {} }) });
    expect(report.stateFindings).toBe(1);
    expect(report.counterexample).toMatch(/a machine reset left state behind/);
    const lines = report.counterexample!.split('\n').filter((l) => /^\s+\d+ {2}/.test(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(3);
  });

  it('prints ops as the instructions a guest would run', () => {
    expect(
      formatOps([
        { k: 'out', port: 0x3fc, size: 2, value: 0x52f0 },
        { k: 'cfg-write', dev: 0x1f, fn: 0, reg: 0x10, size: 4, value: 0xffff_ffff },
        { k: 'mmio-read', gpa: 0xfff60000, size: 8 },
        { k: 'ide-dma', channel: 0, table: 0x1000, prds: [{ gpa: 0x1ffff0, bytes: 512, last: true }], toMemory: true, lba: 3, sectors: 1 },
      ]),
    ).toBe(
      [
        '  1  outw 0x3fc <- 0x52f0',
        '  2  cfg 00:1f.0 [0x10]l <- 0xffffffff',
        '  3  readq [0xfff60000]',
        '  4  IDE primary DMA read lba 3 x1, PRD table at 0x1000: 0x1ffff0+0x200 EOT',
      ].join('\n'),
    );
  });
});
