// The device owner's side of the mailboxes: serve one vCPU's request against the machine (a port
// or MMIO access on the buses, a shutdown, a fatal exit, vCPU 0's reset-vector step) and reply.
// A reset the access asked for is attributed to the asking vCPU, and the reply says so (the vCPU
// then waits, parked, for the reset to pause it).

import type { BusDevice } from '../devices/device.js';
import type { Machine } from '../machine/machine.js';
import { MailKind, type Mailbox } from './mailbox.js';
import type { PostedWrite } from './posted-writes.js';
import type { ResetStep } from './reset-step.js';
import { servePioAccess } from './serve-exit.js';
import { UNASSIGNED_PAGE_SIZE, unassignedPageBase } from './unassigned-pages.js';

export interface OwnerEvents {
  /** vCPU 0's reset-vector step arrived (may throw the step's verdict). */
  resetStep(step: ResetStep): void;
  /** A vCPU thread failed; its report has the error. */
  fatal(vcpu: number): void;
  /** A vCPU shut down (its thread already reported the registers). */
  tripleFault(vcpu: number): void;
  /** The request was carried out and its reply is about to go (the owner publishes ShadowRead values). */
  beforeReply?(): void;
  /** The MMIO map's current version (control.ts), told with an unassigned access whose page is empty. */
  mmioMapVersion?(): number;
}

export class OwnerService {
  private readonly regionIds = new Map<BusDevice, number>();
  /** The bytes of the posted write being applied (at most a dword). */
  private readonly postedData = new Uint8Array(4);

  constructor(
    private readonly machine: () => Machine,
    private readonly events: OwnerEvents,
  ) {}

  /** Serve `mb`'s request from `vcpu` and reply (also when the request throws: the vCPU must not hang). */
  serve(vcpu: number, mb: Mailbox): void {
    const machine = this.machine();
    const data = mb.data.subarray(0, mb.size * mb.count);
    let claimed = true;
    let region: { id: number; name: string } | undefined;
    let emptyPageVersion = -1;
    const kind = mb.kind;
    try {
      switch (kind) {
        case MailKind.PioIn:
        case MailKind.PioOut:
          claimed = servePioAccess(machine.pio, kind === MailKind.PioIn, mb.addr, mb.size, mb.count, data);
          break;
        case MailKind.MmioRead:
        case MailKind.MmioWrite: {
          const range = kind === MailKind.MmioRead ? machine.mmio.read(mb.addr, data) : machine.mmio.write(mb.addr, data);
          region = range === undefined ? undefined : { id: this.regionId(range.device), name: range.device.name };
          if (range === undefined && this.events.mmioMapVersion && machine.mmio.isEmpty(unassignedPageBase(mb.addr), UNASSIGNED_PAGE_SIZE)) {
            emptyPageVersion = this.events.mmioMapVersion();
          }
          break;
        }
        case MailKind.TripleFault:
          this.events.tripleFault(vcpu);
          break;
        case MailKind.Fatal:
          this.events.fatal(vcpu);
          break;
        case MailKind.ResetStep:
          this.events.resetStep(JSON.parse(Buffer.from(data).toString('utf8')) as ResetStep);
          break;
        default:
          throw new Error(`vCPU ${vcpu} posted an unknown mailbox request ${String(kind)}`);
      }
    } catch (e) {
      mb.reply(false);
      throw e;
    }
    const pending = machine.pending;
    const asked = pending?.kind === 'reset' && pending.vcpu === undefined;
    if (asked) pending.vcpu = vcpu;
    const accessAsked = asked && kind !== MailKind.TripleFault;
    this.events.beforeReply?.();
    if (kind === MailKind.MmioRead || kind === MailKind.MmioWrite) mb.replyRegion(region?.id, region?.name ?? '', accessAsked, emptyPageVersion);
    else mb.reply(claimed, accessAsked);
  }

  /**
   * Apply a posted write (posted-writes.ts) as the vCPU that queued it would have. A posted
   * register never asks for a reset by its declaration; should one, the reset is still that vCPU's.
   */
  applyPosted(write: PostedWrite): void {
    const machine = this.machine();
    const data = this.postedData.subarray(0, write.size);
    for (let i = 0; i < write.size; i++) data[i] = (write.value >>> (8 * i)) & 0xff;
    servePioAccess(machine.pio, false, write.port, write.size, 1, data);
    const pending = machine.pending;
    if (pending?.kind === 'reset' && pending.vcpu === undefined) pending.vcpu = write.vcpu;
  }

  private regionId(device: BusDevice): number {
    let id = this.regionIds.get(device);
    if (id === undefined) {
      id = this.regionIds.size + 1;
      this.regionIds.set(device, id);
    }
    return id;
  }
}
