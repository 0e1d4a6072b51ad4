import { describe, expect, it } from 'vitest';
import { SYNC_READS } from '../../guests/sync-reads-probe.js';
import type { BootResult } from '../../targets/boot-result.js';
import type { ExitProfile } from '../../vmm/events.js';
import { checkSyncReads, SYNC_READS_CHECK } from './sync-reads-check.js';

const h8 = (n: number) => n.toString(16).padStart(8, '0');
const PCI_OK = `sync-reads: pci pmbase ${h8(0x601)} scans ${h8(0x1234abcd)} ${h8(0x1234abcd)} present ${h8(4)}\r\n`;
const PM_OK = `sync-reads: pm-timer monotonic: ${h8(0x1234)} ticks in ${h8(SYNC_READS)} reads\r\n`;
const LSR_OK = `sync-reads: lsr 00000060 in ${h8(SYNC_READS)} reads\r\n`;
const DONE = 'sync-reads: done\r\n';

function profile(over: Partial<ExitProfile> = {}): ExitProfile {
  return {
    wallMs: 100,
    vcpuRunMs: 50,
    vcpuRunPct: 25,
    pioMs: 1,
    pioPct: 1,
    mmioMs: 0,
    mmioPct: 0,
    exits: {},
    totalExits: 2 * SYNC_READS + 100,
    hottestPorts: [
      { port: 0x608, count: SYNC_READS + 1, handleNs: 0, firstMs: 1, lastMs: 2 },
      { port: 0x3fd, count: SYNC_READS + 3, handleNs: 0, firstMs: 2, lastMs: 3 },
    ],
    hottestRegions: [],
    unassigned: { pio: 0, mmio: 0 },
    handover: { count: 20, maxMs: 1, medianMs: 0.2, hottest: [{ target: 'port 0x70', count: 12 }, { target: 'port 0xcfc', count: 2 }] },
    ...over,
  };
}

function boot(serial: string, over: Partial<BootResult> = {}): BootResult {
  return { target: 'vmm:kvm', status: 'until-matched', exitCode: 0, serial, debugcon: '', milestones: {}, resets: 0, wallMs: 500, events: [], stderr: '', profile: profile(), ...over };
}

const assertions = (f: ReturnType<typeof checkSyncReads>) => f.map((x) => x.assertion);

