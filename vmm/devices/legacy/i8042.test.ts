import { describe, expect, it } from 'vitest';
import { I8042, I8042_AUX_IRQ, I8042_KBD_IRQ } from './i8042.js';
import { FakeServices, inp, outp } from './test-services.js';

const DATA = 0;
const CMD = 4;

function setup() {
  const services = new FakeServices();
  const kbc = new I8042(services);
  return { services, kbc };
}

const status = (kbc: I8042) => inp(kbc, CMD);
const command = (kbc: I8042, c: number) => outp(kbc, CMD, c);
const send = (kbc: I8042, v: number) => outp(kbc, DATA, v);

/** Read everything in the output buffer, as a polling driver does: [byte, status-before] pairs. */
function drain(kbc: I8042): Array<[number, number]> {
  const got: Array<[number, number]> = [];
  for (let st = status(kbc); st & 1; st = status(kbc)) got.push([inp(kbc, DATA), st]);
  return got;
}
const bytes = (kbc: I8042) => drain(kbc).map(([b]) => b);

describe('I8042 controller', () => {
  it('powers on with status 0x18 (command, keylock off) and nothing to read', () => {
    const { kbc } = setup();
    expect(status(kbc)).toBe(0x18);
    expect(inp(kbc, 1)).toBe(0xff); // 0x61-0x63 are not the controller's
    expect(inp(kbc, 3)).toBe(0xff);
  });

  it('runs the SeaBIOS ps2port init sequence', () => {
    const { kbc, services } = setup();
    command(kbc, 0xad);
    command(kbc, 0xa7);
    expect(drain(kbc)).toEqual([]);
    command(kbc, 0xaa);
    expect(bytes(kbc)).toEqual([0x55]);
    expect(status(kbc) & 0x04).toBe(0x04); // system flag after self test
    command(kbc, 0xab);
    expect(bytes(kbc)).toEqual([0x00]);
    send(kbc, 0xff); // keyboard reset, although the interface was disabled
    expect(drain(kbc)).toEqual([
      [0xfa, 0x15],
      [0xaa, 0x15],
    ]);
    send(kbc, 0xf5);
    expect(bytes(kbc)).toEqual([0xfa]);
    send(kbc, 0xf0);
    send(kbc, 0x02);
    expect(bytes(kbc)).toEqual([0xfa, 0xfa]);
    command(kbc, 0x60);
    send(kbc, 0x61);
    command(kbc, 0x20);
    expect(bytes(kbc)).toEqual([0x61]);
    send(kbc, 0xf4);
    expect(bytes(kbc)).toEqual([0xfa]);
    expect(services.misuse).toEqual([]);
    expect(services.resets).toEqual([]);
  });

  it("reads a stable CTR for Linux's i8042_controller_init and writes it back", () => {
    const { kbc } = setup();
    command(kbc, 0x20);
    const a = bytes(kbc);
    command(kbc, 0x20);
    const b = bytes(kbc);
    expect(a).toEqual([0x03]);
    expect(b).toEqual(a);
    command(kbc, 0x60);
    send(kbc, 0x74); // KBDDIS | AUXDIS | XLATE | SYS, interrupts off
    command(kbc, 0x20);
    expect(bytes(kbc)).toEqual([0x74]);
    expect(status(kbc) & 0x14).toBe(0x14);
  });

  it("passes Linux's i8042_check_aux: AUX loop, AUXDIS toggle, IRQ 12 delivery", () => {
    const { kbc, services } = setup();
    command(kbc, 0x60);
    send(kbc, 0x74);
    command(kbc, 0xd3);
    send(kbc, 0x5a);
    expect(drain(kbc)).toEqual([[0x5a, 0x21 | 0x04 | 0x10]]); // OBF | AUXDATA, SYS, unlocked
    command(kbc, 0xa7);
    command(kbc, 0x20);
    expect(bytes(kbc)[0]! & 0x20).toBe(0x20);
    command(kbc, 0xa8);
    command(kbc, 0x20);
    expect(bytes(kbc)[0]! & 0x20).toBe(0x00);
    // i8042_enable_aux_port, then the IRQ test with 0xA5.
    command(kbc, 0x60);
    send(kbc, 0x46);
    command(kbc, 0xd3);
    send(kbc, 0xa5);
    expect(services.level(I8042_AUX_IRQ)).toBe(true);
    expect(status(kbc) & 0x21).toBe(0x21);
    expect(inp(kbc, DATA)).toBe(0xa5);
    expect(services.level(I8042_AUX_IRQ)).toBe(false);
    expect(services.level(I8042_KBD_IRQ)).toBe(false);
  });

  it('is not taken for an active multiplexing controller (the loop echoes 0xA4)', () => {
    const { kbc } = setup();
    for (const v of [0xf0, 0x56, 0xa4]) {
      command(kbc, 0xd3);
      send(kbc, v);
      expect(bytes(kbc)).toEqual([v]);
    }
  });

  it('answers aux-device bytes with 0xFE and AUX|TIMEOUT status (no mouse)', () => {
    const { kbc, services } = setup();
    command(kbc, 0xd4);
    send(kbc, 0xf2);
    expect(drain(kbc)).toEqual([[0xfe, 0x61 | 0x10]]);
    expect(services.risingEdges(I8042_AUX_IRQ)).toBe(1);
    expect(status(kbc)).toBe(0x10);
  });

  it('queues controller replies ahead of keyboard bytes', () => {
    const { kbc } = setup();
    send(kbc, 0xff);
    command(kbc, 0x20);
    expect(bytes(kbc)).toEqual([0xfa, 0x03, 0xaa]);
  });

  it('holds keyboard bytes while the keyboard interface is disabled', () => {
    const { kbc } = setup();
    send(kbc, 0xf2);
    command(kbc, 0xad);
    expect(bytes(kbc)).toEqual([0xfa]); // already in the output buffer
    command(kbc, 0xae);
    expect(bytes(kbc)).toEqual([0xab, 0x83]);
  });

  it('fakes keyboard and aux bytes with 0xD2/0xD3', () => {
    const { kbc } = setup();
    command(kbc, 0xd2);
    send(kbc, 0x1c);
    expect(drain(kbc)).toEqual([[0x1c, 0x11]]);
    command(kbc, 0xd3);
    send(kbc, 0x08);
    expect(drain(kbc)).toEqual([[0x08, 0x31]]);
  });

  it('counts unknown commands as guest misuse', () => {
    const { kbc, services } = setup();
    command(kbc, 0x21);
    expect(services.misuse).toEqual([{ device: 'i8042', what: 'unsupported command 0x21' }]);
    expect(status(kbc) & 1).toBe(0);
  });
});

