import { afterEach, describe, expect, it, vi } from 'vitest';
import { BootgateError } from '../../errors.js';
import { SyncKind } from '../device.js';
import { FakeServices, inp, outp } from './test-services.js';
import { COM1_IRQ, Uart16550 } from './uart16550.js';

const THR = 0;
const RBR = 0;
const IER = 1;
const IIR = 2;
const FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

function setup() {
  const services = new FakeServices();
  const out: number[] = [];
  const uart = new Uart16550(services, { onOutput: (b) => out.push(b) });
  return { services, out, uart };
}

describe('Uart16550', () => {
  it('passes SeaBIOS detect_serial (IER reads back, IIR reports THRI)', () => {
    const { uart } = setup();
    outp(uart, IER, 0x02);
    expect(inp(uart, IER)).toBe(0x02);
    expect(inp(uart, IIR) & 0x3f).toBe(0x02);
    outp(uart, IER, 0x00);
    expect(inp(uart, IIR)).toBe(0x01);
  });

  it("passes Linux 8250 autoconfig: IER test, loopback MSR test, detected as 16550A", () => {
    const { uart, out } = setup();
    outp(uart, IER, 0x00);
    expect(inp(uart, IER) & 0x0f).toBe(0x00);
    outp(uart, IER, 0x0f);
    expect(inp(uart, IER) & 0x0f).toBe(0x0f);
    outp(uart, IER, 0x00);
    // Loopback check: MCR = LOOP | OUT2 | RTS must read MSR = DCD | CTS.
    const savedMcr = inp(uart, MCR);
    outp(uart, MCR, 0x1a);
    expect(inp(uart, MSR) & 0xf0).toBe(0x90);
    outp(uart, MCR, savedMcr);
    // EFR write under LCR 0xBF lands on FCR; then the FIFO probe.
    outp(uart, LCR, 0xbf);
    outp(uart, 2, 0);
    outp(uart, LCR, 0);
    outp(uart, FCR, 0x01);
    expect(inp(uart, IIR) >> 6).toBe(3);
    // autoconfig_16550a: EFR read under LCR 0xBF must not be 0 (no EFR: IIR is read).
    outp(uart, LCR, 0xbf);
    expect(inp(uart, 2)).not.toBe(0);
    // 16750 check: the 64-byte FIFO bit must not show in IIR bit 5, with or without DLAB.
    outp(uart, LCR, 0x80);
    outp(uart, FCR, 0x21);
    expect(inp(uart, IIR) >> 5).toBe(6);
    outp(uart, LCR, 0);
    outp(uart, FCR, 0x21);
    expect(inp(uart, IIR) >> 5).toBe(6);
    outp(uart, SCR, 0xa5);
    expect(inp(uart, SCR)).toBe(0xa5);
    expect(out).toEqual([]);
  });

  it('says for a timeout diagnostic whether IRQ 4 is up, for how long, and for which source', () => {
    let now = 5000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const { uart } = setup();
    expect(uart.interruptState()).toBe('uart16550 (IRQ 4): line low, pending source none, IER 0x0, MCR 0x8');
    outp(uart, IER, 0x02); // THR empty interrupt: the line rises
    now += 40_000;
    expect(uart.interruptState()).toBe('uart16550 (IRQ 4): line high for 40000 ms, pending source THR empty, IER 0x2, MCR 0x8');
    inp(uart, IIR); // the guest takes it
    expect(uart.interruptState()).toMatch(/line low, pending source none/);
  });

  it('passes Linux serial8250_do_startup THRE re-assert test', () => {
    const { uart } = setup();
    outp(uart, FCR, 0x07);
    outp(uart, IER, 0x02);
    const iir1 = inp(uart, IIR);
    outp(uart, IER, 0);
    outp(uart, IER, 0x02);
    const iir = inp(uart, IIR);
    outp(uart, IER, 0);
    expect(iir1).toBe(0xc2);
    expect(iir).toBe(0xc2);
    expect(inp(uart, IIR)).toBe(0xc1);
  });

  it('transmits every THR byte at once; LSR always reports THRE|TEMT', () => {
    const { uart, out } = setup();
    expect(inp(uart, LSR)).toBe(0x60);
    for (const c of 'ok\n') outp(uart, THR, c.charCodeAt(0));
    expect(out).toEqual([0x6f, 0x6b, 0x0a]);
    expect(inp(uart, LSR)).toBe(0x60);
  });

  it('drives IRQ 4: high while THRI pending, low after IIR read, an edge per THR write', () => {
    const { uart, services } = setup();
    outp(uart, MCR, 0x0b); // DTR | RTS | OUT2, as Linux
    outp(uart, IER, 0x02);
    expect(services.level(COM1_IRQ)).toBe(true);
    expect(inp(uart, IIR)).toBe(0x02);
    expect(services.level(COM1_IRQ)).toBe(false);
    outp(uart, THR, 0x41);
    outp(uart, THR, 0x42);
    expect(services.level(COM1_IRQ)).toBe(true);
    expect(services.risingEdges(COM1_IRQ)).toBe(3);
    expect(services.irqCalls.every((c) => c.gsi === 4)).toBe(true);
  });

  it('gates the IRQ line with MCR OUT2 and in loopback, but IIR still reports', () => {
    const { uart, services } = setup();
    outp(uart, MCR, 0x03); // OUT2 clear
    outp(uart, IER, 0x02);
    expect(services.level(COM1_IRQ)).toBe(false);
    expect(services.irqCalls).toEqual([]);
    outp(uart, MCR, 0x0b);
    expect(services.level(COM1_IRQ)).toBe(true);
    outp(uart, MCR, 0x1b); // loopback disconnects OUT2 from the pin
    expect(services.level(COM1_IRQ)).toBe(false);
    expect(inp(uart, IIR)).toBe(0x02);
  });

  it('receives host input through a 16-byte FIFO with data-ready and RX interrupt', () => {
    const { uart, services } = setup();
    outp(uart, FCR, 0x01);
    outp(uart, IER, 0x01);
    expect(inp(uart, LSR)).toBe(0x60);
    const input = Array.from({ length: 20 }, (_, i) => 0x30 + i);
    uart.pushInput(input);
    expect(uart.rxAvailable).toBe(16);
    expect(inp(uart, LSR)).toBe(0x61);
    expect(inp(uart, IIR)).toBe(0xc4);
    expect(services.level(COM1_IRQ)).toBe(true);
    const got: number[] = [];
    while (inp(uart, LSR) & 1) got.push(inp(uart, RBR));
    expect(got).toEqual(input);
    expect(inp(uart, IIR)).toBe(0xc1);
    expect(services.level(COM1_IRQ)).toBe(false);
  });

  it('shows one byte at a time with FIFOs off; RX data outranks THRI', () => {
    const { uart } = setup();
    uart.pushInput(new Uint8Array([1, 2]));
    expect(uart.rxAvailable).toBe(1);
    outp(uart, IER, 0x03);
    expect(inp(uart, IIR)).toBe(0x04);
    expect(inp(uart, RBR)).toBe(1);
    expect(inp(uart, RBR)).toBe(2);
    expect(inp(uart, IIR)).toBe(0x02);
    expect(inp(uart, RBR)).toBe(2); // empty: the last byte again
  });

  it('FCR clear-RX drops what the guest could see', () => {
    const { uart } = setup();
    outp(uart, FCR, 0x01);
    uart.pushInput(Array.from({ length: 18 }, (_, i) => i));
    outp(uart, FCR, 0x03);
    expect(uart.rxAvailable).toBe(2);
    expect(inp(uart, RBR)).toBe(16);
  });

  it('loops THR back to RBR in loopback mode and sends nothing out', () => {
    const { uart, out } = setup();
    outp(uart, MCR, 0x10);
    outp(uart, THR, 0x55);
    expect(inp(uart, LSR)).toBe(0x61);
    expect(inp(uart, RBR)).toBe(0x55);
    expect(out).toEqual([]);
    expect(inp(uart, MSR)).toBe(0x00);
    outp(uart, MCR, 0x1f);
    expect(inp(uart, MSR)).toBe(0xf0);
    outp(uart, MCR, 0x00);
    expect(inp(uart, MSR)).toBe(0xb0);
  });

  it('empties the receiver FIFO on a machine reset, keeping the backlog on the wire (fuzz finding)', () => {
    const { uart } = setup();
    outp(uart, MCR, 0x10);
    outp(uart, THR, 0x00);
    expect(inp(uart, LSR)).toBe(0x61);
    uart.reset();
    expect(inp(uart, LSR)).toBe(0x60);
    uart.pushInput([1, 2, 3]);
    uart.reset();
    expect(uart.rxAvailable).toBe(1);
    expect(inp(uart, RBR)).toBe(2);
  });

  it('drops a loopback byte when the receiver FIFO is full', () => {
    const { uart } = setup();
    outp(uart, MCR, 0x10);
    outp(uart, THR, 0x41);
    outp(uart, THR, 0x42);
    expect(inp(uart, RBR)).toBe(0x41);
    expect(inp(uart, LSR) & 0x01).toBe(0);
  });

  it('maps DLL/DLM under DLAB without touching RBR/IER', () => {
    const { uart, out } = setup();
    outp(uart, IER, 0x05);
    outp(uart, LCR, 0x83);
    expect(inp(uart, 0)).toBe(12);
    expect(inp(uart, 1)).toBe(0);
    outp(uart, 0, 0x01);
    outp(uart, 1, 0x02);
    expect(inp(uart, 0)).toBe(0x01);
    expect(inp(uart, 1)).toBe(0x02);
    outp(uart, LCR, 0x03);
    expect(inp(uart, IER)).toBe(0x05);
    expect(out).toEqual([]);
  });

  it('reset restores power-on registers and lowers the line, keeping host input not yet in the FIFO', () => {
    const { uart, services } = setup();
    outp(uart, IER, 0x02);
    outp(uart, LCR, 0x83);
    outp(uart, SCR, 0x77);
    uart.pushInput([9, 10]);
    uart.reset();
    expect(services.level(COM1_IRQ)).toBe(false);
    expect([inp(uart, IER), inp(uart, IIR), inp(uart, LCR), inp(uart, MCR), inp(uart, SCR)]).toEqual([0, 0x01, 0, 0x08, 0]);
    expect(inp(uart, RBR)).toBe(10);
  });

  it('lets vCPU threads answer LSR from a published value outside loopback, where reading it changes nothing', () => {
    const { uart } = setup();
    expect(uart.syncRegisters.map((r) => [r.offset, r.span, r.kind])).toEqual([
      [THR, 1, SyncKind.PostedWrite],
      [LSR, 1, SyncKind.ShadowRead],
    ]);
    expect(uart.shadowRead(LSR)).toBe(0x60);
    uart.pushInput([0x41]);
    expect(uart.shadowRead(LSR)).toBe(0x61);
    expect(inp(uart, LSR)).toBe(0x61);
    expect(uart.shadowRead(IIR)).toBeUndefined();
    expect(uart.shadowRead(RBR)).toBeUndefined();
    // Loopback: a posted THR byte sets DR, which a value published before it was applied would miss.
    outp(uart, MCR, 0x10);
    expect(uart.shadowRead(LSR)).toBeUndefined();
    outp(uart, MCR, 0x08);
    expect(uart.shadowRead(LSR)).toBe(0x61);
  });

  it('counts writes to read-only registers as guest misuse', () => {
    const { uart, services } = setup();
    outp(uart, LSR, 0);
    expect(services.misuse).toHaveLength(1);
    expect(inp(uart, LSR)).toBe(0x60);
  });

  it('rejects a missing onOutput or a bad irq', () => {
    const services = new FakeServices();
    expect(() => new Uart16550(services, {} as never)).toThrow(BootgateError);
    expect(() => new Uart16550(services, { onOutput: () => {}, irq: 16 })).toThrow(/irq/);
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});
