// The exit handler of a vCPU thread: sync registers (PM timer, POST codes) are served with the
// thread's own instances; a write to a posted register is queued for the owner (posted-writes.ts)
// and the thread goes on; an MMIO access to a page the owner said no device claims is answered here
// (unassigned-pages.ts); every other device access goes to the device owner through the mailbox,
// and the thread waits for the answer (a hand-over). A shutdown is reported the same way.

import { ExitKind, type ExitInfo } from '../accel/exit-info.js';
import type { Vcpu } from '../accel/types.js';
import { getLE } from '../devices/device.js';
import type { SyncPortMap } from '../devices/sync-devices.js';
import { type ControlBlock, StopMode } from './control.js';
import { faultRegisters } from './fault-registers.js';
import { MailKind, type Mailbox } from './mailbox.js';
import type { PostedWrites } from './posted-writes.js';
import type { RipSampler } from './rip-sampler.js';
import type { ExitHandler } from './runner.js';
import { UnassignedPages } from './unassigned-pages.js';

/** How often a vCPU waiting for the owner looks at the stop flag. */
const WAIT_SLICE_MS = 50;

export class MailboxExitHandler implements ExitHandler {
  handedOver = false;
  resetAsked = false;
  private syncVersion = -1;
  private readonly regionNames = new Map<number, string>();
  private readonly emptyPages = new UnassignedPages();
  /** For a posted write waiting for room in the ring; made once, not per exit. */
  private readonly running = (): boolean => this.control.stopMode === StopMode.Running;

  constructor(
    private readonly control: ControlBlock,
    private readonly mailbox: Mailbox,
    private readonly sync: SyncPortMap,
    private readonly posted: PostedWrites,
    private readonly vcpuIndex: number,
    private readonly emit: (event: Record<string, unknown>) => void,
    readonly sampler?: RipSampler,
  ) {}

  /** Send a request to the device owner and wait for its answer; false when the machine stopped meanwhile. */
  ask(kind: MailKind, addr: number, size: number, count: number, payload?: Uint8Array): boolean {
    this.mailbox.post(kind, addr, size, count, payload);
    this.control.ringDoorbell();
    while (!this.mailbox.waitDone(WAIT_SLICE_MS)) {
      if (this.control.stopMode !== StopMode.Running) return false;
    }
    this.mailbox.finish();
    return true;
  }

  pio(exit: ExitInfo, vcpu: Vcpu): number {
    this.resetAsked = false;
    const isIn = exit.kind === ExitKind.IoIn;
    if (this.control.syncVersion !== this.syncVersion) {
      const table = this.control.syncPorts();
      this.sync.update(table.entries, table.version);
      this.syncVersion = table.version;
    }
    if (this.sync.serve(isIn, exit.port, exit.size, exit.count, exit.data)) {
      this.handedOver = false;
      return getLE(exit.data.subarray(0, exit.size));
    }
    if (!isIn && this.sync.posts(exit.port, exit.size, exit.count)) {
      this.handedOver = false;
      const value = getLE(exit.data.subarray(0, exit.size));
      if (!this.posted.post({ vcpu: this.vcpuIndex, port: exit.port, size: exit.size, value }, this.running)) return -1;
      this.control.ringDoorbell();
      return value;
    }
    this.handedOver = true;
    if (!this.ask(isIn ? MailKind.PioIn : MailKind.PioOut, exit.port, exit.size, exit.count, isIn ? undefined : exit.data)) {
      exit.data.fill(0xff);
      return -1;
    }
    if (isIn) exit.data.set(this.mailbox.data.subarray(0, exit.size * exit.count));
    if (this.mailbox.resetAsked) this.noteResetRequest(vcpu);
    return this.mailbox.claimed ? getLE(exit.data.subarray(0, exit.size)) : -1;
  }

  mmio(exit: ExitInfo, vcpu: Vcpu): string {
    this.resetAsked = false;
    const isRead = exit.kind === ExitKind.MmioRead;
    if (this.emptyPages.covers(exit.gpa, exit.size, this.control.mmioMapVersion)) {
      // A page no device claims (unassigned-pages.ts): answered here as the bus would.
      this.handedOver = false;
      if (isRead) exit.data.fill(0xff, 0, exit.size);
      return 'unassigned';
    }
    this.handedOver = true;
    if (!this.ask(isRead ? MailKind.MmioRead : MailKind.MmioWrite, exit.gpa, exit.size, 1, isRead ? undefined : exit.data)) {
      exit.data.fill(0xff);
      return 'unassigned';
    }
    if (isRead) exit.data.set(this.mailbox.data.subarray(0, exit.size));
    if (this.mailbox.resetAsked) this.noteResetRequest(vcpu);
    this.emptyPages.learn(exit.gpa, this.mailbox.emptyPageVersion);
    return this.mailbox.servedRegion(this.regionNames);
  }

  /**
   * This vCPU's access asked for a machine reset: record where (the linear address after the
   * instruction, so a suite can tell firmware below 1 MiB from the kernel writing the same
   * register) for the owner's reset event, and park until the reset pauses the vCPU.
   */
  private noteResetRequest(vcpu: Vcpu): void {
    this.resetAsked = true;
    const regs = vcpu.dumpRegisters();
    if (regs.error === undefined) this.control.setResetRip(vcpu.index, BigInt(regs['cs.base']!) + BigInt(regs.rip!));
  }

  shutdown(vcpu: Vcpu): void {
    this.resetAsked = false;
    this.emit({ event: 'triple-fault', vcpu: vcpu.index, registers: faultRegisters(vcpu.dumpRegisters()) });
    this.ask(MailKind.TripleFault, 0, 0, 0);
  }

  interrupted(vcpu: Vcpu): void {
    this.sampler?.sample(vcpu);
  }

  afterExit(): void {}
}
