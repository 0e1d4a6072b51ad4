// The recipe of the lab's patched QEMU (the "uefi lab"): what it is built from, with what, and
// the key its cached binary is stored under. build.ts carries it out.
//
// Why a build at all (docs/uefi.md): the lab's QEMU 10.0.2 TCG aborts (`tcg_handle_interrupt:
// assertion failed: (bql_locked())`) when a nested guest writes CR8 while its L1 KVM has a
// virtual interrupt pending, which OVMF's interrupt return path does on every interrupt when the
// inner VMM keeps its LAPIC in the kernel. tcg-svm-cr8-bql.patch takes the lock around that one
// call. Three more patches fix the emulated SVM's faults the lab showed under nested SMP 8 guests
// (PATCHES below, docs/lab-fault-rate.md). Everything else is the same upstream release the
// lab-qemu fixture ships.
//
// Pins: Debian's source tarball of that release and meson from bookworm-backports. Both come from
// a rotating suite (bookworm-backports keeps only its newest upload), like the lab-qemu fixture
// itself: the QEMU source is that fixture's own source package, and bookworm's meson (1.0.1) is
// older than QEMU 10 accepts (>= 1.5). When they vanish, `npm run fixtures -- --check-upstream`
// fails for lab-qemu first; bump the three together.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bump when the recipe changes in a way the pins, patches and arguments below do not show. */
export const RECIPE_VERSION = 1;

export interface PinnedFile {
  /** Path below the Debian mirror's root. */
  path: string;
  sha256: string;
  size: number;
}

/** Upstream QEMU 10.0.2 as Debian repacks it (+ds: prebuilt firmware blobs removed). */
export const QEMU_SOURCE: PinnedFile & { version: string; topDir: string } = {
  version: '1:10.0.2+ds-2+deb13u1~bpo12+1',
  path: 'pool/main/q/qemu/qemu_10.0.2+ds.orig.tar.xz',
  sha256: '0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1',
  size: 39_449_628,
  topDir: 'qemu-10.0.2',
};

/** meson >= 1.5, pure Python, used from its unpacked .deb (PYTHONPATH); never installed. */
export const MESON_DEB: PinnedFile & { version: string } = {
  version: '1.7.0-1~bpo12+1',
  path: 'pool/main/m/meson/meson_1.7.0-1~bpo12+1_all.deb',
  sha256: '4b86d2f2cb4431d03826fa4b2c3a89508edeb8140509e7e4b285285ec3175bbe',
  size: 639044,
};

const SOURCE_DIR = dirname(fileURLToPath(import.meta.url)).replace('/dist/lab/', '/lab/');
/**
 * Patches applied with `patch -p1` in this order (docs/lab-fault-rate.md says what each fixed):
 * - tcg-svm-cr8-bql.patch: the BQL around the CR8 write's cpu_interrupt() (an abort under OVMF);
 * - tcg-ignne-first-cpu-race.patch: every vCPU thread's FPU-state restore wrote the first vCPU's
 *   hflags2 unlocked, resurrecting its nested-paging flag after a #VMEXIT (the lab's faults);
 * - tcg-svm-vmrun-inject-once.patch: an interrupt VMRUN injected stayed in exception_index and
 *   could be delivered to the guest a second time;
 * - tcg-svm-vmrun-virq-bql.patch: VMRUN set CPU_INTERRUPT_VIRQ without the BQL, racing the
 *   threads that post interrupts.
 */
export const PATCHES = ['tcg-svm-cr8-bql.patch', 'tcg-ignne-first-cpu-race.patch', 'tcg-svm-vmrun-inject-once.patch', 'tcg-svm-vmrun-virq-bql.patch'] as const;

export function patchPath(name: string): string {
  return join(SOURCE_DIR, name);
}

/**
 * Edits to the build files (not to QEMU's code) that let the +ds tarball configure offline with
 * Debian 12's tools: each is [file, exact text, replacement]; a text that is not found stops the
 * build, so a new release cannot slip through half-edited.
 */
