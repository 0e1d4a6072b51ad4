// The debian-disk checker on a good console and on each kind of bad one.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkDiskBoot, DISK, parseDiskProbe, TROUBLE_PATTERNS } from './disk-check.js';

const SHA = (n: number) => n.toString(16).padStart(64, '0');
const expectedSha256 = (offsetMib: number) => SHA(offsetMib + 1);

const READS = [`cpu 0 offset-mib 0 mib 8 sha256 ${SHA(1)} before 1031 0 after 1054 0`, `cpu 1 offset-mib 8 mib 8 sha256 ${SHA(9)} before 1054 0 after 1055 28`];

/**
 * A probe console as disk-probe.sh prints it at SMP 2, with the getty and kernel noise around it;
 * the first read line is glued to the login prompt, as the getty and the probe share ttyS0.
 */
const TIMER_READ = `hz 2000 ticks 3000 seconds 1.52 cpu 0 offset-mib 0 mib 8 sha256 ${SHA(1)} before 1055 28 after 1078 28`;

function consoleOf(o: { reads?: string[]; timerRead?: string | null; final?: string; extra?: string[]; done?: boolean } = {}): string {
  const reads = (o.reads ?? READS).map((x) => `bootgate-disk: read ${x}`);
  if (reads[0]) reads[0] = `bootgate-disk login: ${reads[0]}`;
  return [
    'bootgate: GRUB loading Linux',
    'bootgate-disk: getty at-prompt after-polls 3 wchan do_select',
    'bootgate-disk: system-state running',
    'bootgate-disk: cpus 2 online 0-1',
    'bootgate-disk: failed-units none',
    'bootgate-disk: disk-driver ata_piix model QEMU_HARDDISK',
    'bootgate-disk: ata-mode XFER_UDMA_5',
    'bootgate-disk: kernel-log-lines 700',
    'bootgate-disk: irq14-start-begin',
    'bootgate-disk: irq14-start 1029 0',
    '',
    'Debian GNU/Linux 12 bootgate-disk ttyS0',
    '',
    ...reads,
    ...(o.timerRead === null ? [] : [`bootgate-disk: read-timer ${o.timerRead ?? TIMER_READ}`]),
    ...(o.extra ?? []).map((x) => `bootgate-disk: ${x}`),
    'bootgate-disk: irq14-final-begin',
    `bootgate-disk: irq14-final ${o.final ?? '1124 29'}`,
    ...(o.done === false ? [] : ['bootgate-disk: done']),
  ].join('\r\n');
}

const good = () => ({ report: parseDiskProbe(consoleOf()), smp: 2, loginSeen: true, expectedSha256, raisedInWindow: { certain: 124, ambiguous: 0 } });
const assertions = (f: ReturnType<typeof checkDiskBoot>) => f.map((x) => x.assertion);

describe('parseDiskProbe', () => {
  it('reads every line, including one glued to the login prompt', () => {
    const r = parseDiskProbe(consoleOf());
    expect(r).toMatchObject({ getty: 'at-prompt after-polls 3 wchan do_select', systemState: 'running', cpus: 2, online: '0-1', failedUnits: [], driver: 'ata_piix', ataMode: 'XFER_UDMA_5', irq14Start: [1029, 0], irq14Final: [1124, 29], done: true, problems: [], trouble: [] });
    expect(r.reads).toEqual([
      { cpu: 0, offsetMib: 0, mib: 8, sha256: SHA(1), before: [1031, 0], after: [1054, 0] },
      { cpu: 1, offsetMib: 8, mib: 8, sha256: SHA(9), before: [1054, 0], after: [1055, 28] },
    ]);
    expect(r.timerRead).toEqual({ hz: 2000, ticks: 3000, seconds: 1.52, cpu: 0, offsetMib: 0, mib: 8, sha256: SHA(1), before: [1055, 28], after: [1078, 28] });
  });
});

