// The legacy ISA port devices of the `pc` machine. Each file says what it follows and leaves out.

export { CMOS_BASE, CMOS_SPAN, CmosRtc, type CmosRtcOptions, encodeBootOrder } from './cmos-rtc.js';
export { DEBUGCON_PORT, DEBUGCON_READBACK, DEBUGCON_SPAN, Debugcon, type DebugconOptions } from './debugcon.js';
export {
  I8042,
  I8042_AUX_IRQ,
  I8042_BASE,
  I8042_COMMAND_PORT,
  I8042_DATA_PORT,
  I8042_KBD_IRQ,
  I8042_SPAN,
} from './i8042.js';
export {
  ISA_DEBUG_EXIT_BASE,
  ISA_DEBUG_EXIT_DEFAULT_IOSIZE,
  ISA_DEBUG_EXIT_MAX_SPAN,
  IsaDebugExit,
  type IsaDebugExitOptions,
} from './isa-debug-exit.js';
export { PORT92_BASE, PORT92_SPAN, Port92 } from './port92.js';
export { POST_CODE_PORT, POST_CODE_SPAN, PostCode } from './post-code.js';
export { RESET_CONTROL_PORT, RESET_CONTROL_SPAN, ResetControl } from './reset-control.js';
export { COM1_BASE, COM1_IRQ, UART_SPAN, Uart16550, type Uart16550Options } from './uart16550.js';
