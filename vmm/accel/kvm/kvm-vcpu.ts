// A KVM vCPU as seen from the worker thread that runs it: KVM_RUN through koffi, synchronously
// (koffi .async is 7-17x slower, docs/host-and-lab.md), with the exit decoded into one reused ExitInfo so the
// hot path allocates nothing. The kvm_run page is shared with kickers through its host address:
// after a machine reset replaced this vCPU, close() (munmap) only once the control block says no
// kick is in flight (ControlBlock.waitNoKicks), or a kicker that read the old address writes into
// an unmapped page (a SIGSEGV of the whole VMM, seen in the lab after a triple fault). The mapping
// holds a reference on the vCPU file, so an old VM is destroyed only when its pages are gone.

import { BootgateError } from '../../errors.js';
import { ExitKind, type ExitInfo } from '../exit-info.js';
import type { FetchPoint, Vcpu, VcpuBackend, VcpuDiagnosis, VcpuIntrospection } from '../types.js';
import { formatLapic } from './interrupt-state.js';
import * as abi from './kvm-abi.js';
import {
  EAGAIN,
  EINTR,
  errno,
  ioctlInt,
  ioctlPtr,
  MAP_FAILED,
  MAP_SHARED,
  mmap,
  munmap,
  PROT_READ,
  PROT_WRITE,
  strerror,
  viewAt,
} from './libc.js';

/** Exit reasons that carry nothing to decode. */
const PLAIN_EXITS = new Map<number, ExitKind>([
  [abi.KVM_EXIT_HLT, ExitKind.Hlt],
  [abi.KVM_EXIT_SHUTDOWN, ExitKind.Shutdown],
  [abi.KVM_EXIT_INTR, ExitKind.Interrupted],
  [abi.KVM_EXIT_DEBUG, ExitKind.Debug],
  [abi.KVM_EXIT_FAIL_ENTRY, ExitKind.FailEntry],
]);

export class KvmVcpu implements Vcpu, VcpuIntrospection {
  readonly runAddress: bigint;
  /** kvm_run.immediate_exit: set to 1, the current or next KVM_RUN returns EINTR. */
  readonly kickAddress: bigint;
  private readonly runBytes: Uint8Array;
  private readonly run32: DataView;
  readonly exit: ExitInfo;
  private ioDataOffset = -1;
  private ioDataLength = -1;
  private ioData: Uint8Array;
  private mmioDataLength = -1;
  private mmioData: Uint8Array;
  /** KVM_GET_LAPIC's buffer, kept for the IRR scrubber (called before every entry under its quirk). */
  private lapicPage?: Uint8Array;

  constructor(
    readonly fd: number,
    readonly index: number,
    private readonly mmapSize: number,
  ) {
    const addr = mmap(0n, mmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr === MAP_FAILED) {
      throw new BootgateError('E_ACCEL', `mmap of kvm_run for vCPU ${index} failed: ${strerror(errno())}`);
    }
    this.runAddress = addr;
    this.kickAddress = addr + BigInt(abi.RUN_IMMEDIATE_EXIT);
    const buf = viewAt(addr, mmapSize);
    this.runBytes = new Uint8Array(buf);
    this.run32 = new DataView(buf);
    this.ioData = this.runBytes.subarray(0, 0);
    this.mmioData = this.ioData;
    this.exit = {
      kind: ExitKind.Unknown,
      port: 0,
      size: 0,
      count: 0,
      gpa: 0,
      isWrite: false,
      data: this.runBytes.subarray(0, 0),
      reason: 0,
      suberror: 0,
    };
  }

  /** Unmap kvm_run (see the header: only when no kick can still hold its address). */
  close(): void {
    munmap(this.runAddress, this.mmapSize);
  }

  /** Enter the guest until the next exit; decode it into `this.exit`; return its kind. */
  run(): ExitKind {
    const rc = ioctlInt(this.fd, abi.KVM_RUN, 0);
    return this.decode(rc, rc < 0 ? errno() : 0);
  }

