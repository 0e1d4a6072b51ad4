// Intel 8042 keyboard controller at 0x60 (data) / 0x64 (status, command), after the IBM PS/2
// technical reference and what SeaBIOS (ps2port.c), OVMF (Ps2KeyboardDxe) and Linux
// (drivers/input/serio/i8042.c, keyboard/atkbd.c, mouse/psmouse-base.c) do with it; QEMU's
// hw/input/pckbd.c was read for power-on values (CTR 0x03, status 0x18, output port 0xCF).
//
// Implemented: status (OBF, SYS = CTR bit 2, CMD/DATA, keylock-off, AUX data, timeout); commands
// 0x20/0x60 (CTR), 0xAA (-> 0x55, sets SYS), 0xAB and 0xA9 (-> 0x00), 0xAD/0xAE, 0xA7/0xA8, 0xC0
// (input port 0x80), 0xD0/0xD1 (output port: bit 0 low resets, bit 1 is A20, recorded), 0xD2/0xD3
// (fake a byte from the keyboard / aux device), 0xD4 (to aux device), 0xF0-0xFF (pulse output bits:
// bit 0 low in the command pulses reset, so 0xFE and the other even values reset, as in QEMU).
// An attached keyboard answers writes to 0x60: ACK (0xFA) to every byte, plus 0xFF -> FA AA,
// 0xF2 -> FA AB 83 (AB 41 while the controller translates, as real 8042s and QEMU), 0xEE -> EE,
// 0xF0 00 -> FA FA <set>. Writing to the keyboard re-enables its interface (QEMU does the same).
// No aux device is attached. The controller's own AUX port is there, with a working 0xD3 loopback,
// so Linux's i8042_check_aux passes quickly (loop test, AUXDIS toggle test, IRQ 12 test) instead
// of waiting ~0.75 s in timeouts. Every byte sent with 0xD4 is answered the way a real 8042
// answers when no device clocks it in: 0xFE with status AUX|TIMEOUT. psmouse's first probe command
// (GETID) then fails at once and Linux registers no mouse, silently (no "bad data" warning: that
// is only printed for an activated mouse).
// The output buffer holds one byte; controller replies (queued first) and keyboard replies wait
// behind it. IRQ 1 (keyboard byte, CTR bit 0) or IRQ 12 (aux byte, CTR bit 1) is high while that
// byte is in the buffer: reading it drops the line and loading the next byte raises it again, so an
// edge-triggered PIC sees one edge per byte.
// Left out: scan codes from the host (no input path yet), a PS/2 mouse, controller RAM commands
// 0x21-0x3F/0x61-0x7F, password and MUX commands, input-buffer-full timing (IBF is always 0).
// Bus: one range at 0x60 of span 5; offsets 1-3 (0x61-0x63: port 0x61 belongs to KVM's in-kernel
// PIT/speaker and never exits) answer as unassigned ports: reads 0xFF, writes ignored.
// Shadow reads: a status read changes nothing (only a data read takes the byte), and the status
// changes only when the owner serves a port access or raises IRQ 1/12, so vCPU threads may answer
// it from the value the owner published (device.ts SyncKind.ShadowRead): Linux and SeaBIOS poll
// it around every controller command.

import { type BusDevice, type MachineServices, SyncKind, type SyncRegister } from '../device.js';

export const I8042_BASE = 0x60;
export const I8042_SPAN = 5;
export const I8042_DATA_PORT = 0x60;
export const I8042_COMMAND_PORT = 0x64;
export const I8042_KBD_IRQ = 1;
export const I8042_AUX_IRQ = 12;

const OFF_DATA = I8042_DATA_PORT - I8042_BASE;
const OFF_COMMAND = I8042_COMMAND_PORT - I8042_BASE;

const STR_OBF = 0x01;
const STR_SYS = 0x04;
const STR_CMD = 0x08;
const STR_UNLOCKED = 0x10;
const STR_AUXDATA = 0x20;
const STR_TIMEOUT = 0x40;

const CTR_KBDINT = 0x01;
const CTR_AUXINT = 0x02;
const CTR_SYS = 0x04;
const CTR_KBDDIS = 0x10;
const CTR_AUXDIS = 0x20;
const CTR_XLATE = 0x40;
const CTR_RESET = CTR_KBDINT | CTR_AUXINT;

const CMD_READ_CTR = 0x20;
const CMD_WRITE_CTR = 0x60;
const CMD_AUX_DISABLE = 0xa7;
const CMD_AUX_ENABLE = 0xa8;
const CMD_AUX_TEST = 0xa9;
const CMD_SELF_TEST = 0xaa;
const CMD_KBD_TEST = 0xab;
const CMD_KBD_DISABLE = 0xad;
const CMD_KBD_ENABLE = 0xae;
const CMD_READ_INPUT = 0xc0;
const CMD_READ_OUTPUT = 0xd0;
const CMD_WRITE_OUTPUT = 0xd1;
const CMD_WRITE_KBD_OBUF = 0xd2;
const CMD_WRITE_AUX_OBUF = 0xd3;
const CMD_WRITE_AUX = 0xd4;
const CMD_PULSE_BASE = 0xf0;

