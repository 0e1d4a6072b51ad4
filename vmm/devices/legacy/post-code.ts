// Port 0x80, the POST-code port of PC firmware. SeaBIOS and OVMF write progress codes there, and
// Linux's native_io_delay writes it as a delay, so it must be cheap: no allocation per access.
//
// Implemented: writes are recorded (last value, as wide as the access; a count). Reads return
// 0xFF in every byte, as QEMU's ioport80_read (hw/i386/pc.c); the last value is for the host only.
// Left out: a history of codes (the machine can emit events from `lastValue` if it wants one).
// Needs no MachineServices, so its constructor takes nothing. A sync register: every vCPU thread
// serves port 0x80 with its own instance (Linux's io delay must not cost a trip to the device
// owner), so `lastValue` and `count` are what the owning thread's vCPU wrote.

import { type BusDevice, getLE, SyncKind, type SyncRegister } from '../device.js';

export const POST_CODE_PORT = 0x80;
export const POST_CODE_SPAN = 1;

export class PostCode implements BusDevice {
  readonly name = 'post-code';
  readonly syncRegisters: readonly SyncRegister[] = [{ offset: 0, span: POST_CODE_SPAN, kind: SyncKind.PostCode }];
  private last = -1;
  private writes = 0;

  reset(): void {
    this.last = -1;
    this.writes = 0;
  }

  /** The last value written, or -1 if none since reset. */
  get lastValue(): number {
    return this.last;
  }

  /** Writes since reset. */
  get count(): number {
    return this.writes;
  }

  read(_offset: number, data: Uint8Array): void {
    data.fill(0xff);
  }

  write(_offset: number, data: Uint8Array): void {
    this.last = getLE(data);
    this.writes++;
  }
}