describe('checkDiskBoot', () => {
  it('passes the good run', () => {
    expect(checkDiskBoot(good())).toEqual([]);
  });

  it('fails without the login prompt, the done line or with a degraded system', () => {
    expect(assertions(checkDiskBoot({ ...good(), loginSeen: false }))).toEqual([DISK.login]);
    const lateGetty = parseDiskProbe(consoleOf().replace('at-prompt after-polls 3 wchan do_select', 'not-at-prompt after-polls 600 wchan tty_wait_until_sent'));
    expect(checkDiskBoot({ ...good(), report: lateGetty, loginSeen: false })).toEqual([
      { assertion: DISK.login, message: 'no login prompt on the console (the probe found agetty not-at-prompt after-polls 600 wchan tty_wait_until_sent)' },
    ]);
    const noDone = checkDiskBoot({ ...good(), report: parseDiskProbe(consoleOf({ done: false })) });
    expect(assertions(noDone)).toContain(DISK.done);
    const degraded = parseDiskProbe(consoleOf().replace('system-state running', 'system-state degraded').replace('failed-units none', 'failed-units systemd-fsck-root.service'));
    const f = checkDiskBoot({ ...good(), report: degraded });
    expect(f).toContainEqual({ assertion: DISK.system, message: 'systemd is "degraded"' });
    expect(f).toContainEqual({ assertion: DISK.system, message: 'failed units: systemd-fsck-root.service' });
  });

  it('fails a boot cut short by an interrupt sent to a CPU without its vector: the kernel line on the console (irq-to-bsp-only)', () => {
    const cut = consoleOf({ done: false }).split('bootgate-disk: read cpu 1')[0] + '[   47.323815] __common_interrupt: 0.37 No irq handler for vector\r\n';
    const f = checkDiskBoot({ ...good(), report: parseDiskProbe(cut) });
    expect(f).toContainEqual({ assertion: DISK.trouble, message: '[   47.323815] __common_interrupt: 0.37 No irq handler for vector' });
  });

  it("keeps the image probe's dmesg pattern equal to the checker's list", () => {
    const script = readFileSync(fileURLToPath(new URL('../../guests/debian-disk/disk-probe.sh', import.meta.url)), 'utf8');
    const grep = /dmesg \| grep -iE '([^']+)'/.exec(script)?.[1];
    expect(grep?.split('|')).toEqual([...TROUBLE_PATTERNS]);
  });

  it('fails a PIO-only disk and the seed\'s trouble lines', () => {
    const pio = parseDiskProbe(consoleOf({ extra: ['trouble [   42.1] ata1: lost interrupt (Status 0x58)', 'trouble [   72.3] ata1.00: limiting speed to PIO4'] }).replace('XFER_UDMA_5', 'XFER_PIO_4'));
    const f = checkDiskBoot({ ...good(), report: pio });
    expect(f).toContainEqual({ assertion: DISK.dma, message: 'libata configured the disk for "XFER_PIO_4", not a DMA mode' });
    expect(f.filter((x) => x.assertion === DISK.trouble).map((x) => x.message)).toEqual(['[   42.1] ata1: lost interrupt (Status 0x58)', '[   72.3] ata1.00: limiting speed to PIO4']);
  });

  it('takes the console\'s kernel trouble lines as evidence when the probe never finished (a boot stuck on lost interrupts)', () => {
    const stuck = ['bootgate: GRUB loading Linux', '[   41.730112] ata1: lost interrupt (Status 0x58)', '[  OK  ] Started serial-getty (timeout none)', 'bootgate-disk: system-state running'].join('\r\n');
    const f = checkDiskBoot({ ...good(), report: parseDiskProbe(stuck) });
    expect(f.filter((x) => x.assertion === DISK.trouble).map((x) => x.message)).toEqual(['[   41.730112] ata1: lost interrupt (Status 0x58)']);
    // With the probe's own list (the whole kernel log), the console's copies are not counted twice.
    const done = parseDiskProbe(`${consoleOf({ extra: ['trouble [   41.730112] ata1: lost interrupt (Status 0x58)'] })}\r\n[   41.730112] ata1: lost interrupt (Status 0x58)`);
    expect(checkDiskBoot({ ...good(), report: done }).filter((x) => x.assertion === DISK.trouble)).toHaveLength(1);
  });

  it('fails a read phase the probe had to cut off', () => {
    const cut = consoleOf({ reads: [READS[0]!, `cpu 1 offset-mib 8 mib 8 sha256 failed-124 before 1054 0 after 1056 0`] });
    const f = checkDiskBoot({ ...good(), raisedInWindow: undefined, report: parseDiskProbe(cut) });
    expect(f.map((x) => x.assertion)).toEqual([DISK.data, DISK.destination]);
    expect(f[0]!.message).toMatch(/read back sha256 failed-124/);
  });

  it('fails a block that differs from the image', () => {
    const bad = consoleOf({ reads: [`cpu 0 offset-mib 0 mib 8 sha256 ${SHA(1)} before 1031 0 after 1054 0`, `cpu 1 offset-mib 8 mib 8 sha256 ${SHA(77)} before 1054 0 after 1055 28`] });
    const f = checkDiskBoot({ ...good(), report: parseDiskProbe(bad) });
    expect(assertions(f)).toEqual([DISK.data]);
    expect(f[0]!.message).toMatch(/^CPU 1: 8 MiB at 8 MiB read back sha256/);
  });

  it('fails IRQ 14 arriving on CPU 0 while routed to CPU 1 (irq-to-bsp-only), allowing one stray at the move', () => {
    const bsp = consoleOf({ reads: [`cpu 0 offset-mib 0 mib 8 sha256 ${SHA(1)} before 1031 0 after 1054 0`, `cpu 1 offset-mib 8 mib 8 sha256 ${SHA(9)} before 1054 0 after 1083 0`] });
    const f = checkDiskBoot({ ...good(), raisedInWindow: undefined, report: parseDiskProbe(bsp) });
    expect(f).toEqual([{ assertion: DISK.destination, message: 'IRQ 14 routed to CPU 1: 0 of 29 arrived there (per CPU 29 0)' }]);
    const twoStrays = consoleOf({ reads: [`cpu 0 offset-mib 0 mib 8 sha256 ${SHA(1)} before 1031 0 after 1054 0`, `cpu 1 offset-mib 8 mib 8 sha256 ${SHA(9)} before 1054 0 after 1056 27`] });
    expect(assertions(checkDiskBoot({ ...good(), raisedInWindow: undefined, report: parseDiskProbe(twoStrays) }))).toEqual([DISK.destination]);
  });

  it("fails when the guest counted fewer interrupts than the controller raised, and when the count is missing", () => {
    expect(checkDiskBoot({ ...good(), raisedInWindow: { certain: 136, ambiguous: 0 } })).toEqual([
      { assertion: DISK.count, message: 'the guest counted 124 IRQ 14 interrupts over the probe (per CPU from 1029 0 to 1124 29); the controller raised 136' },
    ]);
    // Edges between a begin line and its count line may or may not be in the guest's counts; no more than those.
    expect(checkDiskBoot({ ...good(), raisedInWindow: { certain: 123, ambiguous: 1 } })).toEqual([]);
    expect(checkDiskBoot({ ...good(), raisedInWindow: { certain: 124, ambiguous: 2 } })).toEqual([]);
    expect(checkDiskBoot({ ...good(), raisedInWindow: { certain: 125, ambiguous: 3 } })).toEqual([
      {
        assertion: DISK.count,
        message: 'the guest counted 124 IRQ 14 interrupts over the probe (per CPU from 1029 0 to 1124 29); the controller raised 125, and 3 more around the two reads that either count may hold',
      },
    ]);
    expect(assertions(checkDiskBoot({ ...good(), raisedInWindow: { certain: 121, ambiguous: 2 } }))).toEqual([DISK.count]); // the guest counted more than was raised
    const noFinal = parseDiskProbe(consoleOf().replace(/bootgate-disk: irq14-final \d.*\r\n/, ''));
    expect(assertions(checkDiskBoot({ ...good(), report: noFinal }))).toEqual([DISK.count]);
  });

  it('fails the read under the timer: missing, a timer that never ticked, bad blocks, IRQ 14 astray', () => {
    const check = (timerRead: string | null) => checkDiskBoot({ ...good(), raisedInWindow: undefined, report: parseDiskProbe(consoleOf({ timerRead })) });
    expect(check(null)).toEqual([{ assertion: DISK.data, message: 'no read phase under the timer' }]);
    expect(check(TIMER_READ.replace('ticks 3000', 'ticks 0'))).toEqual([{ assertion: DISK.done, message: 'probe: the PIT raised no IRQ 0 at 2000 Hz during the read under the timer (1.52 s)' }]);
    expect(check(TIMER_READ.replace(`sha256 ${SHA(1)}`, 'sha256 failed-124')).map((f) => f.message)).toEqual([
      'CPU 0 under the 2000 Hz timer: 8 MiB at 0 MiB read back sha256 failed-124…, the image has 0000000000000000…',
    ]);
    expect(check(TIMER_READ.replace('after 1078 28', 'after 1055 51'))).toEqual([
      { assertion: DISK.destination, message: 'IRQ 14 routed to CPU 0 under the 2000 Hz timer: 0 of 23 arrived there (per CPU 0 23)' },
    ]);
    expect(parseDiskProbe(consoleOf({ timerRead: 'hz 2000 garbled' })).problems).toEqual(['read-timer hz 2000 garbled']);
  });

  it('fails a missing read phase and a CPU that is not online', () => {
    const one = parseDiskProbe(consoleOf({ reads: [`cpu 0 offset-mib 0 mib 8 sha256 ${SHA(1)} before 1031 0 after 1054 0`] }));
    expect(assertions(checkDiskBoot({ ...good(), report: one, raisedInWindow: undefined }))).toEqual([DISK.data]);
    expect(assertions(checkDiskBoot({ ...good(), smp: 8, raisedInWindow: undefined }))).toEqual([DISK.cpus, DISK.data]);
  });
});