const SELF_TEST_OK = 0x55;
const INPUT_PORT = 0x80; // keyboard not inhibited
const OUTPORT_RESET_LINE = 0x01; // active low: 0 holds the CPU in reset
const OUTPORT_A20 = 0x02;
const OUTPORT_RESET = 0xcf; // QEMU: reset line high, A20 on, the unused bits high

// Keyboard (device side).
const KBD_ACK = 0xfa;
const KBD_NAK = 0xfe;
const KBD_BAT_OK = 0xaa;
const KBD_ECHO = 0xee;
const KBD_CMD_SET_LEDS = 0xed;
const KBD_CMD_SCANCODE_SET = 0xf0;
const KBD_CMD_GET_ID = 0xf2;
const KBD_CMD_SET_REP = 0xf3;
const KBD_CMD_RESET = 0xff;
const KBD_ID = 0xab;
const KBD_ID2 = 0x83;
const KBD_ID2_TRANSLATED = 0x41;
const KBD_SET2_TRANSLATED = 0x41;

/** Queue entries: byte | flags << 8. */
const Q_AUX = 0x100;
const Q_TIMEOUT = 0x200;
const QUEUE_LIMIT = 16;

class I8042State {
  ctr = CTR_RESET;
  status = STR_CMD | STR_UNLOCKED;
  outport = OUTPORT_RESET;
  /** Output buffer: byte | flags, or -1 when empty. */
  obuf = -1;
  lastData = 0;
  /** Command waiting for its data byte at 0x60 (0 = none). */
  pendingCommand = 0;
  readonly ctrlQueue: number[] = [];
  readonly kbdQueue: number[] = [];
  /** Keyboard command waiting for its parameter byte (0 = none). */
  kbdPendingCommand = 0;
  scancodeSet = 2;
}

export class I8042 implements BusDevice {
  readonly name = 'i8042';
  /** Status reads change nothing: vCPU threads may answer them from the value the owner published (device.ts SyncKind.ShadowRead). */
  readonly syncRegisters: readonly SyncRegister[] = [{ offset: OFF_COMMAND, span: 1, kind: SyncKind.ShadowRead }];
  private s = new I8042State();
  private kbdIrq = false;
  private auxIrq = false;

  constructor(private readonly services: MachineServices) {}

  reset(): void {
    this.s = new I8042State();
    this.updateIrq();
  }

  shadowRead(offset: number): number | undefined {
    return offset === OFF_COMMAND ? this.readStatus() : undefined;
  }

  /** A20 as last set through the output port (0xD1). */
  get a20(): boolean {
    return (this.s.outport & OUTPORT_A20) !== 0;
  }

