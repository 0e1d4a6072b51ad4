import { describe, expect, it } from 'vitest';
import * as legacy from './index.js';

describe('legacy device ports', () => {
  it('exports the pc port map', () => {
    expect({
      com1: legacy.COM1_BASE,
      cmos: legacy.CMOS_BASE,
      i8042: legacy.I8042_BASE,
      port92: legacy.PORT92_BASE,
      cf9: legacy.RESET_CONTROL_PORT,
      debugcon: legacy.DEBUGCON_PORT,
      debugExit: legacy.ISA_DEBUG_EXIT_BASE,
      post: legacy.POST_CODE_PORT,
    }).toEqual({
      com1: 0x3f8,
      cmos: 0x70,
      i8042: 0x60,
      port92: 0x92,
      cf9: 0xcf9,
      debugcon: 0x402,
      debugExit: 0xf4,
      post: 0x80,
    });
  });

  it('has no overlapping ranges among these devices', () => {
    const ranges = [
      [legacy.COM1_BASE, legacy.UART_SPAN],
      [legacy.CMOS_BASE, legacy.CMOS_SPAN],
      [legacy.I8042_BASE, legacy.I8042_SPAN],
      [legacy.PORT92_BASE, legacy.PORT92_SPAN],
      [legacy.RESET_CONTROL_PORT, legacy.RESET_CONTROL_SPAN],
      [legacy.DEBUGCON_PORT, legacy.DEBUGCON_SPAN],
      [legacy.ISA_DEBUG_EXIT_BASE, legacy.ISA_DEBUG_EXIT_MAX_SPAN],
      [legacy.POST_CODE_PORT, legacy.POST_CODE_SPAN],
    ].sort((a, b) => a[0]! - b[0]!);
    for (let i = 1; i < ranges.length; i++) {
      expect(ranges[i - 1]![0]! + ranges[i - 1]![1]!).toBeLessThanOrEqual(ranges[i]![0]!);
    }
  });
});