describe('I8042 keyboard', () => {
  it('identifies as an MF2 keyboard: AB 83, or AB 41 while translating', () => {
    const { kbc } = setup();
    send(kbc, 0xf2);
    expect(bytes(kbc)).toEqual([0xfa, 0xab, 0x83]);
    command(kbc, 0x60);
    send(kbc, 0x43);
    send(kbc, 0xf2);
    expect(bytes(kbc)).toEqual([0xfa, 0xab, 0x41]);
  });

  it('echoes 0xEE, ACKs LED/typematic commands and their parameters, reports the scancode set', () => {
    const { kbc } = setup();
    send(kbc, 0xee);
    expect(bytes(kbc)).toEqual([0xee]);
    send(kbc, 0xed);
    send(kbc, 0x07);
    send(kbc, 0xf3);
    send(kbc, 0x00);
    send(kbc, 0xf4);
    expect(bytes(kbc)).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0xfa]);
    send(kbc, 0xf0);
    send(kbc, 0x00);
    expect(bytes(kbc)).toEqual([0xfa, 0xfa, 0x02]);
  });

  it('raises IRQ 1 per byte when CTR bit 0 is set: low on read, high again for the next byte', () => {
    const { kbc, services } = setup();
    send(kbc, 0xff);
    expect(services.level(I8042_KBD_IRQ)).toBe(true);
    expect(inp(kbc, DATA)).toBe(0xfa);
    expect(services.level(I8042_KBD_IRQ)).toBe(true);
    expect(inp(kbc, DATA)).toBe(0xaa);
    expect(services.level(I8042_KBD_IRQ)).toBe(false);
    expect(services.risingEdges(I8042_KBD_IRQ)).toBe(2);
    expect(inp(kbc, DATA)).toBe(0xaa); // empty: last byte again
  });

  it('keeps IRQ 1 low with CTR bit 0 clear', () => {
    const { kbc, services } = setup();
    command(kbc, 0x60);
    send(kbc, 0x00);
    send(kbc, 0xff);
    expect(bytes(kbc)).toEqual([0xfa, 0xaa]);
    expect(services.irqCalls).toEqual([]);
  });
});

describe('I8042 output port and resets', () => {
  it('resets on 0xFE and on any pulse command with bit 0 low, not on 0xFF', () => {
    const { kbc, services } = setup();
    command(kbc, 0xff);
    command(kbc, 0xfd);
    expect(services.resets).toEqual([]);
    command(kbc, 0xfe);
    command(kbc, 0xf0);
    expect(services.resets).toEqual(['i8042', 'i8042']);
  });

  it('reads the output port and resets when 0xD1 clears bit 0; records A20', () => {
    const { kbc, services } = setup();
    command(kbc, 0xd0);
    expect(bytes(kbc)).toEqual([0xcf]);
    command(kbc, 0xd1);
    send(kbc, 0xdd); // A20 off, reset line high
    expect(kbc.a20).toBe(false);
    command(kbc, 0xd1);
    send(kbc, 0xdf); // Linux's boot code: A20 on
    command(kbc, 0xff);
    expect(kbc.a20).toBe(true);
    expect(services.resets).toEqual([]);
    command(kbc, 0xd1);
    send(kbc, 0xde);
    expect(services.resets).toEqual(['i8042-output-port']);
  });

  it('reset() restores power-on state and lowers the lines', () => {
    const { kbc, services } = setup();
    command(kbc, 0xaa);
    send(kbc, 0xff);
    kbc.reset();
    expect(status(kbc)).toBe(0x18);
    expect(services.level(I8042_KBD_IRQ)).toBe(false);
    command(kbc, 0x20);
    expect(bytes(kbc)).toEqual([0x03]);
  });
});

describe('I8042 status as a shadow read (vCPU threads answer it from the published value)', () => {
  it('declares the status port, whose published value is what a status read returns, before and after a byte is taken', () => {
    const { kbc } = setup();
    expect(kbc.syncRegisters).toEqual([{ offset: CMD, span: 1, kind: 5 }]);
    command(kbc, 0xaa); // self test: 0x55 waits in the output buffer
    const withByte = kbc.shadowRead(CMD);
    expect(withByte).toBe(status(kbc));
    expect(withByte! & 1).toBe(1);
    inp(kbc, DATA);
    expect(kbc.shadowRead(CMD)).toBe(status(kbc));
    expect(kbc.shadowRead(CMD)! & 1).toBe(0);
    expect(kbc.shadowRead(DATA)).toBeUndefined(); // a data read takes the byte: never a shadow
  });
});