  read(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const port = offset + i;
      if (port === OFF_DATA) data[i] = this.readData();
      else if (port === OFF_COMMAND) data[i] = this.readStatus();
      else data[i] = 0xff;
    }
  }

  write(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const port = offset + i;
      if (port === OFF_DATA) this.writeData(data[i]!);
      else if (port === OFF_COMMAND) this.writeCommand(data[i]!);
    }
  }

  private readStatus(): number {
    const s = this.s;
    let v = (s.status & (STR_CMD | STR_UNLOCKED)) | (s.ctr & CTR_SYS ? STR_SYS : 0);
    if (s.obuf >= 0) {
      v |= STR_OBF;
      if (s.obuf & Q_AUX) v |= STR_AUXDATA;
      if (s.obuf & Q_TIMEOUT) v |= STR_TIMEOUT;
    }
    return v;
  }

  private readData(): number {
    const s = this.s;
    if (s.obuf >= 0) {
      s.lastData = s.obuf & 0xff;
      s.obuf = -1;
      this.updateIrq(); // drop the line before the next byte raises it: one edge per byte
      this.refill();
    }
    return s.lastData;
  }

  private writeCommand(cmd: number): void {
    const s = this.s;
    s.status |= STR_CMD;
    s.pendingCommand = 0;
    switch (cmd) {
      case CMD_READ_CTR:
        this.reply(s.ctr);
        return;
      case CMD_WRITE_CTR:
      case CMD_WRITE_OUTPUT:
      case CMD_WRITE_KBD_OBUF:
      case CMD_WRITE_AUX_OBUF:
      case CMD_WRITE_AUX:
        s.pendingCommand = cmd;
        return;
      case CMD_AUX_DISABLE:
        this.setCtr(s.ctr | CTR_AUXDIS);
        return;
      case CMD_AUX_ENABLE:
        this.setCtr(s.ctr & ~CTR_AUXDIS);
        return;
      case CMD_AUX_TEST:
      case CMD_KBD_TEST:
        this.reply(0x00);
        return;
      case CMD_SELF_TEST:
        s.ctr |= CTR_SYS;
        this.reply(SELF_TEST_OK);
        return;
      case CMD_KBD_DISABLE:
        this.setCtr(s.ctr | CTR_KBDDIS);
        return;
      case CMD_KBD_ENABLE:
        this.setCtr(s.ctr & ~CTR_KBDDIS);
        return;
      case CMD_READ_INPUT:
        this.reply(INPUT_PORT);
        return;
      case CMD_READ_OUTPUT:
        this.reply(s.outport);
        return;
      default:
        if (cmd >= CMD_PULSE_BASE) {
          // Low nibble bits that are 0 are pulsed low; only bit 0 (the reset line) does anything.
          if (!(cmd & OUTPORT_RESET_LINE)) this.services.requestReset('i8042');
          return;
        }
        this.services.guestMisuse(this.name, `unsupported command 0x${cmd.toString(16)}`);
    }
  }

  private writeData(value: number): void {
    const s = this.s;
    s.status &= ~STR_CMD;
    const cmd = s.pendingCommand;
    s.pendingCommand = 0;
    switch (cmd) {
      case CMD_WRITE_CTR:
        this.setCtr(value);
        return;
      case CMD_WRITE_OUTPUT:
        s.outport = value;
        if (!(value & OUTPORT_RESET_LINE)) this.services.requestReset('i8042-output-port');
        return;
      case CMD_WRITE_KBD_OBUF:
        this.reply(value);
        return;
      case CMD_WRITE_AUX_OBUF:
        this.reply(value | Q_AUX);
        return;
      case CMD_WRITE_AUX:
        // Sending to the aux device re-enables its clock line, as on QEMU; nobody answers.
        s.ctr &= ~CTR_AUXDIS;
        this.reply(KBD_NAK | Q_AUX | Q_TIMEOUT);
        return;
      default:
        s.ctr &= ~CTR_KBDDIS;
        this.keyboardReceive(value);
        this.refill();
    }
  }

  /** The keyboard's side of the wire: a byte arrived from the host. */
  private keyboardReceive(value: number): void {
    const s = this.s;
    const param = s.kbdPendingCommand;
    s.kbdPendingCommand = 0;
    if (param === KBD_CMD_SCANCODE_SET) {
      if (value === 0) this.kbdSend(KBD_ACK, s.ctr & CTR_XLATE ? KBD_SET2_TRANSLATED : s.scancodeSet);
      else {
        if (value <= 3) s.scancodeSet = value;
        this.kbdSend(KBD_ACK);
      }
      return;
    }
    if (param !== 0) {
      this.kbdSend(KBD_ACK); // LED / typematic parameter
      return;
    }
    switch (value) {
      case KBD_CMD_RESET:
        s.scancodeSet = 2;
        this.kbdSend(KBD_ACK, KBD_BAT_OK);
        return;
      case KBD_CMD_GET_ID:
        this.kbdSend(KBD_ACK, KBD_ID, s.ctr & CTR_XLATE ? KBD_ID2_TRANSLATED : KBD_ID2);
        return;
      case KBD_ECHO:
        this.kbdSend(KBD_ECHO);
        return;
      case KBD_CMD_SET_LEDS:
      case KBD_CMD_SET_REP:
      case KBD_CMD_SCANCODE_SET:
        s.kbdPendingCommand = value;
        this.kbdSend(KBD_ACK);
        return;
      default:
        this.kbdSend(KBD_ACK);
    }
  }

  private kbdSend(...bytes: number[]): void {
    for (const b of bytes) {
      if (this.s.kbdQueue.length >= QUEUE_LIMIT) {
        this.services.guestMisuse(this.name, 'keyboard output overflow (guest not reading 0x60)');
        return;
      }
      this.s.kbdQueue.push(b);
    }
  }

  /** A byte generated by the controller itself (command reply, 0xD2/0xD3 echo, aux timeout). */
  private reply(entry: number): void {
    if (this.s.ctrlQueue.length >= QUEUE_LIMIT) {
      this.services.guestMisuse(this.name, 'controller output overflow (guest not reading 0x60)');
      return;
    }
    this.s.ctrlQueue.push(entry);
    this.refill();
  }

  private setCtr(value: number): void {
    this.s.ctr = value;
    this.refill();
  }

  /** Load the output buffer if it is empty: controller bytes first, then the keyboard's if enabled. */
  private refill(): void {
    const s = this.s;
    if (s.obuf < 0) {
      if (s.ctrlQueue.length > 0) s.obuf = s.ctrlQueue.shift()!;
      else if (s.kbdQueue.length > 0 && !(s.ctr & CTR_KBDDIS)) s.obuf = s.kbdQueue.shift()!;
    }
    this.updateIrq();
  }

  private updateIrq(): void {
    const s = this.s;
    const full = s.obuf >= 0;
    const kbd = full && !(s.obuf & Q_AUX) && (s.ctr & CTR_KBDINT) !== 0;
    const aux = full && (s.obuf & Q_AUX) !== 0 && (s.ctr & CTR_AUXINT) !== 0;
    if (kbd !== this.kbdIrq) {
      this.kbdIrq = kbd;
      this.services.setIrqLine(I8042_KBD_IRQ, kbd);
    }
    if (aux !== this.auxIrq) {
      this.auxIrq = aux;
      this.services.setIrqLine(I8042_AUX_IRQ, aux);
    }
  }
}
