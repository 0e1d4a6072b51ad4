// irqtest.sh against a fake /sys and /proc (plain files, so counts never move): the steps it takes
// (affinity, warm-up, clear, fire, PIT on and off) and that every line it prints is valid JSON.
// Runs under /bin/sh, and under the probe initramfs's busybox too when that fixture is cached.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { listFixtures } from '../../fixtures/fixtures.js';

const run = promisify(execFile);
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'irqtest.sh');
const BDF = '0000:00:1f.0';
const STATS = '{"mode":"msi","irq":24,"handled":8,"lost":0,"spurious":0,"cancelled":0,"lastFireUs":900,"device":{"raised":17,"acked":17,"pending":0,"status":0},"counts":[8,0]}';
const INTERRUPTS = `           CPU0       CPU1
  0:         40          0   IO-APIC   2-edge      timer
 24:          5          3   PCI-MSI 1015808-edge      bootgate_irqtest
CAL:         12         30   Function call interrupts
`;
const scratch: string[] = [];

afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

async function fakeTree() {
  const root = await mkdtemp(join(tmpdir(), 'bootgate-irqtest-sh-'));
  scratch.push(root);
  const dev = join(root, 'sys', 'bus', 'pci', 'drivers', 'bootgate_irqtest', BDF);
  const irq = join(root, 'proc', 'irq', '24');
  await mkdir(dev, { recursive: true });
  await mkdir(irq, { recursive: true });
  await mkdir(join(root, 'sys', 'devices', 'system', 'cpu'), { recursive: true });
  const files: Record<string, string> = {
    [join(dev, 'fire')]: '',
    [join(dev, 'clear')]: '',
    [join(dev, 'timer_hz')]: '0\n',
    [join(dev, 'mode')]: 'msi\n',
    [join(dev, 'ipi')]: '0 0\n',
    [join(dev, 'stats')]: `${STATS}\n`,
    [join(irq, 'smp_affinity_list')]: '0-1\n',
    [join(irq, 'effective_affinity_list')]: '1\n',
    [join(root, 'proc', 'interrupts')]: INTERRUPTS,
    [join(root, 'proc', 'uptime')]: '12.50 20.00\n',
    [join(root, 'sys', 'devices', 'system', 'cpu', 'online')]: '0-1\n',
  };
  for (const [path, text] of Object.entries(files)) await writeFile(path, text);
  return { root, dev, irq };
}

/** Applets the script uses; the busybox run finds only these, as in the initramfs. */
const APPLETS = ['sh', 'awk', 'sed', 'tr', 'cat', 'cut', 'sleep', 'true', 'taskset', 'tail'];

/** PATH for a run: the host's for /bin/sh; for busybox a directory of applet links and nothing else. */
async function pathFor(shell: string): Promise<string> {
  if (shell === '/bin/sh') return process.env.PATH ?? '/usr/bin:/bin';
  const bin = await mkdtemp(join(tmpdir(), 'bootgate-busybox-'));
  scratch.push(bin);
  for (const applet of APPLETS) await symlink(shell, join(bin, applet));
  return bin;
}

/** The shells to run under: /bin/sh, plus busybox ash (with busybox applets only) when the busybox-static fixture is cached. */
function shells(): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [['/bin/sh', []]];
  const busybox = listFixtures().find((f) => f.name === 'busybox-static');
  if (busybox && existsSync(busybox.cachedPath)) out.push([busybox.cachedPath, ['sh']]);
  return out;
}

describe('irqtest.sh', () => {
  it.each(shells())('routes, fires and reports every online CPU, then a timer round (%s)', async (shell, pre) => {
    const { root, dev, irq } = await fakeTree();
    const env = { PATH: await pathFor(shell), IRQTEST_SYS: join(root, 'sys'), IRQTEST_PROC: join(root, 'proc'), IRQTEST_INSMOD: 'true', IRQTEST_TIMER_SETTLE_S: '0' };
    const { stdout } = await run(shell, [...pre, SCRIPT, 'msi', '8', '4000'], { env });
    const lines = stdout.split('\n').filter((l) => l.startsWith('@@bootgate '));
    const events = lines.map((l) => JSON.parse(l.slice('@@bootgate '.length)) as Record<string, unknown>);
    expect(events.map((e) => e.event)).toEqual(['irqtest-load', 'irqtest-round', 'irqtest-round', 'irqtest-round', 'irqtest-done']);
    expect(events[0]).toEqual({ event: 'irqtest-load', mode: 'msi', irq: 24, bdf: BDF });
    expect(events.slice(1, 4).map((e) => [e.cpu, e.timerHz])).toEqual([[0, 0], [1, 0], [0, 4000]]);
    expect(events[3]).toMatchObject({ window: [12.5, 12.5], timer: [0, 0], pit: { window: [12.5, 12.5], ticks: [0, 0] } });
    expect(events[2]).toMatchObject({ pit: null, fired: 8, ok: true, effective: '1', raisedBefore: 17, window: [12.5, 12.5], proc: [0, 0], timer: [0, 0], stats: JSON.parse(STATS) });
    expect(events[4]).toEqual({ event: 'irqtest-done', rounds: 3 });
    expect(await readFile(join(dev, 'fire'), 'utf8')).toBe('8\n');
    expect(await readFile(join(dev, 'timer_hz'), 'utf8')).toBe('0\n');
    expect(await readFile(join(irq, 'smp_affinity_list'), 'utf8')).toBe('0\n');
  });

  it.each(shells())('with IPI=1 sends IPIs from CPU 0 and from the last CPU, pinned there (%s)', async (shell, pre) => {
    const { root, dev } = await fakeTree();
    const env = { PATH: await pathFor(shell), IRQTEST_SYS: join(root, 'sys'), IRQTEST_PROC: join(root, 'proc'), IRQTEST_INSMOD: 'true' };
    const { stdout } = await run(shell, [...pre, SCRIPT, 'msi', '8', '0', '1'], { env });
    const events = stdout
      .split('\n')
      .filter((l) => l.startsWith('@@bootgate '))
      .map((l) => JSON.parse(l.slice('@@bootgate '.length)) as Record<string, unknown>);
    expect(events.filter((e) => e.event === 'irqtest-ipi')).toEqual([
      { event: 'irqtest-ipi', from: 0, sent: 8, handled: [], cal: [0, 0] },
      { event: 'irqtest-ipi', from: 1, sent: 8, handled: [0], cal: [0, 0] },
    ]);
    expect(await readFile(join(dev, 'ipi'), 'utf8')).toBe('8\n');
  });

  it('stops with an irqtest-error line when no device is bound', async () => {
    const { root, dev } = await fakeTree();
    await rm(dev, { recursive: true });
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', IRQTEST_SYS: join(root, 'sys'), IRQTEST_PROC: join(root, 'proc'), IRQTEST_INSMOD: 'true' };
    const failed = await run('/bin/sh', [SCRIPT, 'intx', '4'], { env }).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toContain('@@bootgate {"event":"irqtest-error","what":"no PCI device bound to bootgate_irqtest');
  });
});
