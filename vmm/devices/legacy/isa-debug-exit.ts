// QEMU's isa-debug-exit (hw/misc/debugexit.c), placed where test kernels usually ask for it
// (`-device isa-debug-exit,iobase=0xf4`): a guest ends the VM with a status of its choosing.
//
// Implemented: a write of value v (any width 1-4, anywhere in the range) asks the machine to power
// off with code (v << 1) | 1, as QEMU exits with that status (odd, so 0 never means "passed" by
// accident). Reads return 0, as QEMU's debug_exit_read (which is how a guest can tell the device
// from an unassigned port, which reads 0xFF).
// The number of ports decoded is the `iosize` option (1, 2 or 4; default 1), exposed as `span`
// for the bus registration; ISA_DEBUG_EXIT_MAX_SPAN is the widest.
// Left out: nothing; the device has no state.

import { configError } from '../../errors.js';
import type { BusDevice, MachineServices } from '../device.js';
import { getLE } from '../device.js';

export const ISA_DEBUG_EXIT_BASE = 0xf4;
export const ISA_DEBUG_EXIT_MAX_SPAN = 4;
export const ISA_DEBUG_EXIT_DEFAULT_IOSIZE = 1;

export interface IsaDebugExitOptions {
  /** Ports decoded from the base: 1, 2 or 4. */
  iosize?: 1 | 2 | 4;
}

export class IsaDebugExit implements BusDevice {
  readonly name = 'isa-debug-exit';
  /** Ports to register at ISA_DEBUG_EXIT_BASE. */
  readonly span: number;

  constructor(
    private readonly services: MachineServices,
    options: IsaDebugExitOptions = {},
  ) {
    const iosize = options.iosize ?? ISA_DEBUG_EXIT_DEFAULT_IOSIZE;
    if (iosize !== 1 && iosize !== 2 && iosize !== 4) throw configError('iosize', iosize, '1, 2 or 4');
    this.span = iosize;
  }

  /** Stateless: nothing to reset. */
  reset(): void {}

  read(_offset: number, data: Uint8Array): void {
    data.fill(0);
  }

  write(_offset: number, data: Uint8Array): void {
    const v = getLE(data);
    this.services.requestPowerOff(this.name, v * 2 + 1);
  }
}
