// Builds the probe guest's initramfs at test time: busybox-static (from the fixtures) as the only
// binary, the probe /init, the kernel's nvram.ko and efivarfs.ko, nvram-setcks (nvram-setcks.asm: stores a valid
// CMOS checksum where the machine keeps none, as QEMU), and optional extra files (e.g. the
// interrupt-test kernel module).
// Written as newc cpio into guests/build/, named by a hash of every input so an unchanged probe
// reuses the file. The kernel is Debian's cloud kernel from the fixtures (linux-cloud-kernel).

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveFixture } from '../../fixtures/fixtures.js';
import { type CpioEntry, cpioArchive } from '../../lab/cpio.js';
import { assemble, GUEST_BUILD_DIR } from '../nasm.js';
import { probeInitScript } from './init-script.js';

export const PROBE_KERNEL_FIXTURE = 'linux-cloud-kernel';
export const BUSYBOX_FIXTURE = 'busybox-static';
/** /dev/nvram for the boot count in CMOS (the cloud kernel builds it as a module, and has no /dev/port). */
export const NVRAM_MODULE_FIXTURE = 'linux-cloud-mod-nvram';
/** efivarfs for the UEFI variable the probe keeps (bootgate.efivar=, the uefi-boot suite). */
export const EFIVARFS_MODULE_FIXTURE = 'linux-cloud-mod-efivarfs';
/** Kernel command line every probe boot starts from; suites append their actions. */
export const PROBE_BASE_CMDLINE = 'console=ttyS0 quiet loglevel=3';

export interface ProbeGuest {
  kernel: string;
  initrd: string;
}

export async function buildProbeGuest(extraFiles: Array<{ path: string; data: Uint8Array }> = []): Promise<ProbeGuest> {
  const kernel = await resolveFixture(PROBE_KERNEL_FIXTURE);
  const busybox = readFileSync(await resolveFixture(BUSYBOX_FIXTURE));
  const nvram = readFileSync(await resolveFixture(NVRAM_MODULE_FIXTURE));
  const efivarfs = readFileSync(await resolveFixture(EFIVARFS_MODULE_FIXTURE));
  const setcks = readFileSync(await assemble('probe/nvram-setcks.asm'));
  const init = probeInitScript();
  const h = createHash('sha256').update(init).update(busybox).update(nvram).update(efivarfs).update(setcks);
  for (const f of extraFiles) h.update(f.path).update(f.data);
  const out = join(GUEST_BUILD_DIR, `probe-initramfs-${h.digest('hex').slice(0, 16)}.cpio`);
  if (!existsSync(out)) {
    const entries: CpioEntry[] = [
      ...['bin', 'dev', 'proc', 'sys', 'lib', 'lib/modules'].map((path) => ({ type: 'dir' as const, path })),
      { type: 'char', path: 'dev/console', major: 5, minor: 1 },
      { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
      { type: 'symlink', path: 'bin/sh', target: 'busybox' },
      { type: 'file', path: 'bin/nvram-setcks', data: setcks, mode: 0o755 },
      { type: 'file', path: 'init', data: Buffer.from(init, 'utf8'), mode: 0o755 },
      { type: 'file', path: 'lib/modules/nvram.ko', data: nvram },
      { type: 'file', path: 'lib/modules/efivarfs.ko', data: efivarfs },
      ...extraFiles.map((f) => ({ type: 'file' as const, path: f.path, data: f.data })),
    ];
    mkdirSync(GUEST_BUILD_DIR, { recursive: true });
    // A temporary name of this writer's own: two lab VMs (whose processes may have the same pid)
    // or two processes building the same archive must never write into one file.
    const tmp = `${out}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, cpioArchive(entries));
    renameSync(tmp, out);
  }
  return { kernel, initrd: out };
}
