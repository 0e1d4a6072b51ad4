// 16550A UART (COM1), after the National Semiconductor PC16550D datasheet, checked against what
// SeaBIOS (serial.c detect_serial) and Linux (8250_port.c autoconfig, serial8250_do_startup) probe
// and against QEMU's hw/char/serial.c where the datasheet leaves room.
//
// Implemented: RBR/THR, IER, IIR/FCR (FIFO-enabled bits 0xC0 so Linux says "16550A"), LCR with
// DLAB, DLL/DLM, MCR, LSR, MSR, SCR; THR-empty and received-data interrupts with IIR priorities
// (the modem-status source is wired but never fires: MSR has no deltas); loopback (MCR bit 4):
// THR feeds the receiver and MSR mirrors MCR.
// The transmitter is never busy: each THR byte goes to `onOutput` at once and LSR always has
// THRE|TEMT. As in QEMU, enabling IER.THRI while THR is empty raises THRI, and a THR write
// re-raises it (the byte left instantly), so the IRQ line drops and rises again: one edge per byte.
// The IRQ line is high while an enabled source is pending, gated by MCR OUT2 as on PC boards
// (OUT2 drives the IRQ buffer; in loopback OUT2 is disconnected from the pin, so no IRQ).
// Host input: `pushInput` appends to an unbounded-by-design backlog ("the wire"); the guest sees at
// most 16 bytes of it (1 with FIFOs off) as its receive FIFO, refilled as it reads. No overrun from
// the host; a loopback byte with the FIFO full is dropped (LSR OE is not set). A machine reset
// empties the FIFO and keeps the wire.
// Left out: baud-rate timing, receive-FIFO trigger levels and the character-timeout interrupt
// (data ready is reported as soon as one byte is there), line errors and break, modem-status
// deltas (MSR is constant DCD|DSR|CTS outside loopback, like QEMU with a non-tty backend), the
// 16750 64-byte FIFO and the EFR of later parts.
// Posted writes: a byte write to offset 0 (THR, or DLL with DLAB) changes nothing another access
// could miss, so vCPU threads may queue it for the owner and go on (device.ts SyncKind.PostedWrite):
// Linux writes up to 16 THR bytes per THRE interrupt without reading anything in between.
// Shadow reads: LSR has no side effect here (no line errors to clear), so a vCPU thread may answer
// it from the value the owner published (SyncKind.ShadowRead): Linux's console polls LSR for THRE
// before every byte. Not in loopback: there a posted THR byte sets LSR.DR, which a shadow published
// before that write was applied would not show.

import { BootgateError } from '../../errors.js';
import { type BusDevice, type MachineServices, SyncKind, type SyncRegister } from '../device.js';

export const COM1_BASE = 0x3f8;
export const COM1_IRQ = 4;
export const UART_SPAN = 8;

// Register offsets (DLAB selects DLL/DLM at 0/1).
const REG_DATA = 0; // RBR (read) / THR (write) / DLL (DLAB)
const REG_IER = 1; // IER / DLM (DLAB)
const REG_IIR_FCR = 2; // IIR (read) / FCR (write)
const REG_LCR = 3;
const REG_MCR = 4;
const REG_LSR = 5;
const REG_MSR = 6;
const REG_SCR = 7;

const IER_RDI = 0x01; // received data available
const IER_THRI = 0x02; // THR empty
const IER_MSI = 0x08; // modem status
const IER_MASK = 0x0f;

const IIR_NO_INT = 0x01;
const IIR_MSI = 0x00;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_FIFO_ENABLED = 0xc0;

const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;

const LCR_DLAB = 0x80;

const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT1 = 0x04;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;
const MCR_MASK = 0x1f;

const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;

const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;
const MSR_ANY_DELTA = 0x0f;

const FIFO_DEPTH = 16;
/** Reset divisor 12 = 9600 baud, as QEMU. */
const RESET_DIVISOR = 12;

export interface Uart16550Options {
  /** Receives every transmitted byte (not called in loopback). */
  onOutput: (byte: number) => void;
  /** ISA IRQ line; COM1's by default. */
  irq?: number;
}

class UartState {
  ier = 0;
  lcr = 0;
  mcr = MCR_OUT2; // QEMU resets MCR to OUT2; guests save and restore it around probes
  scr = 0;
  fcr = 0;
  divisor = RESET_DIVISOR;
  msr = MSR_DCD | MSR_DSR | MSR_CTS;
  thrPending = false;
  lastRx = 0;
  /** Receive ring: guest-visible FIFO at the head, host backlog behind it. */
  rx = new Uint8Array(256);
  rxHead = 0;
  rxLen = 0;
}

