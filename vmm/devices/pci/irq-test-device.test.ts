import { afterEach, describe, expect, it, vi } from 'vitest';
import { MmioBus } from '../../bus/bus.js';
import { getLE, setLE } from '../device.js';
import { FakeServices } from '../legacy/test-services.js';
import {
  FIRE_MAX,
  IRQ_TEST_DEVICE_ID,
  IRQ_TEST_ID,
  IRQ_TEST_VENDOR_ID,
  IrqTestDevice,
  MODE_MSI,
  MSI_CAP,
  REG_ACK,
  REG_ACKED,
  REG_CANCEL,
  REG_FIRE,
  REG_ID,
  REG_MODE,
  REG_PENDING,
  REG_RAISED,
  REG_SCRATCH,
  REG_STATUS,
  STATUS_BLOCKED,
  STATUS_OUTSTANDING,
  STATUS_PENDING,
} from './irq-test-device.js';
import { PCI_COMMAND, PCI_COMMAND_MEMORY, PCI_STATUS } from './pci-function.js';

const BAR = 0xfebf_0000;
const COMMAND_MASTER = 0x0004;
const COMMAND_INTX_DISABLE = 0x0400;
const STATUS_INTERRUPT = 0x0008;
const MSI_FLAGS = MSI_CAP + 2;

class FakeMachine extends FakeServices {
  readonly msis: Array<{ lo: number; hi: number; data: number }> = [];
  signalMsi(lo: number, hi: number, data: number): void {
    this.msis.push({ lo, hi, data });
  }
}

function setup(gsi: () => number | null = () => 11) {
  const mmio = new MmioBus();
  const machine = new FakeMachine();
  const dev = new IrqTestDevice({ bdf: { bus: 0, device: 0x1f, function: 0 }, mmio, services: machine, gsiFor: gsi });
  dev.writeConfig(0x10, 4, BAR);
  dev.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  const read = (reg: number) => {
    const data = new Uint8Array(4);
    mmio.read(BAR + reg, data);
    return getLE(data);
  };
  const write = (reg: number, value: number) => {
    const data = new Uint8Array(4);
    setLE(data, value);
    mmio.write(BAR + reg, data);
  };
  return { dev, mmio, machine, read, write };
}

/** Program and enable MSI the way Linux's msi_capability_init does: address, data, then enable + bus master. */
function enableMsi(dev: IrqTestDevice, dest = 0, vector = 0x41) {
  dev.writeConfig(MSI_CAP + 4, 4, 0xfee0_0000 | (dest << 12));
  dev.writeConfig(MSI_CAP + 8, 4, 0);
  dev.writeConfig(MSI_CAP + 12, 2, vector);
  dev.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | COMMAND_MASTER);
  dev.writeConfig(MSI_FLAGS, 2, 0x0001);
}

describe('IrqTestDevice config space', () => {
  it('has its IDs, INTA#, a capability list and a 64-bit MSI capability at 0x40', () => {
    const { dev } = setup();
    expect(dev.readConfig(0, 2)).toBe(IRQ_TEST_VENDOR_ID);
    expect(dev.readConfig(2, 2)).toBe(IRQ_TEST_DEVICE_ID);
    expect(dev.readConfig(0x0a, 2)).toBe(0x00ff);
    expect(dev.readConfig(0x3d, 1)).toBe(1);
    expect(dev.readConfig(PCI_STATUS, 2) & 0x10).toBe(0x10);
    expect(dev.readConfig(0x34, 1)).toBe(MSI_CAP);
    expect(dev.readConfig(MSI_CAP, 2)).toBe(0x0005); // MSI, end of list
    expect(dev.readConfig(MSI_FLAGS, 2)).toBe(0x0080); // 64-bit, one message, disabled
  });

  it('lets the guest set only enable and multiple-message-enable, a dword-aligned address and 16 data bits', () => {
    const { dev } = setup();
    dev.writeConfig(MSI_FLAGS, 2, 0xffff);
    expect(dev.readConfig(MSI_FLAGS, 2)).toBe(0x00f1);
    dev.writeConfig(MSI_CAP + 4, 4, 0xffff_ffff);
    expect(dev.readConfig(MSI_CAP + 4, 4)).toBe(0xffff_fffc);
    dev.writeConfig(MSI_CAP + 8, 4, 0x1234_5678);
    expect(dev.readConfig(MSI_CAP + 8, 4)).toBe(0x1234_5678);
    dev.writeConfig(MSI_CAP + 12, 4, 0xffff_ffff);
    expect(dev.readConfig(MSI_CAP + 12, 4)).toBe(0x0000_ffff);
  });

  it('decodes BAR 0 as 4 KiB of registers only while memory decode is on', () => {
    const { dev, mmio, read, write } = setup();
    expect(mmio.find(BAR + 0xfff)?.device.name).toBe('irq-test@00:1f.0-bar0');
    expect(read(REG_ID)).toBe(IRQ_TEST_ID);
    write(REG_SCRATCH, 0xdead_beef);
    expect(read(REG_SCRATCH)).toBe(0xdead_beef);
    dev.writeConfig(PCI_COMMAND, 2, 0);
    expect(mmio.find(BAR)).toBeUndefined();
  });
});

