// One `pc` machine as the device owner holds it: the accelerator and its VM (CPUID, GSI routing),
// the host memory (RAM, the firmware image, OVMF's variable store), and the device set. `rebuildVm`
// is the accelerator half of a machine reset: a fresh VM (vCPUs, irqchip, PIT in their architectural
// reset state) with the same guest memory mapped back, as RAM survives a reset on hardware.

import { openAccelerator } from '../accel/open.js';
import type { Accelerator, Vm } from '../accel/types.js';
import type { VmConfig } from '../config.js';
import { loadVarsImage } from '../devices/flash/vars-file.js';
import { splitRam } from '../layout.js';
import { allocateHostMemory, type HostMemory } from '../memory/host-memory.js';
import { readFirmwareImage } from './firmware-image.js';
import { pcIrqRouting } from './irq-routing.js';
import { buildPc, type PcBuild } from './pc-devices.js';

/** What CPUID 0x80000008 says under the small-aperture quirk (the seed's 36-bit guest). */
const SMALL_APERTURE_PHYS_BITS = 36;

export interface PcInstanceOptions {
  config: VmConfig;
  firmwarePath: string;
  varsTemplatePath?: string;
  /** The VMM's start (ms, timeOrigin-based): the PM timer's epoch, shared with the vCPU threads. */
  startEpochMs: number;
  emit(event: Record<string, unknown>): void;
}

export class PcInstance {
  readonly accel: Accelerator;
  vm: Vm;
  readonly pc: PcBuild;
  readonly ram: HostMemory;

  constructor(private readonly o: PcInstanceOptions) {
    const { config } = o;
    this.accel = openAccelerator('kvm');
    this.vm = this.createVm();
    const image = readFirmwareImage(o.firmwarePath);
    const firmware = allocateHostMemory(image.length, 'firmware image');
    firmware.bytes.set(image);
    let vars: HostMemory | undefined;
    if (o.varsTemplatePath) {
      const varsImage = loadVarsImage(o.varsTemplatePath, config.varsFile);
      vars = allocateHostMemory(varsImage.length, 'OVMF variable store');
      vars.bytes.set(varsImage);
    }
    const ramSize = config.memMiB * 1024 * 1024;
    this.ram = allocateHostMemory(ramSize, 'guest RAM');
    const { low, high } = splitRam(ramSize, config.lowMemMiB === undefined ? undefined : config.lowMemMiB * 1024 * 1024);
    this.pc = buildPc({ pmTimerEpochMs: o.startEpochMs, vm: this.vm, config, firmware, vars, ram: this.ram, ramBelow4G: low, ramAbove4G: high, emit: o.emit });
  }

  /** A fresh accelerator VM with the pc's CPUID and GSI routing. */
  private createVm(): Vm {
    const quirks = this.o.config.quirks;
    const vm = this.accel.createVm({ vcpus: this.o.config.smp, physBits: quirks.includes('small-aperture') ? SMALL_APERTURE_PHYS_BITS : this.o.config.physBits });
    vm.setIrqRouting(pcIrqRouting());
    return vm;
  }

  /** Replace the VM (machine reset): memory mapped back, devices to their power-on state. */
  rebuildVm(): void {
    this.vm.close();
    this.vm = this.createVm();
    this.pc.machine.vm = this.vm;
    this.pc.memoryMap.mapAll(this.vm);
    this.pc.machine.resetDevices();
  }

  /** The region of the memory map at `gpa`, by name. */
  regionAt(gpa: number): string | undefined {
    return this.pc.memoryMap.regionAt(gpa)?.name;
  }
}
