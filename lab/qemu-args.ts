// QEMU's command line for the lab VM (qemu-system-x86_64 10.0, also accepted by 7.2; docs/system/invocation): a pc
// machine under TCG with `-cpu max` (which emulates AMD SVM, so kvm-amd loads inside), the
// Debian kernel and the lab initramfs, the kernel console on COM1 and three virtio-serial ports
// (command stdout, stderr, status), each written to a regular file that the host follows: a
// file never applies back-pressure, so QEMU has written every byte before the guest's write
// returns and nothing is lost when the guest powers off right after. 9p shares: the host root
// (read-only), the per-run job folder (read-only) and the writable shares.
// Left out: networking (-nic none), disks, display, a monitor or QMP.

import { LAB_PORTS, LAB_TAGS } from './scripts.js';

export interface LabMachine {
  kernel: string;
  initrd: string;
  smp: number;
  memMiB: number;
  /** Host folder shared read-only at /job. */
  jobDir: string;
  /** Host folders shared writable at their own path. */
  rwShares: readonly string[];
  /** Files QEMU writes: the kernel console, the three ports, and its own reset log (`-d cpu_reset`, see below). */
  files: { console: string; stdout: string; stderr: string; status: string; qemuLog?: string };
  /** Extra kernel command line words (debugging). */
  append?: readonly string[];
  /** TCG's threading: one host thread per lab vCPU (default), or all vCPUs on one thread (BOOTGATE_LAB_TCG=single, a diagnostic). */
  tcgThread?: 'multi' | 'single';
}

/** BOOTGATE_LAB_TCG=single runs the lab's vCPUs round-robin on one host thread: half the speed, no cross-thread TCG. */
export const LAB_TCG_ENV = 'BOOTGATE_LAB_TCG';

export function labTcgThread(env: NodeJS.ProcessEnv = process.env): 'multi' | 'single' {
  const v = env[LAB_TCG_ENV];
  if (v === undefined || v === '' || v === 'multi') return 'multi';
  if (v === 'single') return 'single';
  throw new TypeError(`${LAB_TCG_ENV}=${JSON.stringify(v)}; expected multi or single`);
}

/** Kernel command line: console on COM1, quiet, a panic powers the VM off (with -no-reboot). */
export const LAB_KERNEL_CMDLINE = [
  'console=ttyS0',
  'quiet',
  'panic=-1',
  'rdinit=/init',
  // Under TCG: crypto self-tests cost ~0.5 s, ACPI IRQ-link evaluation ~0.3 s per PCI device
  // (the MP table's routing is enough), speculation mitigations slow every syscall.
  'cryptomgr.notests',
  'acpi=noirq',
  'mitigations=off',
];

/** QEMU option values separate on commas; a literal comma is written twice. */
export function qemuEscape(value: string): string {
  return value.replaceAll(',', ',,');
}

function fileChardev(id: string, path: string): string[] {
  return ['-chardev', `file,id=${id},path=${qemuEscape(path)}`];
}

function share(tag: string, path: string, readonly: boolean): string[] {
  const opts = ['local', `path=${qemuEscape(path)}`, `mount_tag=${tag}`, 'security_model=none', 'multidevs=remap'];
  if (readonly) opts.push('readonly=on');
  return ['-virtfs', opts.join(',')];
}

export function qemuArgs(m: LabMachine): string[] {
  const ports = (['stdout', 'stderr', 'status'] as const).flatMap((p, i) => [
    ...fileChardev(p, m.files[p]),
    '-device',
    `virtserialport,bus=vser.0,nr=${i + 1},chardev=${p},name=${LAB_PORTS[p]}`,
  ]);
  return [
    '-nodefaults',
    '-no-user-config',
    '-machine',
    'pc',
    '-accel',
    `tcg,thread=${m.tcgThread ?? 'multi'}`,
    '-cpu',
    'max',
    '-smp',
    String(m.smp),
    '-m',
    `${m.memMiB}M`,
    '-display',
    'none',
    '-no-reboot',
    // QEMU logs "Triple fault" when a lab vCPU shuts down (with -no-reboot, QEMU then ends with
    // exit code 0 and the lab kernel has printed nothing): how a silent lab death is told apart
    // from a panic (printed) or a QEMU crash (a signal). Also one CPU-state dump per reset at start.
    ...(m.files.qemuLog ? ['-d', 'cpu_reset', '-D', m.files.qemuLog] : []),
    '-kernel',
    m.kernel,
    '-initrd',
    m.initrd,
    '-append',
    [...LAB_KERNEL_CMDLINE, ...(m.append ?? [])].join(' '),
    ...fileChardev('console', m.files.console),
    '-serial',
    'chardev:console',
    '-device',
    'virtio-serial-pci,id=vser',
    ...ports,
    ...share(LAB_TAGS.hostRoot, '/', true),
    ...share(LAB_TAGS.job, m.jobDir, true),
    ...m.rwShares.flatMap((path, i) => share(LAB_TAGS.rw(i), path, false)),
  ];
}
