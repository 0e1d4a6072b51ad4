// Linux KVM backend: the accelerator (/dev/kvm) and the VM (memory slots, in-kernel irqchip and
// PIT, vCPU creation with CPUID). vCPUs are run from worker threads by KvmVcpu (kvm-vcpu.ts).

import { BootgateError } from '../../errors.js';
import { KVM_IDENTITY_MAP_ADDR, KVM_TSS_ADDR } from '../../layout.js';
import type { Accelerator, IrqRoute, MemoryRegion, NativeVcpuThreads, SpinBudget, VcpuBackend, VcpuBackendParams, Vm } from '../types.js';
import { kvmVcpuBackend } from './kvm-vcpu.js';
import { KvmNativeThreads } from './native-threads.js';
import { CPUID_ENTRY_SIZE, cpuidForVcpu, cpuidPhysBits } from './cpuid.js';
import { formatIoapic } from './interrupt-state.js';
import * as abi from './kvm-abi.js';
import { close, errno, ioctlInt, ioctlPtr, O_CLOEXEC, O_RDWR, open, strerror } from './libc.js';

/** The KVM device; BOOTGATE_KVM_DEVICE overrides it (tests of the missing-device path). */
export const KVM_DEVICE = process.env.BOOTGATE_KVM_DEVICE ?? '/dev/kvm';

function fail(what: string, code: 'E_ACCEL' | 'E_GUEST' = 'E_ACCEL', hint?: string): BootgateError {
  const e = errno();
  return new BootgateError(code, `${what} failed: ${strerror(e)} (errno ${e})`, { hint });
}

/** Capabilities the backend cannot work without, with the reason it needs them. */
const REQUIRED_CAPS: Array<[number, string]> = [
  [abi.KVM_CAP_IRQCHIP, 'in-kernel irqchip'],
  [abi.KVM_CAP_USER_MEMORY, 'user memory regions'],
  [abi.KVM_CAP_SET_TSS_ADDR, 'TSS address'],
  [abi.KVM_CAP_PIT2, 'in-kernel PIT'],
  [abi.KVM_CAP_REINJECT_CONTROL, 'PIT lost-tick policy (coalesce missed ticks)'],
  [abi.KVM_CAP_READONLY_MEM, 'read-only memory slots (ROM and flash in read-array mode)'],
  [abi.KVM_CAP_IMMEDIATE_EXIT, 'immediate_exit (vCPU kicks)'],
  [abi.KVM_CAP_SIGNAL_MSI, 'MSI injection'],
];

export class KvmAccelerator implements Accelerator {
  readonly name = 'kvm';
  readonly fd: number;
  readonly vcpuMmapSize: number;

  constructor(device = KVM_DEVICE) {
    const fd = open(device, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      const e = errno();
      const hint =
        e === 2
          ? 'load the kvm module (modprobe kvm_intel or kvm_amd) or run on a host with hardware virtualization; or use the nested lab'
          : e === 13
            ? `run as root or add your user to the group that owns ${device}`
            : undefined;
      throw new BootgateError('E_ACCEL', `cannot open ${device}: ${strerror(e)} (errno ${e})`, { hint });
    }
    this.fd = fd;
    const api = ioctlInt(fd, abi.KVM_GET_API_VERSION, 0);
    if (api !== abi.KVM_API_VERSION) {
      close(fd);
      throw new BootgateError('E_ACCEL', `${device} speaks KVM API ${api}, bootgate needs ${abi.KVM_API_VERSION}`);
    }
    for (const [cap, why] of REQUIRED_CAPS) {
      if (ioctlInt(fd, abi.KVM_CHECK_EXTENSION, cap) <= 0) {
        close(fd);
        throw new BootgateError('E_ACCEL', `${device} lacks capability ${cap} (${why})`, {
          hint: 'use a newer kernel or another target',
        });
      }
    }
    this.vcpuMmapSize = ioctlInt(fd, abi.KVM_GET_VCPU_MMAP_SIZE, 0);
  }

  createVm(options: { vcpus: number; physBits?: number }): KvmVm {
    return new KvmVm(this, options.vcpus, options.physBits);
  }

  /** KVM_GET_SUPPORTED_CPUID as raw kvm_cpuid2 bytes (header + entries). */
  get vcpuParams(): VcpuBackendParams {
    return { mmapSize: this.vcpuMmapSize };
  }

  vcpuBackend(): VcpuBackend {
    return kvmVcpuBackend(this.vcpuMmapSize);
  }

  nativeVcpuThreads(count: number, spin: SpinBudget): NativeVcpuThreads {
    return new KvmNativeThreads(count, spin);
  }

