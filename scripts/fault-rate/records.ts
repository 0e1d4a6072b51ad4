// What a fault-rate run plans and records: the workloads, the interleaved plan (every config and
// stack once a round, the stack that goes first alternating), each boot's request, and how a
// finished boot is classified: faults the guest did not ask for (resets attributed by the console
// output before them), any other failure, one line describing it. Pure: unit-tested.

import type { BootRequest, BootResult } from '../../targets/index.js';
import { attributeResets, PROBE_REBOOT_LINE, type ResetAttribution } from '../../targets/reset-attribution.js';
import { parseProbeEvents, probeBoots } from '../../suites/harness/probe.js';

/** Per boot, in the lab: an SMP 8 irqtest boot takes ~70-90 s there; a hung one is a failure, not a wait. */
export const BOOT_TIMEOUT_S = 300;
const SERIAL_TAIL = 1_500;
/** QEMU reboot=triple runs loop (see fault-rate.ts): stop after this long, ~5 reboots in the lab. */
export const TRIPLE_LOOP_S = 60;

export const WORKLOADS = {
  irqtest: { guest: 'debian-irqtest', irqtest: 'msi+intx,32,2000' },
  triple: { guest: 'debian-probe', reboot: 'triple', reboots: 1 },
  // The debian-disk suite's boot: SeaBIOS, GRUB from the IDE disk, systemd, the disk probe (the image path comes with the plan).
  disk: { firmware: 'seabios-256k' },
  // A plain probe boot: the control for the two below.
  probe: { guest: 'debian-probe' },
  // bar-assignment's Linux case: one 32 GiB 64-bit prefetchable BAR, 40 physical address bits (the
  // boot behind most lab losses in npm test at SMP 8, docs/lab-fault-rate.md).
  bar32g: { guest: 'debian-probe', pciTestDevices: ['mem64pref:32G'], physBits: 40 },
} as const;
export type Workload = keyof typeof WORKLOADS;
export type Stack = 'own' | 'qemu';
export const STACK_NAMES: Record<Stack, string> = { own: 'own VMM', qemu: 'QEMU 7.2 -accel kvm' };
const DONE = '@@bootgate \\{"event":"done"';
const DISK_DONE = 'bootgate-disk: done';

export interface PlannedBoot {
  round: number;
  stack: Stack;
  workload: Workload;
  smp: number;
  /** The disk workload's image (guests/debian-disk), filled in on the host before the rounds. */
  disk?: string;
}

export interface BootRecord extends PlannedBoot {
  /** The lab VM wedged while this boot ran: its console line. Nothing else is known then. */
  lockup?: string;
  status?: BootResult['status'];
  wallMs?: number;
  resets?: number;
  /** Triple faults the guest asked for: the probe's reboot lines (reboot=t). */
  requested?: number;
  /** Faults the guest did not ask for: own VMM, triple faults beyond the requested; QEMU, resets attributed as unrequested. */
  unrequested?: number;
  /** Every reset attributed by the console before it (see the header). */
  resetsBy?: ResetAttribution;
  /** Own VMM: every triple-fault event (which vCPU, when, its registers). */
  tripleFaults?: Array<{ vcpu: number; t: number; registers: Record<string, unknown> }>;
  /** QEMU: when each RESET came (ms since start) and QMP's reason. */
  resetEvents?: Array<{ t: number; source: string }>;
  /** Why the boot failed otherwise (no unrequested reset), or undefined. */
  failure?: string;
  serialTail?: string;
  /** The VMM's stop diagnostic of a failed boot (registers, last exits, device states), so a hang explains itself. */
  diagnostic?: BootResult['diagnostic'];
  /** Either stack: L1 KVM's trace of the first shutdown the boot did not ask for (lab/kvm-trace.ts), summed up, and the saved trace. */
  kvmTrace?: { summary: string; file: string };
  /**
   * The lab's CPU model, kvm_amd parameters and QEMU when they were not the lab-qemu fixture's
   * defaults (BOOTGATE_LAB_CPU, BOOTGATE_LAB_KVM_AMD, BOOTGATE_LAB_QEMU_BINARY or $QEMU, or the
   * patched build the lab now runs by default).
   */
  lab?: { cpu: string; kvmAmd: readonly string[]; qemu?: string };
}

/** The interleaved plan: every config and stack once a round, the stack that goes first alternating. */
export function plan(rounds: number, configs: ReadonlyArray<{ workload: Workload; smp: number }>, stacks: readonly Stack[], firstRound = 1): PlannedBoot[] {
  const out: PlannedBoot[] = [];
  for (let round = firstRound; round < firstRound + rounds; round++) {
    const order = round % 2 === 1 ? stacks : [...stacks].reverse();
    for (const c of configs) for (const stack of order) out.push({ round, stack, ...c });
  }
  return out;
}

/** A QEMU reboot=triple run loops (see the header) and ends at its timeout on purpose. */
export function loops(p: PlannedBoot): boolean {
  return p.stack === 'qemu' && p.workload === 'triple';
}