  /** Decode the exit of a KVM_RUN that returned `rc` (and `e`, its errno): here, or on a native thread (native-threads.ts). */
  decode(rc: number, e: number): ExitKind {
    const exit = this.exit;
    if (rc < 0) {
      if (e === EINTR || e === EAGAIN) {
        exit.kind = ExitKind.Interrupted;
        return exit.kind;
      }
      throw new BootgateError('E_ACCEL', `KVM_RUN on vCPU ${this.index} failed: ${strerror(e)} (errno ${e})`);
    }
    const v = this.run32;
    const reason = v.getUint32(abi.RUN_EXIT_REASON, true);
    exit.reason = reason;
    switch (reason) {
      case abi.KVM_EXIT_IO: {
        const size = this.runBytes[abi.RUN_IO_SIZE]!;
        const count = v.getUint32(abi.RUN_IO_COUNT, true);
        // data_offset is a u64 but always inside the kvm_run mapping: its low half is enough.
        const off = v.getUint32(abi.RUN_IO_DATA_OFFSET, true);
        const len = size * count;
        exit.kind = this.runBytes[abi.RUN_IO_DIRECTION] === abi.KVM_EXIT_IO_OUT ? ExitKind.IoOut : ExitKind.IoIn;
        exit.port = v.getUint16(abi.RUN_IO_PORT, true);
        exit.size = size;
        exit.count = count;
        // Reuse the view when the data window is unchanged (it almost always is): no allocation per exit.
        if (off !== this.ioDataOffset || len !== this.ioDataLength) {
          this.ioDataOffset = off;
          this.ioDataLength = len;
          this.ioData = this.runBytes.subarray(off, off + len);
        }
        exit.data = this.ioData;
        return exit.kind;
      }
      case abi.KVM_EXIT_MMIO: {
        const len = v.getUint32(abi.RUN_MMIO_LEN, true);
        if (len !== this.mmioDataLength) {
          this.mmioDataLength = len;
          this.mmioData = this.runBytes.subarray(abi.RUN_MMIO_DATA, abi.RUN_MMIO_DATA + len);
        }
        exit.isWrite = this.runBytes[abi.RUN_MMIO_IS_WRITE] !== 0;
        exit.kind = exit.isWrite ? ExitKind.MmioWrite : ExitKind.MmioRead;
        exit.gpa = Number(v.getBigUint64(abi.RUN_MMIO_PHYS_ADDR, true));
        exit.size = len;
        exit.count = 1;
        exit.data = this.mmioData;
        return exit.kind;
      }
      case abi.KVM_EXIT_SYSTEM_EVENT:
        exit.kind = ExitKind.SystemEvent;
        exit.suberror = v.getUint32(abi.RUN_SYSTEM_EVENT_TYPE, true);
        return exit.kind;
      case abi.KVM_EXIT_INTERNAL_ERROR:
        exit.kind = ExitKind.InternalError;
        exit.suberror = v.getUint32(abi.RUN_INTERNAL_SUBERROR, true);
        return exit.kind;
      default:
        exit.kind = PLAIN_EXITS.get(reason) ?? ExitKind.Unknown;
        return exit.kind;
    }
  }

  /** Extra words of an internal-error exit (for diagnostics). */
  internalErrorData(): bigint[] {
    const n = Math.min(this.run32.getUint32(abi.RUN_INTERNAL_NDATA, true), 16);
    const out: bigint[] = [];
    for (let i = 0; i < n; i++) out.push(this.run32.getBigUint64(abi.RUN_INTERNAL_DATA + 8 * i, true));
    return out;
  }

  /**
   * The scrub-irr-live-vector quirk's step: read the in-kernel local APIC, and when `vector` is
   * pending in its IRR, clear it and write the state back (KVM recomputes the highest pending
   * vector and restarts the APIC timer from its current count). Costs one KVM_GET_LAPIC per call.
   */
  clearIrrVector(vector: number): boolean {
    const page = (this.lapicPage ??= new Uint8Array(abi.LAPIC_STATE_SIZE));
    if (ioctlPtr(this.fd, abi.KVM_GET_LAPIC, page) < 0) throw new BootgateError('E_ACCEL', `KVM_GET_LAPIC: ${strerror(errno())}`);
    const view = new DataView(page.buffer);
    const at = abi.LAPIC_IRR_OFFSET + 16 * (vector >>> 5);
    const bit = 1 << (vector & 31);
    const word = view.getUint32(at, true);
    if ((word & bit) === 0) return false;
    view.setUint32(at, (word & ~bit) >>> 0, true);
    if (ioctlPtr(this.fd, abi.KVM_SET_LAPIC, page) < 0) throw new BootgateError('E_ACCEL', `KVM_SET_LAPIC: ${strerror(errno())}`);
    return true;
  }

  /** Turn single-stepping on or off (KVM_SET_GUEST_DEBUG); false if the accelerator refuses. */
  setSingleStep(on: boolean): boolean {
    const buf = new Uint8Array(abi.GUEST_DEBUG_SIZE);
    new DataView(buf.buffer).setUint32(0, on ? abi.KVM_GUESTDBG_ENABLE | abi.KVM_GUESTDBG_SINGLESTEP : 0, true);
    return ioctlPtr(this.fd, abi.KVM_SET_GUEST_DEBUG, buf) >= 0;
  }

  /** CS base and RIP: where the next instruction is fetched (gpa = csBase + rip in real mode). */
  fetchPoint(): FetchPoint {
    const s = this.getSregs();
    const r = this.getRegs();
    return { csBase: Number(s['cs.base']), csSelector: Number(s['cs.sel']), rip: Number(r.rip) };
  }

  /** Move the real-mode CS base (KVM_SET_SREGS): where the first fetch goes with CS:IP F000:FFF0. */
  setCsBase(base: number): void {
    const buf = new Uint8Array(abi.SREGS_SIZE);
    if (ioctlPtr(this.fd, abi.KVM_GET_SREGS, buf) < 0) throw new BootgateError('E_ACCEL', `KVM_GET_SREGS: ${strerror(errno())}`);
    new DataView(buf.buffer).setBigUint64(abi.SREGS_CS_BASE, BigInt(base), true);
    if (ioctlPtr(this.fd, abi.KVM_SET_SREGS, buf) < 0) throw new BootgateError('E_ACCEL', `KVM_SET_SREGS: ${strerror(errno())}`);
  }