  supportedCpuid(): Uint8Array {
    const maxEntries = 256;
    const buf = new Uint8Array(8 + maxEntries * CPUID_ENTRY_SIZE);
    new DataView(buf.buffer).setUint32(0, maxEntries, true);
    if (ioctlPtr(this.fd, abi.KVM_GET_SUPPORTED_CPUID, buf) < 0) throw fail('KVM_GET_SUPPORTED_CPUID');
    return buf;
  }

  close(): void {
    close(this.fd);
  }
}

const KVM_IRQ_ROUTING_IRQCHIP = 1;
const IRQCHIP_IDS = { 'pic-master': 0, 'pic-slave': 1, ioapic: 2 } as const;

export class KvmVm implements Vm {
  readonly fd: number;
  readonly vcpuHandles: number[] = [];
  private readonly mappedSlots = new Set<number>();
  private readonly regionBuf = new Uint8Array(abi.MEMORY_REGION_SIZE);
  private readonly regionView = new DataView(this.regionBuf.buffer);
  private readonly irqBuf = new Uint8Array(abi.IRQ_LEVEL_SIZE);
  private readonly irqView = new DataView(this.irqBuf.buffer);
  private readonly msiBuf = new Uint8Array(abi.MSI_SIZE);
  private readonly msiView = new DataView(this.msiBuf.buffer);

  /** Physical address bits advertised in CPUID 0x80000008 (and what KVM reported for the host). */
  readonly physBits: number;
  readonly hostPhysBits: number;

