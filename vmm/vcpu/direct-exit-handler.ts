// The exit handler of the device owner's own vCPU (SMP 1, where a thread hop would only add
// latency): device accesses go straight to the buses, the consoles and the interrupt path are
// polled after every exit, and a reset the vCPU asked for is attributed to it with its rip.

import type { ExitInfo } from '../accel/exit-info.js';
import type { Vcpu } from '../accel/types.js';
import type { PcBuild } from '../machine/pc-devices.js';
import { faultRegisters } from './fault-registers.js';
import type { RipSampler } from './rip-sampler.js';
import type { ExitHandler } from './runner.js';
import { serveMmio, servePio } from './serve-exit.js';

export class DirectExitHandler implements ExitHandler {
  readonly handedOver: boolean = false;
  resetAsked = false;

  constructor(
    private readonly pc: PcBuild,
    private readonly emit: (event: Record<string, unknown>) => void,
    readonly sampler?: RipSampler,
  ) {}

  pio(exit: ExitInfo, vcpu: Vcpu): number {
    const value = servePio(exit, this.pc.machine.pio);
    this.attributeReset(vcpu);
    return value;
  }

  mmio(exit: ExitInfo, vcpu: Vcpu): string {
    const region = serveMmio(exit, this.pc.machine.mmio);
    this.attributeReset(vcpu);
    return region;
  }

  shutdown(vcpu: Vcpu): void {
    this.resetAsked = false;
    this.emit({ event: 'triple-fault', vcpu: vcpu.index, registers: faultRegisters(vcpu.dumpRegisters()) });
    this.pc.machine.requestReset('triple-fault');
    // After a shutdown exit AMD's KVM has already put the vCPU in reset state: no rip to record.
    if (this.pc.machine.pending?.kind === 'reset') this.pc.machine.pending.vcpu = vcpu.index;
  }

  interrupted(vcpu: Vcpu): void {
    this.sampler?.sample(vcpu);
  }

  afterExit(t: number): void {
    this.pc.com1.poll(t);
    this.pc.debugcon.poll(t);
    this.pc.irqPath.poll();
  }

  /** The access asked for a reset: record the vCPU and the instruction after the request. */
  private attributeReset(vcpu: Vcpu): void {
    const pending = this.pc.machine.pending;
    this.resetAsked = pending?.kind === 'reset' && pending.vcpu === undefined;
    if (!this.resetAsked || pending?.kind !== 'reset') return;
    pending.vcpu = vcpu.index;
    const regs = vcpu.dumpRegisters();
    if (regs.error === undefined) pending.rip = `0x${(BigInt(regs['cs.base']!) + BigInt(regs.rip!)).toString(16)}`;
  }
}