  setImmediateExit(on: boolean): void {
    this.runBytes[abi.RUN_IMMEDIATE_EXIT] = on ? 1 : 0;
  }

  getRegs(): Record<string, bigint> {
    const buf = new Uint8Array(abi.REGS_SIZE);
    if (ioctlPtr(this.fd, abi.KVM_GET_REGS, buf) < 0) throw new BootgateError('E_ACCEL', `KVM_GET_REGS: ${strerror(errno())}`);
    const v = new DataView(buf.buffer);
    const out: Record<string, bigint> = {};
    abi.REG_NAMES.forEach((name, i) => {
      out[name] = v.getBigUint64(i * 8, true);
    });
    return out;
  }

  getSregs(): Record<string, bigint> {
    const buf = new Uint8Array(abi.SREGS_SIZE);
    if (ioctlPtr(this.fd, abi.KVM_GET_SREGS, buf) < 0) throw new BootgateError('E_ACCEL', `KVM_GET_SREGS: ${strerror(errno())}`);
    const v = new DataView(buf.buffer);
    const out: Record<string, bigint> = {};
    abi.SEGMENT_NAMES.forEach((name, i) => {
      out[`${name}.base`] = v.getBigUint64(i * abi.SEGMENT_SIZE, true);
      out[`${name}.sel`] = BigInt(v.getUint16(i * abi.SEGMENT_SIZE + 12, true));
    });
    abi.SREGS_CONTROL_NAMES.forEach((name, i) => {
      out[name] = v.getBigUint64(abi.SREGS_CR0 + i * 8, true);
    });
    return out;
  }

  /** KVM_GET_MP_STATE by name ('runnable', 'halted', ...). */
  mpState(): string {
    const buf = new Uint8Array(4);
    if (ioctlPtr(this.fd, abi.KVM_GET_MP_STATE, buf) < 0) throw new BootgateError('E_ACCEL', `KVM_GET_MP_STATE: ${strerror(errno())}`);
    const n = new DataView(buf.buffer).getUint32(0, true);
    return abi.MP_STATE_NAMES[n] ?? `mp-state ${n}`;
  }

  /** The local APIC and run state in one line (for a stall diagnostic). */
  private describeInterruptState(): string {
    const page = new Uint8Array(abi.LAPIC_STATE_SIZE);
    try {
      const state = this.mpState();
      if (ioctlPtr(this.fd, abi.KVM_GET_LAPIC, page) < 0) throw new BootgateError('E_ACCEL', `KVM_GET_LAPIC: ${strerror(errno())}`);
      return formatLapic(this.index, state, page);
    } catch (e) {
      return `lapic vCPU ${this.index}: unreadable (${(e as Error).message})`;
    }
  }

  /**
   * What a stall diagnostic shows of this vCPU: its registers plus rip's guest-physical address
   * (`rip.gpa`, through the guest's page tables), and its run state and local APIC in one line.
   * `ripGpa` is that address as a number, for reading the code there.
   */
  diagnose(): VcpuDiagnosis {
    const registers = this.dumpRegisters();
    let ripGpa: number | undefined;
    if (registers.error === undefined) {
      const gpa = this.translate(BigInt(registers['cs.base']!) + BigInt(registers.rip!));
      ripGpa = gpa === undefined ? undefined : Number(gpa);
      registers['rip.gpa'] = gpa === undefined ? 'unmapped' : `0x${gpa.toString(16)}`;
    }
    return { registers, ripGpa, lapic: this.describeInterruptState() };
  }

  /** Guest-physical address of a linear address through the vCPU's page tables (KVM_TRANSLATE), or undefined when unmapped. */
  translate(linear: bigint): bigint | undefined {
    const buf = new Uint8Array(abi.TRANSLATION_SIZE);
    const v = new DataView(buf.buffer);
    v.setBigUint64(0, linear, true);
    if (ioctlPtr(this.fd, abi.KVM_TRANSLATE, buf) < 0) return undefined;
    return buf[16] ? v.getBigUint64(8, true) : undefined;
  }

  /** Registers for a diagnostic dump, as hex strings. */
  dumpRegisters(): Record<string, string> {
    const out: Record<string, string> = {};
    try {
      for (const [k, val] of Object.entries({ ...this.getRegs(), ...this.getSregs() })) out[k] = `0x${val.toString(16)}`;
    } catch (e) {
      out.error = (e as Error).message;
    }
    return out;
  }
}

/** The KVM vCPU backend: opens a vCPU fd another thread's VM published (kvm_run is `mmapSize` bytes). */
export function kvmVcpuBackend(mmapSize: number): VcpuBackend {
  return { name: 'kvm', open: (handle, index) => new KvmVcpu(handle, index, mmapSize) };
}