describe('checkSyncReads', () => {
  it('passes a probe whose PCI reads agreed, whose PM timer was monotonic and LSR idle, every read counted and none handed over', () => {
    expect(checkSyncReads(boot(PCI_OK + PM_OK + LSR_OK + DONE), { smp: 2, vmmView: true })).toEqual([]);
  });

  it('fails a PM timer that stepped back, naming the read and both counts', () => {
    const back = `sync-reads: pm-timer went back at read ${h8(17)}: from ${h8(0x200010)} to ${h8(0x200000)}\r\n`;
    const f = checkSyncReads(boot(PCI_OK + back + LSR_OK + DONE), { smp: 2, vmmView: false });
    expect(assertions(f)).toEqual([SYNC_READS_CHECK.pmMonotonic]);
    expect(f[0]!.message).toBe(`read 17 of ${SYNC_READS} went back from 0x200010 to 0x200000 (16 ticks)`);
  });

  it('fails a PM timer that never moved, and a probe that printed no PM line', () => {
    expect(checkSyncReads(boot(`${PCI_OK}sync-reads: pm-timer stuck at ${h8(5)}\r\n${LSR_OK}${DONE}`), { smp: 1, vmmView: false })[0]!.message).toBe(
      `the count stayed at 0x5 for ${SYNC_READS} reads`,
    );
    expect(assertions(checkSyncReads(boot(PCI_OK + LSR_OK + DONE), { smp: 1, vmmView: false }))).toEqual([SYNC_READS_CHECK.pmMonotonic]);
  });

  it('fails an LSR read that was not THRE | TEMT', () => {
    const f = checkSyncReads(boot(`${PCI_OK}${PM_OK}sync-reads: lsr read ${h8(3)} was ${h8(0x61)}\r\n${DONE}`), { smp: 2, vmmView: false });
    expect(assertions(f)).toEqual([SYNC_READS_CHECK.lsrIdle]);
    expect(f[0]!.message).toBe(`read 3 of ${SYNC_READS} was 0x61`);
  });

  it('fails a run that ended before the last line (a hung or failed guest), naming how', () => {
    const f = checkSyncReads(boot(PCI_OK + PM_OK, { status: 'timeout' }), { smp: 1, vmmView: false });
    expect(assertions(f)).toEqual([SYNC_READS_CHECK.finished, SYNC_READS_CHECK.lsrIdle]);
    expect(f[0]!.message).toBe('the run ended timeout before the probe printed its last line');
  });

  it('fails PCI configuration reads that lag a write, differ between scans, or find no functions', () => {
    const stale = `sync-reads: pci pmbase ${h8(0x1)} scans ${h8(0x10)} ${h8(0x11)} present ${h8(1)}\r\n`;
    const f = checkSyncReads(boot(stale + PM_OK + LSR_OK + DONE), { smp: 2, vmmView: false });
    expect(f).toEqual([
      { assertion: SYNC_READS_CHECK.pciConfig, message: 'PMBASE read back 0x1 right after the write of 0x601' },
      { assertion: SYNC_READS_CHECK.pciConfig, message: 'two scans of bus 0 read differently (checksums 0x10 and 0x11)' },
      { assertion: SYNC_READS_CHECK.pciConfig, message: '1 functions answered on bus 0 (a host bridge and an ISA bridge at least)' },
    ]);
    expect(assertions(checkSyncReads(boot(PM_OK + LSR_OK + DONE), { smp: 2, vmmView: false }))).toEqual([SYNC_READS_CHECK.pciConfig]);
  });

  it('own VMM: fails reads missing from the profile, and at SMP > 1 reads that waited for the device owner', () => {
    const lost = profile({ hottestPorts: [{ port: 0x608, count: 10, handleNs: 0, firstMs: 1, lastMs: 2 }] });
    const f = checkSyncReads(boot(PCI_OK + PM_OK + LSR_OK + DONE, { profile: lost }), { smp: 1, vmmView: true });
    expect(f.map((x) => x.message)).toEqual([
      `port 0x608: 10 exits in the profile, the probe read it at least ${SYNC_READS} times`,
      `port 0x3fd: 0 exits in the profile, the probe read it at least ${SYNC_READS} times`,
    ]);
    const waited = profile({ handover: { count: 4000, maxMs: 1, medianMs: 0.2, hottest: [{ target: 'port 0x608', count: 3990 }] } });
    const g = checkSyncReads(boot(PCI_OK + PM_OK + LSR_OK + DONE, { profile: waited }), { smp: 2, vmmView: true });
    expect(g).toEqual([{ assertion: SYNC_READS_CHECK.notHandedOver, message: 'handed to the device owner: port 0x608 3990 times' }]);
    // The probe's two CONFIG_DATA writes are hand-overs; more are reads that waited.
    const writes = profile({ handover: { count: 2, maxMs: 1, medianMs: 0.2, hottest: [{ target: 'port 0xcfc', count: 2 }] } });
    expect(checkSyncReads(boot(PCI_OK + PM_OK + LSR_OK + DONE, { profile: writes }), { smp: 2, vmmView: true })).toEqual([]);
    const reads = profile({ handover: { count: 515, maxMs: 1, medianMs: 0.2, hottest: [{ target: 'port 0xcfc', count: 515 }] } });
    expect(checkSyncReads(boot(PCI_OK + PM_OK + LSR_OK + DONE, { profile: reads }), { smp: 2, vmmView: true })[0]!.message).toBe('handed to the device owner: port 0xcfc 515 times');
    // SMP 1: the owner runs vCPU 0 itself, hand-overs are not judged.
    expect(checkSyncReads(boot(PCI_OK + PM_OK + LSR_OK + DONE, { profile: waited }), { smp: 1, vmmView: true })).toEqual([]);
  });
});
