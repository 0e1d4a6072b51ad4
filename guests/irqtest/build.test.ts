// buildIrqTestModule: builds bootgate_irqtest.ko for real against the cached Debian headers and
// checks it is loadable by the probe kernel: same vermagic as the kernel package's own modules,
// the PCI alias of the irq-test device. Missing header fixtures fail (never skip) with the fetch
// command in the message, so a fresh checkout learns what to run.

import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_CACHE_ENV, listFixtures, resolveFixture } from '../../fixtures/fixtures.js';
import { IRQ_TEST_DEVICE_ID, IRQ_TEST_VENDOR_ID } from '../../vmm/devices/pci/irq-test-device.js';
import { buildIrqTestModule, IRQTEST_FIXTURES } from './build.js';
import { parseModinfo, readModinfo, vermagicOf } from './modinfo.js';

const KERNEL_FIXTURE = 'linux-cloud-kernel';
const scratch: string[] = [];

afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** The vermagic of a module shipped in the probe kernel's own package (linux-image-*-cloud-amd64). */
async function kernelVermagic(): Promise<string> {
  const image = await resolveFixture(KERNEL_FIXTURE).catch((e: Error) => {
    throw new Error(`${e.message}; fetch it with \`npm run fixtures -- ${KERNEL_FIXTURE}\``, { cause: e });
  });
  const spec = listFixtures().find((f) => f.name === KERNEL_FIXTURE)!;
  const pkgRoot = image.slice(0, image.length - spec.path.length - 1);
  const modules = join(pkgRoot, 'lib', 'modules');
  const found = (await readdir(modules, { recursive: true })).filter((f) => f.endsWith('.ko')).sort();
  expect(found.length).toBeGreaterThan(0);
  const vermagic = vermagicOf(await readModinfo(join(modules, found[0]!)));
  expect(vermagic).toBeDefined();
  return vermagic!;
}

describe('buildIrqTestModule', () => {
  it('builds a module the probe kernel accepts: its vermagic and the irq-test device alias', async () => {
    const outRoot = await mkdtemp(join(tmpdir(), 'bootgate-irqtest-'));
    scratch.push(outRoot);
    const started = performance.now();
    const ko = await buildIrqTestModule({ outRoot });
    const buildMs = performance.now() - started;
    expect(ko.startsWith(join(outRoot, 'irqtest-'))).toBe(true);
    const info = await readModinfo(ko);
    expect(vermagicOf(info)).toBe(await kernelVermagic());
    expect(vermagicOf(info)).toMatch(/^6\.1\.0-50-cloud-amd64 SMP preempt mod_unload modversions$/);
    const hex = (v: number) => v.toString(16).toUpperCase().padStart(8, '0');
    // bootgate's irq-test device, and QEMU's edu for the reference runs on qemu:* targets.
    expect([...(info.alias ?? [])].sort()).toEqual(['pci:v00001234d000011E8sv*sd*bc*sc*i*', `pci:v${hex(IRQ_TEST_VENDOR_ID)}d${hex(IRQ_TEST_DEVICE_ID)}sv*sd*bc*sc*i*`]);
    expect(info.name).toEqual(['bootgate_irqtest']);
    expect(info.license).toEqual(['GPL']);
    expect(info.depends).toEqual(['']);
    expect(info.parmtype).toEqual(expect.arrayContaining(['mode:charp', 'stall_ms:uint', 'max_lost:uint']));

    // Same sources and fixtures: the cached module comes back without a rebuild.
    const before = (await stat(ko)).mtimeMs;
    const again = performance.now();
    expect(await buildIrqTestModule({ outRoot })).toBe(ko);
    expect((await stat(ko)).mtimeMs).toBe(before);
    expect(performance.now() - again).toBeLessThan(buildMs);
  }, 180_000);

  it('fails with the fetch command when the header fixtures are not cached', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'bootgate-nofixtures-'));
    scratch.push(empty);
    const saved = process.env[FIXTURE_CACHE_ENV];
    process.env[FIXTURE_CACHE_ENV] = empty;
    try {
      await expect(buildIrqTestModule({ outRoot: empty })).rejects.toThrow(`npm run fixtures -- ${IRQTEST_FIXTURES.join(' ')}`);
    } finally {
      if (saved === undefined) delete process.env[FIXTURE_CACHE_ENV];
      else process.env[FIXTURE_CACHE_ENV] = saved;
    }
  });
});

describe('parseModinfo', () => {
  it('rejects a file that is not an ELF module', () => {
    expect(() => parseModinfo(Buffer.alloc(128), 'x.ko')).toThrow(/x\.ko is not a usable kernel module: no ELF header/);
  });
});
