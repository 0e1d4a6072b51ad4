import { describe, expect, it } from 'vitest';
import { LAB_KERNEL_CMDLINE, labCpu, labKvmAmdParams, labTcgThread, qemuArgs, qemuEscape } from './qemu-args.js';

const machine = {
  kernel: '/cache/vmlinux',
  initrd: '/cache/initramfs.cpio',
  smp: 2,
  memMiB: 3072,
  jobDir: '/tmp/run,1/job',
  rwShares: ['/work/main'],
  files: { console: '/tmp/run/console.log', stdout: '/tmp/run/stdout', stderr: '/tmp/run/stderr', status: '/tmp/run/status', qemuLog: '/tmp/run/qemu.log' },
};

function valuesOf(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

describe('qemuArgs', () => {
  const args = qemuArgs(machine);

  it('boots under TCG with -cpu max (emulated SVM), no reboot on panic, and the kernel, initrd and command line', () => {
    expect(valuesOf(args, '-accel')[0]).toMatch(/^tcg/);
    expect(valuesOf(args, '-cpu')).toEqual(['max']);
    expect(valuesOf(args, '-smp')).toEqual(['2']);
    expect(valuesOf(args, '-m')).toEqual(['3072M']);
    expect(args).toContain('-no-reboot');
    expect(valuesOf(args, '-kernel')).toEqual(['/cache/vmlinux']);
    expect(valuesOf(args, '-initrd')).toEqual(['/cache/initramfs.cpio']);
    expect(valuesOf(args, '-append')).toEqual([LAB_KERNEL_CMDLINE.join(' ')]);
    expect(LAB_KERNEL_CMDLINE).toContain('quiet');
  });

  it('writes the console and three named ports to files', () => {
    expect(valuesOf(args, '-chardev')).toEqual([
      'file,id=console,path=/tmp/run/console.log',
      'file,id=stdout,path=/tmp/run/stdout',
      'file,id=stderr,path=/tmp/run/stderr',
      'file,id=status,path=/tmp/run/status',
    ]);
    expect(valuesOf(args, '-serial')).toEqual(['chardev:console']);
    expect(valuesOf(args, '-device').filter((d) => d.startsWith('virtserialport'))).toEqual([
      'virtserialport,bus=vser.0,nr=1,chardev=stdout,name=bootgate.stdout',
      'virtserialport,bus=vser.0,nr=2,chardev=stderr,name=bootgate.stderr',
      'virtserialport,bus=vser.0,nr=3,chardev=status,name=bootgate.status',
    ]);
  });

  it('shares the host root and the job folder read-only, the writable shares without readonly, commas escaped', () => {
    const shares = valuesOf(args, '-virtfs');
    expect(shares).toHaveLength(3);
    expect(shares[0]).toMatch(/^local,path=\/,mount_tag=bootgate\.root,.*readonly=on$/);
    expect(shares[1]).toContain('path=/tmp/run,,1/job,mount_tag=bootgate.job');
    expect(shares[1]).toContain('readonly=on');
    expect(shares[2]).toMatch(/^local,path=\/work\/main,mount_tag=bootgate\.rw0,/);
    expect(shares[2]).not.toContain('readonly');
  });

  it('logs the lab CPUs\' resets to the QEMU log file, so a lab vCPU\'s triple fault is on record', () => {
    expect(valuesOf(args, '-d')).toEqual(['cpu_reset']);
    expect(valuesOf(args, '-D')).toEqual(['/tmp/run/qemu.log']);
    const { qemuLog: _q, ...files } = machine.files;
    expect(qemuArgs({ ...machine, files })).not.toContain('-d');
  });

  it('adds extra kernel arguments after the lab ones', () => {
    expect(valuesOf(qemuArgs({ ...machine, append: ['loglevel=7'] }), '-append')[0]).toMatch(/ loglevel=7$/);
  });

  it('runs TCG multi-threaded unless BOOTGATE_LAB_TCG=single asks for one thread; anything else is refused', () => {
    expect(valuesOf(args, '-accel')).toEqual(['tcg,thread=multi']);
    expect(valuesOf(qemuArgs({ ...machine, tcgThread: 'single' }), '-accel')).toEqual(['tcg,thread=single']);
    expect(labTcgThread({})).toBe('multi');
    expect(labTcgThread({ BOOTGATE_LAB_TCG: 'single' })).toBe('single');
    expect(() => labTcgThread({ BOOTGATE_LAB_TCG: 'one' })).toThrow(/expected multi or single/);
  });

  it('escapes commas only', () => {
    expect(qemuEscape('/a,b,,c')).toBe('/a,,b,,,,c');
  });

  it('takes the lab CPU model and kvm_amd parameters from the environment, refusing what QEMU or insmod could not take', () => {
    expect(labCpu({})).toBe('max');
    expect(labCpu({ BOOTGATE_LAB_CPU: 'max,-vgif' })).toBe('max,-vgif');
    expect(() => labCpu({ BOOTGATE_LAB_CPU: 'max -smp 8' })).toThrow(/expected a QEMU -cpu value/);
    expect(labKvmAmdParams({})).toEqual([]);
    expect(labKvmAmdParams({ BOOTGATE_LAB_KVM_AMD: ' vgif=0  npt=1 ' })).toEqual(['vgif=0', 'npt=1']);
    expect(() => labKvmAmdParams({ BOOTGATE_LAB_KVM_AMD: 'vgif' })).toThrow(/"vgif" is not a module parameter/);
    const args = qemuArgs({ ...machine, cpu: 'max,-vgif', kvmAmdParams: ['vgif=0'] });
    expect(valuesOf(args, '-cpu')).toEqual(['max,-vgif']);
    expect(valuesOf(args, '-append')[0]).toBe(`${LAB_KERNEL_CMDLINE.join(' ')} kvm_amd.vgif=0`);
  });
});
