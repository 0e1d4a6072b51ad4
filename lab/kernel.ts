// The lab's kernel and modules, out of the fixture cache: the Debian generic-flavour kernel
// (fixture `linux-generic-kernel`) and one fixture per module (`linux-generic-mod-<name>`, all
// from the same unpacked package, each checked against fixtures/lock.json). The load order is
// computed from the modules' own `depends=` strings (lab/modinfo.ts) starting at LAB_IO_MODULES,
// then LAB_KVM_MODULES (loaded in the background while the shares are mounted);
// a dependency without a manifest entry is an error that names the entry to add.
// Left out: modules.dep/depmod (the package has none), softdeps, firmware files.

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ensureFixtures, listFixtures } from '../fixtures/fixtures.js';
import { BootgateError } from '../vmm/errors.js';
import { dependsOf, loadOrder, moduleKey, readModinfo } from './modinfo.js';

export const LAB_KERNEL_FIXTURE = 'linux-generic-kernel';
export const LAB_MODULE_FIXTURE_PREFIX = 'linux-generic-mod-';
export const BUSYBOX_FIXTURE = 'busybox-static';

/** What the lab needs before it can mount anything: PCI virtio, the 9p shares, the output ports. */
export const LAB_IO_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'virtio_console'] as const;
/** /dev/kvm on AMD SVM (what TCG's -cpu max emulates); loaded while the shares are mounted. */
export const LAB_KVM_MODULES = ['kvm_amd'] as const;

export interface LabModule {
  /** The kernel's name for it (`kvm_amd`). */
  name: string;
  /** The file name in the package (`kvm-amd.ko`). */
  file: string;
  path: string;
  sha256: string;
  /** io: loaded first, in order; kvm: loaded in order too, but alongside the mounts. */
  group: 'io' | 'kvm';
}

export interface LabKernel {
  vmlinuz: string;
  vmlinuzSha256: string;
  /** `6.1.0-50-amd64`, from the bzImage's file name. */
  release: string;
  /** In load order: the io group, then the kvm group (the modules the io group did not load). */
  modules: LabModule[];
  busybox: { path: string; sha256: string };
}

/** The lab fixture names in the manifest: kernel, busybox, every module entry. */
export function labFixtureNames(): string[] {
  const modules = listFixtures()
    .map((f) => f.name)
    .filter((n) => n.startsWith(LAB_MODULE_FIXTURE_PREFIX));
  return [LAB_KERNEL_FIXTURE, BUSYBOX_FIXTURE, ...modules];
}

/** Fetches what is missing (one package download the first time), verifies the rest. */
export async function labKernel(log?: (line: string) => void): Promise<LabKernel> {
  const fixtures = await ensureFixtures(labFixtureNames(), { log });
  const byName = new Map(fixtures.map((f) => [f.name, f]));
  const kernel = byName.get(LAB_KERNEL_FIXTURE)!;
  const busybox = byName.get(BUSYBOX_FIXTURE)!;
  const release = /vmlinuz-(.+)$/.exec(basename(kernel.path))?.[1];
  if (!release) {
    throw new BootgateError('E_FIXTURE', `fixture ${LAB_KERNEL_FIXTURE} is ${kernel.path}, not a boot/vmlinuz-<release> file`, {
      hint: 'point it at the bzImage in fixtures/manifest.json',
    });
  }

  const available = new Map<string, LabModule>();
  for (const f of fixtures) {
    if (!f.name.startsWith(LAB_MODULE_FIXTURE_PREFIX)) continue;
    const file = basename(f.path);
    if (!file.endsWith('.ko')) {
      throw new BootgateError('E_FIXTURE', `fixture ${f.name} is ${file}, not an uncompressed .ko module`, { hint: 'fix its path in fixtures/manifest.json' });
    }
    const name = moduleKey(file.slice(0, -'.ko'.length));
    available.set(name, { name, file, path: f.path, sha256: f.sha256, group: 'io' });
  }

  const deps = new Map<string, string[]>();
  for (const m of available.values()) deps.set(m.name, dependsOf(readModinfo(await readFile(m.path), m.path)));
  const depends = (name: string) => {
    const d = deps.get(name);
    if (d === undefined) throw missingModule(name, release, deps);
    return d;
  };
  const io = loadOrder(LAB_IO_MODULES, depends);
  const kvm = loadOrder(LAB_KVM_MODULES, depends).filter((n) => !io.includes(n));
  const modules = [...io.map((n) => available.get(n)!), ...kvm.map((n) => ({ ...available.get(n)!, group: 'kvm' as const }))];
  return { vmlinuz: kernel.path, vmlinuzSha256: kernel.sha256, release, modules, busybox };
}

function missingModule(name: string, release: string, deps: Map<string, string[]>): BootgateError {
  const neededBy = [...deps].filter(([, d]) => d.map(moduleKey).includes(name)).map(([n]) => n);
  const why = neededBy.length > 0 ? `needed by ${neededBy.join(', ')}` : 'a lab root module';
  return new BootgateError('E_FIXTURE', `the lab needs kernel module ${name} (${why}) and fixtures/manifest.json has no entry for it`, {
    hint: `add "${LAB_MODULE_FIXTURE_PREFIX}${name}" with path lib/modules/${release}/kernel/.../${name}.ko (find it with dpkg-deb -c), then npm run fixtures -- ${LAB_MODULE_FIXTURE_PREFIX}${name}`,
  });
}
