// What the device owner reports about the machine when it stops: OVMF's flash (variable store
// saved when --vars, ROMD and exit counters), whether the firmware's high copy still equals the
// file, the BARs the firmware gave the test devices, the interrupt test device's counts, the
// IDE channels' counters when a disk was attached, and what the guest was refused.

import { createHash } from 'node:crypto';
import type { VmConfig } from '../config.js';
import { saveVarsImage } from '../devices/flash/vars-file.js';
import type { PcBuild } from './pc-devices.js';

export function emitFinalReports(pc: PcBuild, config: VmConfig, emit: (event: Record<string, unknown>) => void): void {
  const flash = pc.flash;
  if (flash) {
    if (config.varsFile) flash.vars.flush((img) => saveVarsImage(config.varsFile!, img));
    const counters = (f: typeof flash.code) => ({ ...f.counters(), exits: f.exits(), budget: f.exitBudget() });
    emit({ event: 'flash', code: counters(flash.code), vars: counters(flash.vars) });
  }
  // The high copy must still equal the firmware file: hash what the guest could have reached.
  const mm = pc.memoryMap;
  emit({
    event: 'firmware-high',
    mapped: mm.mapHighCopy,
    bytes: mm.firmware.size,
    sha256: createHash('sha256').update(mm.firmware.bytes).digest('hex'),
    writesTrapped: mm.highCopyWrites,
  });
  if (pc.testDevices.length > 0) emit({ event: 'pci-bars', bars: pc.testDevices.flatMap((d) => d.assignments()) });
  if (pc.disk) {
    emit({ event: 'ide', channels: pc.ide.stats(), path: pc.irqPath.stats(), diskSectors: pc.disk.sectors, overlaySectors: pc.disk.overlaySectors });
  }
  if (pc.irqTest) emit({ event: 'irq-test', device: pc.irqTest.stats(), path: pc.irqPath.stats() });
  emit(guestRefusals(pc));
}

/**
 * What the machine refused the guest over the run: misuse counted by every device, and bus-master
 * DMA (fw_cfg, IDE) that pointed outside guest RAM or failed otherwise. The interrupt test device
 * does no DMA. Goes into every testcase's properties next to the exit profile.
 */
export function guestRefusals(pc: PcBuild): Record<string, unknown> {
  const ide = pc.ide.stats();
  return {
    event: 'guest-refusals',
    misuse: pc.machine.guestMisuses,
    dma: [
      { device: 'fw_cfg', transfers: pc.fwcfg.stats.dmaTransfers, refused: pc.fwcfg.stats.dmaErrors },
      { device: 'piix3-ide', transfers: ide.primary.dmaTransfers + ide.secondary.dmaTransfers, refused: ide.primary.dmaErrors + ide.secondary.dmaErrors },
    ],
  };
}

/** Before a machine reset and at the end: the variable store to its file (when --vars), console bytes out. */
export function flushMachine(pc: PcBuild, config: VmConfig): void {
  if (config.varsFile) pc.flash?.vars.flush((img) => saveVarsImage(config.varsFile!, img));
  pc.com1.flush();
  pc.debugcon.flush();
}