describe('IrqTestDevice INTx', () => {
  it('raises exactly N level interrupts, the next only after the ACK of the previous', () => {
    const { dev, machine, read, write } = setup();
    write(REG_FIRE, 3);
    expect(machine.irqCalls).toEqual([{ gsi: 11, level: true }]);
    expect(read(REG_STATUS)).toBe(STATUS_OUTSTANDING | STATUS_PENDING);
    expect(read(REG_PENDING)).toBe(2);
    expect(dev.readConfig(PCI_STATUS, 2) & STATUS_INTERRUPT).toBe(STATUS_INTERRUPT);
    for (let i = 0; i < 3; i++) write(REG_ACK, 1);
    expect(machine.irqCalls).toEqual([
      { gsi: 11, level: true },
      { gsi: 11, level: false },
      { gsi: 11, level: true },
      { gsi: 11, level: false },
      { gsi: 11, level: true },
      { gsi: 11, level: false },
    ]);
    expect(machine.risingEdges(11)).toBe(3);
    expect(read(REG_STATUS)).toBe(0);
    expect(dev.readConfig(PCI_STATUS, 2) & STATUS_INTERRUPT).toBe(0);
    expect(read(REG_RAISED)).toBe(3);
    expect(read(REG_ACKED)).toBe(3);
    expect(dev.stats()).toMatchObject({ mode: 'intx', fired: 3, raised: { intx: 3, msi: 0 }, acked: 3, pending: 0, outstanding: null, gsi: 11 });
  });

  it('reports an interrupt acked long after it was raised as a stall naming its destination', () => {
    let now = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const { dev, machine, write } = setup();
    write(REG_FIRE, 2);
    now += 10;
    write(REG_ACK, 1); // quick: not a stall
    now += 2100;
    write(REG_ACK, 1); // the guest's recovery after its 2 s timeout
    expect(machine.events).toEqual([{ event: 'irq-stall', device: 'irq-test@00:1f.0', how: 'acked', ms: 2100, to: 'INTx GSI 11', pitHz: 0 }]);
    expect(dev.stats()).toMatchObject({ stalls: 1, longestWaitMs: 2100 });
  });

  it('names the PIT rate a stalled interrupt competed with', () => {
    let now = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const { machine, write } = setup();
    Object.assign(machine, { pitHz: () => 1_193_182 / 597 });
    write(REG_FIRE, 1);
    now += 700;
    write(REG_ACK, 1);
    expect(machine.events).toEqual([{ event: 'irq-stall', device: 'irq-test@00:1f.0', how: 'acked', ms: 700, to: 'INTx GSI 11', pitHz: 1999 }]);
  });

  it('holds the line low while INTx is disabled but keeps status bit 3 (PCI 2.3)', () => {
    const { dev, machine, write } = setup();
    write(REG_FIRE, 1);
    dev.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | COMMAND_INTX_DISABLE);
    expect(machine.level(11)).toBe(false);
    expect(dev.readConfig(PCI_STATUS, 2) & STATUS_INTERRUPT).toBe(STATUS_INTERRUPT);
    dev.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    expect(machine.level(11)).toBe(true);
    expect(machine.risingEdges(11)).toBe(2);
    expect(dev.stats().raised.intx).toBe(1);
  });

  it('follows the PIRQ route: an asserted line moves when the route changes', () => {
    let gsi: number | null = 10;
    const { dev, machine, write } = setup(() => gsi);
    write(REG_FIRE, 1);
    gsi = 11;
    dev.refreshIntx();
    expect(machine.irqCalls).toEqual([
      { gsi: 10, level: true },
      { gsi: 10, level: false },
      { gsi: 11, level: true },
    ]);
    gsi = null;
    dev.refreshIntx();
    expect(machine.level(11)).toBe(false);
  });

  it('counts an assertion with no PIRQ route as raised and unrouted', () => {
    const { dev, machine, write } = setup(() => null);
    write(REG_FIRE, 1);
    expect(machine.irqCalls).toEqual([]);
    expect(dev.stats()).toMatchObject({ raised: { intx: 1, msi: 0 }, unroutedIntx: 1, gsi: null });
  });
});

