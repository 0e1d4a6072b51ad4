// What bootgate adds to the debootstrapped root before it becomes a file system: the files below
// and a few symlinks (a unit enabled, units masked), as plain file operations on the folder, so
// nothing runs inside it but the initramfs and GRUB image tools (build.ts).
// Choices, and why:
//   - fstab mounts the root by UUID with fsck pass 1: systemd-fsck-root checks it at every boot,
//     as on an installed system (the "fsck'd root" of seed 002's boot);
//   - journald keeps its journal in memory: the disk sees only what the probe and the boot read,
//     and the final interrupt count is not raced by journal writes;
//   - timers that would wake up to do disk work during a measured boot are masked (apt's daily
//     jobs, e2scrub, fstrim);
//   - root has no password, so a login at the console works for someone debugging the image;
//   - GRUB talks on the serial port, waits for nothing, and prints one line before loading Linux.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HOSTNAME, IMAGE_CMDLINE, IMAGE_KERNEL_RELEASE, INITRAMFS_MODULES, ROOT_FS_UUID } from './spec.js';

const PROBE_SCRIPT = fileURLToPath(new URL('./disk-probe.sh', import.meta.url)).replace('/dist/guests/', '/guests/');
export const PROBE_UNIT = 'bootgate-disk-probe.service';
export const PROBE_PATH = '/usr/local/sbin/bootgate-disk-probe';
/** What GRUB prints right before it loads the kernel (a boot milestone). */
export const GRUB_LOADING_LINE = 'bootgate: GRUB loading Linux';
/** Extra kernel command-line words for the probe: MiB read per CPU from the pattern partition. */
export const probeCmdline = (blockMib: number) => `bootgate.disk=${blockMib}`;

export interface RootFile {
  path: string;
  content: string | Uint8Array;
  mode?: number;
}

export interface RootSymlink {
  path: string;
  target: string;
}

const MASKED_UNITS = ['apt-daily.timer', 'apt-daily-upgrade.timer', 'e2scrub_all.timer', 'fstrim.timer'] as const;

export function grubConfig(): string {
  return [
    'serial --unit=0 --speed=115200',
    'terminal_input serial',
    'terminal_output serial',
    'set timeout=0',
    'set default=0',
    "menuentry 'Debian GNU/Linux 12 (bootgate debian-disk)' {",
    `  echo '${GRUB_LOADING_LINE}'`,
    `  linux /boot/vmlinuz-${IMAGE_KERNEL_RELEASE} ${IMAGE_CMDLINE}`,
    `  initrd /boot/initrd.img-${IMAGE_KERNEL_RELEASE}`,
    '}',
    '',
  ].join('\n');
}

export function probeUnit(): string {
  return [
    '[Unit]',
    'Description=bootgate disk probe (reports to ttyS0, then powers off)',
    'After=serial-getty@ttyS0.service',
    '',
    '[Service]',
    // Type=exec: the unit counts as started at once, so `systemctl is-system-running --wait` in the
    // script does not wait for the script itself.
    'Type=exec',
    `ExecStart=${PROBE_PATH}`,
    'StandardOutput=journal+console',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function rootFiles(): { files: RootFile[]; symlinks: RootSymlink[] } {
  const files: RootFile[] = [
    { path: '/etc/hostname', content: `${HOSTNAME}\n` },
    { path: '/etc/hosts', content: `127.0.0.1\tlocalhost\n127.0.1.1\t${HOSTNAME}\n` },
    { path: '/etc/fstab', content: `UUID=${ROOT_FS_UUID}\t/\text4\terrors=remount-ro\t0\t1\n` },
    { path: '/etc/systemd/journald.conf.d/bootgate.conf', content: '[Journal]\nStorage=volatile\n' },
    { path: '/etc/initramfs-tools/conf.d/bootgate', content: 'MODULES=list\n' },
    { path: '/etc/initramfs-tools/modules', content: `${INITRAMFS_MODULES.join('\n')}\n` },
    { path: '/boot/grub/grub.cfg', content: grubConfig() },
    { path: `/etc/systemd/system/${PROBE_UNIT}`, content: probeUnit() },
    { path: PROBE_PATH, content: readFileSync(PROBE_SCRIPT), mode: 0o755 },
  ];
  const symlinks: RootSymlink[] = [
    { path: `/etc/systemd/system/multi-user.target.wants/${PROBE_UNIT}`, target: `/etc/systemd/system/${PROBE_UNIT}` },
    ...MASKED_UNITS.map((u) => ({ path: `/etc/systemd/system/${u}`, target: '/dev/null' })),
  ];
  return { files, symlinks };
}

/** /etc/shadow with root's password emptied (a console login needs none). */
export function shadowWithoutRootPassword(shadow: string): string {
  return shadow.replace(/^root:[^:]*:/m, 'root::');
}
