import { describe, expect, it } from 'vitest';
import { pcIrqRouting } from './irq-routing.js';

describe('pcIrqRouting', () => {
  const routes = pcIrqRouting();
  it('sends the PIT (GSI 0) to PIC pin 0 and IOAPIC pin 2, as the MADT override 0→2 says', () => {
    expect(routes.filter((r) => r.gsi === 0)).toEqual([
      { gsi: 0, chip: 'pic-master', pin: 0 },
      { gsi: 0, chip: 'ioapic', pin: 2 },
    ]);
  });
  it('routes no GSI 2 (the cascade) and GSIs 16-23 to the IOAPIC only', () => {
    expect(routes.filter((r) => r.gsi === 2)).toEqual([]);
    expect(routes.filter((r) => r.gsi >= 16).every((r) => r.chip === 'ioapic' && r.pin === r.gsi)).toBe(true);
    expect(routes.filter((r) => r.gsi === 10)).toEqual([
      { gsi: 10, chip: 'pic-slave', pin: 2 },
      { gsi: 10, chip: 'ioapic', pin: 10 },
    ]);
  });
});