describe('IrqTestDevice MSI', () => {
  it('sends one message per interrupt, paced by ACK, to the programmed address and data', () => {
    const { dev, machine, read, write } = setup();
    enableMsi(dev, 3, 0x41);
    write(REG_MODE, MODE_MSI);
    write(REG_FIRE, 4);
    expect(machine.msis).toEqual([{ lo: 0xfee0_3000, hi: 0, data: 0x41 }]);
    write(REG_ACK, 1);
    expect(machine.msis).toHaveLength(2);
    // The guest moves the IRQ to another CPU between interrupts (Linux msi_set_affinity).
    dev.writeConfig(MSI_CAP + 4, 4, 0xfee0_5000);
    dev.writeConfig(MSI_CAP + 12, 2, 0x42);
    write(REG_ACK, 1);
    expect(machine.msis[2]).toEqual({ lo: 0xfee0_5000, hi: 0, data: 0x42 });
    write(REG_ACK, 1);
    write(REG_ACK, 1);
    expect(machine.msis).toHaveLength(4);
    expect(machine.irqCalls).toEqual([]);
    expect(read(REG_STATUS)).toBe(0);
    expect(dev.stats()).toMatchObject({ mode: 'msi', fired: 4, raised: { intx: 0, msi: 4 }, acked: 4, msi: { enabled: true, address: '0xfee05000', data: 0x42 } });
  });

  it('blocks delivery without MSI enable or bus master and delivers once both are on', () => {
    const { dev, machine, read, write } = setup();
    write(REG_MODE, MODE_MSI);
    write(REG_FIRE, 2);
    expect(read(REG_STATUS)).toBe(STATUS_PENDING | STATUS_BLOCKED);
    dev.writeConfig(MSI_CAP + 4, 4, 0xfee0_0000);
    dev.writeConfig(MSI_FLAGS, 2, 0x0001);
    expect(machine.msis).toHaveLength(0);
    dev.writeConfig(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | COMMAND_MASTER);
    expect(machine.msis).toHaveLength(1);
    expect(read(REG_STATUS)).toBe(STATUS_OUTSTANDING | STATUS_PENDING);
  });

  it('never asserts INTx while MSI is enabled', () => {
    const { dev, machine, read, write } = setup();
    enableMsi(dev);
    write(REG_FIRE, 1);
    expect(machine.irqCalls).toEqual([]);
    expect(read(REG_STATUS)).toBe(STATUS_PENDING | STATUS_BLOCKED);
    dev.writeConfig(MSI_FLAGS, 2, 0);
    expect(machine.irqCalls).toEqual([{ gsi: 11, level: true }]);
  });
});

describe('IrqTestDevice guest misuse and reset', () => {
  it('ignores a MODE change while busy, bad FIRE counts and non-dword accesses, and counts them', () => {
    const { machine, read, write, mmio } = setup();
    write(REG_FIRE, 1);
    write(REG_MODE, MODE_MSI);
    expect(read(REG_MODE)).toBe(0);
    write(REG_FIRE, 0);
    write(REG_FIRE, FIRE_MAX + 1);
    const byte = new Uint8Array(1);
    mmio.read(BAR + REG_STATUS, byte);
    expect(byte[0]).toBe(0xff);
    expect(machine.misuse.map((m) => m.what)).toEqual([
      'MODE changed while interrupts are pending or outstanding; ignored',
      `FIRE 0 (1..${FIRE_MAX}, with 0 already pending)`,
      `FIRE ${FIRE_MAX + 1} (1..${FIRE_MAX}, with 0 already pending)`,
      '1-byte read at 0x14',
    ]);
  });

  it('counts spurious ACKs, and CANCEL drops what is queued and lowers the line', () => {
    const { dev, machine, read, write } = setup();
    write(REG_ACK, 1);
    write(REG_FIRE, 5);
    write(REG_CANCEL, 1);
    expect(machine.level(11)).toBe(false);
    expect(read(REG_STATUS)).toBe(0);
    expect(dev.stats()).toMatchObject({ fired: 5, raised: { intx: 1, msi: 0 }, acked: 0, spuriousAcks: 1, cancelled: 5 });
  });

  it('a machine reset lowers the line, clears queue, mode and config, unmaps the BAR and keeps the counters', () => {
    const { dev, machine, mmio, write } = setup();
    write(REG_FIRE, 2);
    dev.reset();
    expect(machine.level(11)).toBe(false);
    expect(mmio.find(BAR)).toBeUndefined();
    expect(dev.readConfig(PCI_STATUS, 2) & STATUS_INTERRUPT).toBe(0);
    expect(dev.stats()).toMatchObject({ fired: 2, raised: { intx: 1, msi: 0 }, cancelled: 2, pending: 0, outstanding: null, mode: 'intx' });
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});