export function requestOf(p: PlannedBoot): BootRequest {
  // The own VMM's timeout is scaled by 4 inside the lab (targets/vmm/target.ts TIMEOUT_SCALE); QEMU's is not.
  const timeoutS = p.stack === 'own' ? BOOT_TIMEOUT_S / 4 : loops(p) ? TRIPLE_LOOP_S : BOOT_TIMEOUT_S;
  if (p.workload === 'disk') {
    if (p.disk === undefined) throw new TypeError('a disk boot needs the image path in its plan');
    return { ...WORKLOADS.disk, disk: p.disk, smp: p.smp, timeoutS, until: DISK_DONE };
  }
  const { pciTestDevices, ...w } = WORKLOADS[p.workload] as { pciTestDevices?: readonly string[] } & BootRequest;
  return { ...w, ...(pciTestDevices ? { pciTestDevices: [...pciTestDevices] } : {}), smp: p.smp, timeoutS, until: DONE };
}

/** What one finished boot shows: faults the guest did not ask for, else any other failure. */
export function classify(p: PlannedBoot, r: Pick<BootResult, 'status' | 'wallMs' | 'resets' | 'events' | 'serial' | 'error' | 'diagnostic'>): BootRecord {
  const requested = r.serial.split(PROBE_REBOOT_LINE).length - 1;
  const resetsBy = attributeResets(r.events);
  const rec: BootRecord = { ...p, status: r.status, wallMs: Math.round(r.wallMs), resets: r.resets, requested, resetsBy };
  if (p.stack === 'own') {
    rec.tripleFaults = r.events
      .filter((e) => e.event === 'triple-fault')
      .map((e) => ({ vcpu: Number(e.vcpu), t: e.t, registers: (e.registers ?? {}) as Record<string, unknown> }));
    // A reset of another kind the guest did not ask for counts too (none seen so far).
    rec.unrequested = Math.max(rec.tripleFaults.length - requested, resetsBy.unrequested, 0);
  } else {
    rec.resetEvents = r.events.filter((e) => e.event === 'reset').map((e) => ({ t: e.t, source: String(e.source) }));
    rec.unrequested = resetsBy.unrequested;
  }
  rec.failure = otherFailure(p, r);
  if (rec.unrequested > 0 || resetsBy.unrequested > 0 || rec.failure !== undefined) {
    rec.serialTail = r.serial.slice(-SERIAL_TAIL);
    if (r.diagnostic) rec.diagnostic = r.diagnostic;
  }
  return rec;
}

function otherFailure(p: PlannedBoot, r: Pick<BootResult, 'status' | 'serial' | 'error' | 'diagnostic'>): string | undefined {
  if (loops(p)) {
    const boots = probeBoots(parseProbeEvents(r.serial)).length;
    return boots >= 2 ? undefined : `${r.status}: ${boots} boot(s) reached init in ${TRIPLE_LOOP_S} s`;
  }
  if (r.status !== 'until-matched') return `${r.status}: ${r.error?.message ?? r.diagnostic?.reason ?? 'no done line'}`.slice(0, 300);
  if (p.workload === 'disk') return undefined;
  const events = parseProbeEvents(r.serial);
  const bad = events.find((e) => e.event === 'irqtest-error' || e.event === 'error' || (e.event === 'irqtest-round' && e.ok !== true));
  if (bad) return `probe: ${JSON.stringify(bad).slice(0, 300)}`;
  if (p.workload === 'irqtest' && !events.some((e) => e.event === 'irqtest-done')) return 'probe: no irqtest-done line';
  if (p.workload === 'triple') {
    const boots = probeBoots(events);
    if (boots.at(-1) !== 2) return `probe: boots reported ${JSON.stringify(boots)}, expected the last to be 2`;
  }
  return undefined;
}

export function describe(r: BootRecord): string {
  const what = `round ${r.round} ${STACK_NAMES[r.stack]} ${r.workload} SMP ${r.smp}`;
  if (r.lockup) return `${what}: lab wedged (${r.lockup})`;
  const faults = r.tripleFaults?.map((f) => `vCPU ${f.vcpu} at ${(f.t / 1000).toFixed(1)} s`).join(', ');
  const by = r.resetsBy ? ` (after the probe's reboot line ${r.resetsBy.requested}, firmware ${r.resetsBy.firmware}, other ${r.resetsBy.unrequested})` : '';
  return `${what}: ${r.status ?? 'not run'} ${r.wallMs === undefined ? '' : `${(r.wallMs / 1000).toFixed(1)} s`}, ${r.requested ?? '?'} triple fault(s) requested, resets ${r.resets ?? '?'}${by}${faults ? `, triple faults: ${faults}` : ''}, unrequested ${r.unrequested ?? '?'}${r.failure ? `, FAILED: ${r.failure}` : ''}${r.kvmTrace ? `; ${r.kvmTrace.summary}` : ''}`;
}