export const BUILD_FILE_EDITS: ReadonlyArray<readonly [string, string, string]> = [
  // pycotap is only for `meson test` TAP output, and Debian 12 has no package of it.
  ['pythondeps.toml', 'pycotap = { accepted = ">=1.1.0", installed = "1.3.1" }\n', ''],
  // The +ds tarball has no edk2 blobs; do not try to unpack them when nothing is installed.
  ['meson.build', '    unpack_edk2_blobs = bzip2.found()\n', "    unpack_edk2_blobs = bzip2.found() and get_option('install_blobs')\n"],
];

/**
 * Files the build adds to the source tree, [file, text]. The devices file names what the lab's
 * command line uses (lab/qemu-args.ts: the pc machine, virtio-serial, 9p shares) and the HPET,
 * which the lab kernel keeps time with (docs/host-and-lab.md); the machine selects its own
 * chipset devices. Everything else stays out of the build (--without-default-devices), which only
 * costs compile time: the lab never creates those devices.
 */
export const BUILD_FILES_ADDED: ReadonlyArray<readonly [string, string]> = [
  ['configs/devices/x86_64-softmmu/bootgate-lab.mak', ['CONFIG_I440FX=y', 'CONFIG_HPET=y', 'CONFIG_VIRTIO_PCI=y', 'CONFIG_VIRTIO_SERIAL=y', 'CONFIG_VIRTIO_9P=y', ''].join('\n')],
];

/**
 * configure's arguments: one target, TCG and the devices of BUILD_FILES_ADDED; no debug info (the
 * binary is run, not debugged; a backtrace still names functions); data files from the installed
 * qemu-system-x86 7.2 package, the way Debian's build looks for them (bios-256k.bin,
 * linuxboot_dma.bin), so the binary runs uninstalled.
 */
export const CONFIGURE_ARGS = [
  '--prefix=/usr',
  '--firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu',
  // Relocatable (the default) looks for data next to the binary (<cache>/share/qemu): it has none.
  '--disable-relocatable',
  '--target-list=x86_64-softmmu',
  '--without-default-features',
  '--enable-tcg',
  '--enable-virtfs',
  '--enable-attr',
  '--enable-pixman',
  '--disable-kvm',
  '--disable-xen',
  '--disable-docs',
  '--disable-werror',
  '--disable-download',
  '--disable-install-blobs',
  '--disable-debug-info',
  '--without-default-devices',
  '--with-devices-x86_64=bootgate-lab',
] as const;

/** Tools and headers the build needs, with the Debian package of each (build-needs.json, which bootstrap reads too). */
export const BUILD_NEEDS: ReadonlyArray<{ path: string; package: string }> = (
  JSON.parse(readFileSync(join(SOURCE_DIR, 'build-needs.json'), 'utf8')) as { needs: Array<{ path: string; package: string }> }
).needs;

/** The cache key: every input that changes the binary. */
export function recipeKey(readPatch: (name: string) => string | Buffer = (n) => readFileSync(patchPath(n))): string {
  const h = createHash('sha256').update(`recipe ${RECIPE_VERSION}\n`);
  h.update(`source ${QEMU_SOURCE.sha256}\nmeson ${MESON_DEB.sha256}\n`);
  for (const p of PATCHES) h.update(`patch ${p}\n`).update(readPatch(p));
  for (const [file, from, to] of BUILD_FILE_EDITS) h.update(`edit ${file}\n${from}\n${to}\n`);
  for (const [file, text] of BUILD_FILES_ADDED) h.update(`add ${file}\n${text}\n`);
  h.update(`configure ${CONFIGURE_ARGS.join(' ')}\n`);
  return h.digest('hex').slice(0, 16);
}

/** The packages of BUILD_NEEDS whose file is missing (`exists` is injectable for tests). */
export function missingBuildNeeds(exists: (path: string) => boolean): string[] {
  return [...new Set(BUILD_NEEDS.filter((n) => !exists(n.path)).map((n) => n.package))];
}