export class Uart16550 implements BusDevice {
  readonly name = 'uart16550';
  readonly syncRegisters: readonly SyncRegister[] = [
    { offset: REG_DATA, span: 1, kind: SyncKind.PostedWrite },
    { offset: REG_LSR, span: 1, kind: SyncKind.ShadowRead },
  ];
  private s = new UartState();
  private irqLevel = false;
  /** performance.now() when the IRQ line last rose (for the timeout diagnostic). */
  private irqRoseAt = 0;
  private readonly onOutput: (byte: number) => void;
  private readonly irq: number;

  constructor(
    private readonly services: MachineServices,
    options: Uart16550Options,
  ) {
    if (typeof options?.onOutput !== 'function') {
      throw new BootgateError('E_CONFIG', 'uart16550: onOutput must be a function', { hint: 'pass onOutput(byte)' });
    }
    const irq = options.irq ?? COM1_IRQ;
    if (!Number.isInteger(irq) || irq < 0 || irq > 15) {
      throw new BootgateError('E_CONFIG', `uart16550: invalid irq ${JSON.stringify(options.irq)}; expected 0-15`);
    }
    this.onOutput = options.onOutput;
    this.irq = irq;
  }

  shadowRead(offset: number): number | undefined {
    return offset === REG_LSR && (this.s.mcr & MCR_LOOP) === 0 ? this.lsr() : undefined;
  }

  private lsr(): number {
    return (this.rxAvailable > 0 ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
  }

  /** Power-on state. Host input not yet consumed is kept: it is still "on the wire". */
  reset(): void {
    // Master reset clears the receiver FIFO (PC16550D: MR resets the FIFOs; QEMU's serial_reset
    // does too), so a loopback byte or host bytes already in the FIFO are gone; the backlog still
    // on the wire stays. Found by the fuzzer: a loopback byte survived a reboot as data ready.
    const inFifo = this.rxAvailable;
    const { rx, rxLen } = this.s;
    const rxHead = (this.s.rxHead + inFifo) % rx.length;
    this.s = new UartState();
    Object.assign(this.s, { rx, rxHead, rxLen: rxLen - inFifo });
    this.updateIrq();
  }

  /** Queue bytes the host sends to the guest. */
  pushInput(bytes: Uint8Array | ArrayLike<number>): void {
    const s = this.s;
    if (s.rxLen + bytes.length > s.rx.length) {
      let size = s.rx.length * 2;
      while (size < s.rxLen + bytes.length) size *= 2;
      const grown = new Uint8Array(size);
      for (let i = 0; i < s.rxLen; i++) grown[i] = s.rx[(s.rxHead + i) % s.rx.length]!;
      s.rx = grown;
      s.rxHead = 0;
    }
    for (let i = 0; i < bytes.length; i++) s.rx[(s.rxHead + s.rxLen++) % s.rx.length] = bytes[i]! & 0xff;
    this.updateIrq();
  }

  /** Bytes the guest can see now (its receive FIFO). */
  get rxAvailable(): number {
    return Math.min(this.s.rxLen, this.s.fcr & FCR_ENABLE ? FIFO_DEPTH : 1);
  }

  read(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) data[i] = offset + i < UART_SPAN ? this.readByte(offset + i) : 0xff;
  }

