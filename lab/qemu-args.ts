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
  /** The lab CPU model (`-cpu`); LAB_CPU unless set (labCpu()). */
  cpu?: string;
  /** kvm_amd module parameters (`vgif=0`), given to the lab kernel as `kvm_amd.vgif=0`; the lab's init passes them to insmod. */
  kvmAmdParams?: readonly string[];
}

/** The lab's CPU model: every feature TCG emulates, SVM (and with it kvm-amd) included. */
export const LAB_CPU = 'max';
/** BOOTGATE_LAB_CPU sets the lab's -cpu value (`max,-vgif`): a diagnostic for the emulated SVM's faults. */
export const LAB_CPU_ENV = 'BOOTGATE_LAB_CPU';
/** BOOTGATE_LAB_KVM_AMD="vgif=0 npt=1" sets kvm_amd parameters in the lab: the same diagnostic from the lab kernel's side. */
export const LAB_KVM_AMD_ENV = 'BOOTGATE_LAB_KVM_AMD';

export function labCpu(env: NodeJS.ProcessEnv = process.env): string {
  const v = env[LAB_CPU_ENV];
  if (v === undefined || v === '') return LAB_CPU;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.,=+-]*$/.test(v)) throw new TypeError(`${LAB_CPU_ENV}=${JSON.stringify(v)}; expected a QEMU -cpu value such as max,-vgif`);
  return v;
}

/** The default kvm_amd parameters of the lab (none), or BOOTGATE_LAB_KVM_AMD's words. */
export const LAB_KVM_AMD_PARAMS: readonly string[] = [];

export function labKvmAmdParams(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const v = env[LAB_KVM_AMD_ENV];
  if (v === undefined || v.trim() === '') return LAB_KVM_AMD_PARAMS;
  const words = v.trim().split(/\s+/);
  for (const w of words) {
    if (!/^[a-z_][a-z0-9_]*=[A-Za-z0-9_-]+$/.test(w)) throw new TypeError(`${LAB_KVM_AMD_ENV}: ${JSON.stringify(w)} is not a module parameter; expected name=value words such as vgif=0`);
  }
  return words;
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
    m.cpu ?? LAB_CPU,
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
    [...LAB_KERNEL_CMDLINE, ...(m.kvmAmdParams ?? LAB_KVM_AMD_PARAMS).map((p) => `kvm_amd.${p}`), ...(m.append ?? [])].join(' '),
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
