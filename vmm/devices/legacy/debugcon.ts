// QEMU's debug console (hw/char/debugcon.c) at 0x402, where SeaBIOS logs when it finds it: it
// reads the port and expects 0xE9 ("present"), then writes its log there one byte at a time.
// OVMF's debug builds use it too. A free, synchronous log channel for the harness.
//
// Implemented: byte reads return 0xE9; byte writes go to `onOutput` immediately. A sync register:
// each vCPU thread serves its own byte accesses with its own instance (SeaBIOS's log is thousands
// of exits), and wider ones go to the device owner's instance, which counts the misuse.
// QEMU declares only 1-byte accesses valid; wider ones are counted as guest misuse and treated as
// unassigned (reads all ones, writes dropped). Left out: QEMU's configurable readback value.

import { BootgateError } from '../../errors.js';
import { type BusDevice, type MachineServices, SyncKind, type SyncRegister } from '../device.js';

export const DEBUGCON_PORT = 0x402;
export const DEBUGCON_SPAN = 1;
/** What a read returns: SeaBIOS checks for it before logging. */
export const DEBUGCON_READBACK = 0xe9;

export interface DebugconOptions {
  onOutput: (byte: number) => void;
}

export class Debugcon implements BusDevice {
  readonly name = 'debugcon';
  readonly syncRegisters: readonly SyncRegister[] = [{ offset: 0, span: DEBUGCON_SPAN, kind: SyncKind.Debugcon }];
  private readonly onOutput: (byte: number) => void;

  constructor(
    private readonly services: MachineServices,
    options: DebugconOptions,
  ) {
    if (typeof options?.onOutput !== 'function') {
      throw new BootgateError('E_CONFIG', 'debugcon: onOutput must be a function', { hint: 'pass onOutput(byte)' });
    }
    this.onOutput = options.onOutput;
  }

  /** Stateless: nothing to reset. */
  reset(): void {}

  read(_offset: number, data: Uint8Array): void {
    if (data.length !== 1) {
      this.services.guestMisuse(this.name, `${data.length}-byte read`);
      data.fill(0xff);
      return;
    }
    data[0] = DEBUGCON_READBACK;
  }

  write(_offset: number, data: Uint8Array): void {
    if (data.length !== 1) {
      this.services.guestMisuse(this.name, `${data.length}-byte write`);
      return;
    }
    this.onOutput(data[0]!);
  }
}