  write(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      if (offset + i < UART_SPAN) this.writeByte(offset + i, data[i]!);
    }
  }

  private readByte(offset: number): number {
    const s = this.s;
    const dlab = (s.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case REG_DATA:
        if (dlab) return s.divisor & 0xff;
        if (this.rxAvailable > 0) {
          s.lastRx = s.rx[s.rxHead]!;
          s.rxHead = (s.rxHead + 1) % s.rx.length;
          s.rxLen--;
          this.updateIrq();
        }
        return s.lastRx;
      case REG_IER:
        return dlab ? (s.divisor >> 8) & 0xff : s.ier;
      case REG_IIR_FCR: {
        const iir = this.iir();
        // Reading IIR acknowledges THRI when it is the source reported.
        if ((iir & 0x0f) === IIR_THRI) {
          s.thrPending = false;
          this.updateIrq();
        }
        return iir;
      }
      case REG_LCR:
        return s.lcr;
      case REG_MCR:
        return s.mcr;
      case REG_LSR:
        return this.lsr();
      case REG_MSR:
        if (s.mcr & MCR_LOOP) {
          return (
            (s.mcr & MCR_RTS ? MSR_CTS : 0) |
            (s.mcr & MCR_DTR ? MSR_DSR : 0) |
            (s.mcr & MCR_OUT1 ? MSR_RI : 0) |
            (s.mcr & MCR_OUT2 ? MSR_DCD : 0)
          );
        }
        return s.msr;
      case REG_SCR:
        return s.scr;
      default:
        return 0xff;
    }
  }

  private writeByte(offset: number, value: number): void {
    const s = this.s;
    const dlab = (s.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case REG_DATA:
        if (dlab) {
          s.divisor = (s.divisor & 0xff00) | value;
          return;
        }
        this.transmit(value);
        return;
      case REG_IER: {
        if (dlab) {
          s.divisor = (s.divisor & 0x00ff) | (value << 8);
          return;
        }
        const old = s.ier;
        s.ier = value & IER_MASK;
        // THR is always empty, so a rising IER.THRI raises THRI (Linux's THRE re-assert test).
        if (s.ier & IER_THRI && !(old & IER_THRI)) s.thrPending = true;
        if (!(s.ier & IER_THRI)) s.thrPending = false;
        this.updateIrq();
        return;
      }
      case REG_IIR_FCR: {
        const old = s.fcr;
        s.fcr = value & 0xc9; // enable, DMA mode, trigger level; the clear bits self-clear
        // Toggling the FIFO enable bit clears the FIFOs (datasheet), as does FCR bit 1.
        if (value & FCR_CLEAR_RX || (old ^ value) & FCR_ENABLE) this.dropVisibleRx(old);
        this.updateIrq();
        return;
      }
      case REG_LCR:
        s.lcr = value;
        return;
      case REG_MCR:
        s.mcr = value & MCR_MASK;
        this.updateIrq();
        return;
      case REG_LSR:
      case REG_MSR:
        this.services.guestMisuse(this.name, `write 0x${value.toString(16)} to read-only register ${offset}`);
        return;
      case REG_SCR:
        s.scr = value;
        return;
    }
  }

  private transmit(value: number): void {
    const s = this.s;
    s.thrPending = false;
    this.updateIrq();
    // Loopback feeds the receiver FIFO itself: a byte with the FIFO full is lost (an overrun).
    if (s.mcr & MCR_LOOP) {
      if (s.rxLen < (s.fcr & FCR_ENABLE ? FIFO_DEPTH : 1)) this.pushInput([value]);
    } else this.onOutput(value);
    // The byte left at once: THR is empty again.
    if (s.ier & IER_THRI) s.thrPending = true;
    this.updateIrq();
  }

  /** FCR clear: drop what the guest could see in its receive FIFO under the old FIFO mode. */
  private dropVisibleRx(oldFcr: number): void {
    const s = this.s;
    const n = Math.min(s.rxLen, oldFcr & FCR_ENABLE ? FIFO_DEPTH : 1);
    s.rxHead = (s.rxHead + n) % s.rx.length;
    s.rxLen -= n;
  }

  /** IIR value by datasheet priority: line status (never), RX data, THR empty, modem status. */
  private iir(): number {
    const s = this.s;
    const fifo = s.fcr & FCR_ENABLE ? IIR_FIFO_ENABLED : 0;
    if (s.ier & IER_RDI && this.rxAvailable > 0) return fifo | IIR_RDI;
    if (s.ier & IER_THRI && s.thrPending) return fifo | IIR_THRI;
    if (s.ier & IER_MSI && s.msr & MSR_ANY_DELTA) return fifo | IIR_MSI;
    return fifo | IIR_NO_INT;
  }

  private updateIrq(): void {
    const s = this.s;
    const pending = (this.iir() & IIR_NO_INT) === 0;
    const level = pending && (s.mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      if (level) this.irqRoseAt = performance.now();
      this.services.setIrqLine(this.irq, level);
    }
  }

  /**
   * One line for a timeout diagnostic: the IRQ line, how long it has been high, and the pending
   * source. A line high for seconds means the guest never took (or never acknowledged) the
   * interrupt; a low line with a driver waiting means the UART never raised it.
   */
  interruptState(now = performance.now()): string {
    const s = this.s;
    const source = { [IIR_RDI]: 'received data', [IIR_THRI]: 'THR empty', [IIR_MSI]: 'modem status' }[this.iir() & 0x0f] ?? 'none';
    const line = this.irqLevel ? `high for ${Math.round(now - this.irqRoseAt)} ms` : 'low';
    return `${this.name} (IRQ ${this.irq}): line ${line}, pending source ${source}, IER 0x${s.ier.toString(16)}, MCR 0x${s.mcr.toString(16)}`;
  }
}