  constructor(
    readonly accel: KvmAccelerator,
    vcpus: number,
    physBits?: number,
  ) {
    const fd = ioctlInt(accel.fd, abi.KVM_CREATE_VM, 0);
    if (fd < 0) throw fail('KVM_CREATE_VM');
    this.fd = fd;
    if (ioctlInt(fd, abi.KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) throw fail('KVM_SET_TSS_ADDR');
    const idmap = new Uint8Array(8);
    new DataView(idmap.buffer).setBigUint64(0, BigInt(KVM_IDENTITY_MAP_ADDR), true);
    if (ioctlPtr(fd, abi.KVM_SET_IDENTITY_MAP_ADDR, idmap) < 0) throw fail('KVM_SET_IDENTITY_MAP_ADDR');
    if (ioctlInt(fd, abi.KVM_CREATE_IRQCHIP, 0) < 0) throw fail('KVM_CREATE_IRQCHIP');
    const pit = new Uint8Array(abi.PIT_CONFIG_SIZE);
    new DataView(pit.buffer).setUint32(0, abi.KVM_PIT_SPEAKER_DUMMY, true);
    if (ioctlPtr(fd, abi.KVM_CREATE_PIT2, pit) < 0) throw fail('KVM_CREATE_PIT2');
    // Missed PIT ticks coalesce, as on a real PIT (one edge pending at most), instead of KVM's
    // default catch-up reinjection: after vCPU 0 was out of the guest (serving other vCPUs' device
    // accesses, or a slow nested host) the catch-up burst of IRQ 0 starved every lower-priority
    // vector. Measured in the lab: an MSI on vector 0x24 waited 521 ms behind 215 reinjected PIT
    // ticks (ftrace), and device interrupts went unhandled for 2 s in 3 of 6 SMP 2 boots. QEMU's
    // equivalent is -global kvm-pit.lost_tick_policy=discard. Guests keep time by kvm-clock/TSC.
    const reinject = new Uint8Array(abi.REINJECT_CONTROL_SIZE); // pit_reinject = 0
    if (ioctlPtr(fd, abi.KVM_REINJECT_CONTROL, reinject) < 0) throw fail('KVM_REINJECT_CONTROL');
    const cpuid = accel.supportedCpuid();
    this.hostPhysBits = cpuidPhysBits(cpuid) ?? 36;
    this.physBits = physBits ?? this.hostPhysBits;
    for (let i = 0; i < vcpus; i++) {
      const vcpuFd = ioctlInt(fd, abi.KVM_CREATE_VCPU, i);
      if (vcpuFd < 0) throw fail(`KVM_CREATE_VCPU ${i}`);
      this.setCpuid(vcpuFd, cpuidForVcpu(cpuid, { apicId: i, vcpus, physBits: this.physBits }));
      this.vcpuHandles.push(vcpuFd);
    }
  }

  private setCpuid(vcpuFd: number, cpuid: Uint8Array): void {
    if (ioctlPtr(vcpuFd, abi.KVM_SET_CPUID2, cpuid) < 0) throw fail('KVM_SET_CPUID2');
  }

  mapMemory(region: MemoryRegion): void {
    // A slot's flags cannot change in place: delete it first.
    if (this.mappedSlots.has(region.slot)) this.unmapMemory(region.slot);
    this.setRegion(region.slot, region.flags.write ? 0 : abi.KVM_MEM_READONLY, region.gpa, region.size, region.hostAddress);
    if (ioctlPtr(this.fd, abi.KVM_SET_USER_MEMORY_REGION, this.regionBuf) < 0) {
      throw fail(`KVM_SET_USER_MEMORY_REGION ${region.name} gpa 0x${region.gpa.toString(16)} size 0x${region.size.toString(16)}`);
    }
    this.mappedSlots.add(region.slot);
  }

  unmapMemory(slot: number): void {
    if (!this.mappedSlots.has(slot)) return;
    this.setRegion(slot, 0, 0, 0, 0n);
    if (ioctlPtr(this.fd, abi.KVM_SET_USER_MEMORY_REGION, this.regionBuf) < 0) throw fail(`unmap slot ${slot}`);
    this.mappedSlots.delete(slot);
  }

  private setRegion(slot: number, flags: number, gpa: number, size: number, host: bigint): void {
    const v = this.regionView;
    v.setUint32(0, slot, true);
    v.setUint32(4, flags, true);
    v.setBigUint64(8, BigInt(gpa), true);
    v.setBigUint64(16, BigInt(size), true);
    v.setBigUint64(24, host, true);
  }

  setIrqLine(gsi: number, level: boolean): void {
    this.irqView.setUint32(0, gsi, true);
    this.irqView.setUint32(4, level ? 1 : 0, true);
    if (ioctlPtr(this.fd, abi.KVM_IRQ_LINE, this.irqBuf) < 0) throw fail(`KVM_IRQ_LINE gsi ${gsi}`);
  }

  /** Replace the GSI routing table (KVM_SET_GSI_ROUTING) with irqchip-pin routes. */
  setIrqRouting(routes: readonly IrqRoute[]): void {
    const ENTRY = 48;
    const buf = new Uint8Array(8 + routes.length * ENTRY);
    const v = new DataView(buf.buffer);
    v.setUint32(0, routes.length, true);
    routes.forEach((r, i) => {
      const off = 8 + i * ENTRY;
      v.setUint32(off, r.gsi, true);
      v.setUint32(off + 4, KVM_IRQ_ROUTING_IRQCHIP, true);
      v.setUint32(off + 16, IRQCHIP_IDS[r.chip], true);
      v.setUint32(off + 20, r.pin, true);
    });
    if (ioctlPtr(this.fd, abi.KVM_SET_GSI_ROUTING, buf) < 0) throw fail('KVM_SET_GSI_ROUTING');
  }

  /** IOAPIC redirection entry of `pin` (in-kernel IOAPIC): vector bits 7:0, mask bit 16. */
  ioapicRedirection(pin: number): bigint {
    return new DataView(this.readIoapic().buffer).getBigUint64(abi.IOAPIC_REDIRTBL + 8 * pin, true);
  }

  /** The IOAPIC's raised lines and live pins in one line (for a stall diagnostic). */
  describeIoapic(): string {
    try {
      return formatIoapic(this.readIoapic(), abi.IOAPIC_IRR, abi.IOAPIC_REDIRTBL, abi.IOAPIC_PINS);
    } catch (e) {
      return `ioapic: unreadable (${(e as Error).message})`;
    }
  }

  /** KVM_GET_IRQCHIP for the in-kernel IOAPIC: struct kvm_irqchip with its kvm_ioapic_state. */
  private readIoapic(): Uint8Array {
    const buf = new Uint8Array(abi.IRQCHIP_SIZE);
    new DataView(buf.buffer).setUint32(0, abi.KVM_IRQCHIP_IOAPIC, true);
    if (ioctlPtr(this.fd, abi.KVM_GET_IRQCHIP, buf) < 0) throw fail('KVM_GET_IRQCHIP');
    return buf;
  }

  /** PIT channel 0's reload count (0 means 65536) and mode, from the in-kernel PIT. */
  pitChannel0(): { count: number; mode: number } {
    const buf = new Uint8Array(abi.PIT_STATE2_SIZE);
    if (ioctlPtr(this.fd, abi.KVM_GET_PIT2, buf) < 0) throw fail('KVM_GET_PIT2');
    const v = new DataView(buf.buffer);
    return { count: v.getUint32(0, true) || 0x1_0000, mode: buf[13]! };
  }

  /** KVM_SIGNAL_MSI returns how many vCPUs took the interrupt: 0 means delivered nowhere (api.rst 4.71). */
  signalMsi(addressLo: number, addressHi: number, data: number): boolean {
    this.msiBuf.fill(0);
    this.msiView.setUint32(0, addressLo, true);
    this.msiView.setUint32(4, addressHi, true);
    this.msiView.setUint32(8, data, true);
    const rc = ioctlPtr(this.fd, abi.KVM_SIGNAL_MSI, this.msiBuf);
    if (rc < 0) throw fail('KVM_SIGNAL_MSI');
    return rc > 0;
  }

  close(): void {
    for (const fd of this.vcpuHandles) close(fd);
    this.vcpuHandles.length = 0;
    close(this.fd);
  }
}
