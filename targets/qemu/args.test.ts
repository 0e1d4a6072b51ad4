// The QEMU command line the qemu:<accel> targets build (pure: no QEMU started).

import { describe, expect, test } from 'vitest';
import { apertureArgs, CANNOT_REPRODUCE, cpuArgs, interruptDeviceArgs, diskArgs, escapeOptionValue, firmwareArgs, guestLinux, linuxArgs, pcRamSplit, qemuArgs, testDeviceArgs } from './args.js';

const BIOS = { kind: 'bios', name: 'seabios-256k', path: '/cache/bios-256k.bin' } as const;

describe('qemuArgs', () => {
  test('the own VMM\'s machine: pc, memory, vCPUs, firmware, consoles, debug exit, QMP, paused', () => {
    expect(qemuArgs({ accel: 'tcg', smp: 2, memMiB: 512, firmware: BIOS, qmpSocket: '/t/qmp.sock', debugconSocket: '/t/dbg.sock' })).toEqual([
      ...['-name', 'bootgate-tcg', '-accel', 'tcg', '-machine', 'pc,graphics=off,hpet=off', '-m', '512', '-smp', '2'],
      ...['-bios', '/cache/bios-256k.bin', '-nodefaults', '-vga', 'none', '-display', 'none'],
      ...['-chardev', 'stdio,id=com1,signal=off', '-serial', 'chardev:com1'],
      ...['-chardev', 'socket,id=debugcon,path=/t/dbg.sock,server=on,wait=off', '-device', 'isa-debugcon,iobase=0x402,chardev=debugcon'],
      ...['-device', 'isa-debug-exit,iobase=0xf4,iosize=1'],
      ...['-chardev', 'socket,id=qmp,path=/t/qmp.sock,server=on,wait=off', '-mon', 'chardev=qmp,mode=control'],
      '-no-shutdown',
      '-S',
    ]);
  });

  test('defaults to the own VMM\'s 512 MiB; -no-reboot only when asked; any accelerator name passes through', () => {
    const args = qemuArgs({ accel: 'nvmm', smp: 8, firmware: BIOS, qmpSocket: 'q', debugconSocket: 'd', noReboot: true });
    expect(args.slice(0, 10)).toEqual(['-name', 'bootgate-nvmm', '-accel', 'nvmm', '-machine', 'pc,graphics=off,hpet=off', '-m', '512', '-smp', '8']);
    expect(args.filter((a) => a === '-no-reboot')).toHaveLength(1);
    expect(qemuArgs({ accel: 'hvf', smp: 1, firmware: BIOS, qmpSocket: 'q', debugconSocket: 'd' })).not.toContain('-no-reboot');
  });

  test('rejects accelerator names that would smuggle options, and bad vCPU counts', () => {
    expect(() => qemuArgs({ accel: 'kvm,kernel-irqchip=off', smp: 1, firmware: BIOS, qmpSocket: 'q', debugconSocket: 'd' })).toThrow(
      /invalid accelerator "kvm,kernel-irqchip=off"/,
    );
    expect(() => qemuArgs({ accel: '', smp: 1, firmware: BIOS, qmpSocket: 'q', debugconSocket: 'd' })).toThrow(/invalid accelerator/);
    expect(() => qemuArgs({ accel: 'tcg', smp: 0, firmware: BIOS, qmpSocket: 'q', debugconSocket: 'd' })).toThrow(/invalid smp 0/);
  });

  test('pflash firmware: CODE read-only on unit 0, the writable VARS copy on unit 1; commas in paths doubled', () => {
    const flash = { kind: 'flash', name: '60-edk2-x86_64.json', code: '/usr/share/OVMF/OVMF_CODE_4M.fd', format: 'raw', varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd', varsFormat: 'raw' } as const;
    expect(firmwareArgs(flash, '/tmp/a,b/vars.fd')).toEqual([
      ...['-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd'],
      ...['-drive', 'if=pflash,format=raw,unit=1,file=/tmp/a,,b/vars.fd'],
    ]);
    expect(() => firmwareArgs(flash)).toThrow(/pass varsPath/);
    expect(firmwareArgs({ ...flash, varsTemplate: undefined })).toHaveLength(2);
    expect(escapeOptionValue('a,,b')).toBe('a,,,,b');
  });
});

describe('PCI test devices, phys-bits, RAM split', () => {
  const base = { accel: 'tcg', smp: 1, firmware: BIOS, qmpSocket: 'q', debugconSocket: 'd' } as const;

  test('one pci-testdev per mem64pref:SIZE device, at the own VMM\'s slots 00:02.0, 00:03.0, ...', () => {
    expect(testDeviceArgs(['mem64pref:32G', 'mem64pref:512M', ' mem64pref:4096 '])).toEqual([
      ...['-device', 'pci-testdev,addr=0x2,membar=32G'],
      ...['-device', 'pci-testdev,addr=0x3,membar=512M'],
      ...['-device', 'pci-testdev,addr=0x4,membar=4096'],
    ]);
    expect(testDeviceArgs([])).toEqual([]);
    const args = qemuArgs({ ...base, pciTestDevices: ['mem64pref:32G', 'mem64pref:32G'] });
    expect(args.slice(args.indexOf('isa-debug-exit,iobase=0xf4,iosize=1') + 1, args.indexOf('-chardev', args.indexOf('isa-debug-exit,iobase=0xf4,iosize=1')))).toEqual([
      ...['-device', 'pci-testdev,addr=0x2,membar=32G', '-device', 'pci-testdev,addr=0x3,membar=32G'],
    ]);
  });

  test('devices pci-testdev cannot be (32-bit, IO, non-prefetchable, several BARs) are refused with the reason', () => {
    for (const spec of ['mem32:512M', 'mem64:1G', 'io:256', 'mem64pref:32G,mem32:512M', 'mem32pref:16M']) {
      expect(() => testDeviceArgs(['mem64pref:1G', spec])).toThrow(`QEMU's pci-testdev offers one 64-bit prefetchable BAR; ${spec} cannot be reproduced`);
      expect(() => testDeviceArgs([spec])).toThrow(CANNOT_REPRODUCE);
    }
  });

  test('phys-bits on the default CPU model (qemu64), right after -smp; no -cpu without it', () => {
    expect(cpuArgs(36)).toEqual(['-cpu', 'qemu64,phys-bits=36']);
    expect(cpuArgs()).toEqual([]);
    expect(() => cpuArgs(31)).toThrow(/invalid physBits 31/);
    expect(() => cpuArgs(40.5)).toThrow(/invalid physBits/);
    const args = qemuArgs({ ...base, physBits: 40 });
    expect(args.slice(args.indexOf('-smp'), args.indexOf('-smp') + 4)).toEqual(['-smp', '1', '-cpu', 'qemu64,phys-bits=40']);
    expect(qemuArgs(base)).not.toContain('-cpu');
  });

  test('OVMF\'s 64-bit aperture as a named fw_cfg string in MiB (seed 004); none without it; a bad size refused', () => {
    expect(apertureArgs(65536)).toEqual(['-fw_cfg', 'name=opt/ovmf/X-PciMmio64Mb,string=65536']);
    expect(apertureArgs()).toEqual([]);
    expect(() => apertureArgs(0)).toThrow(/invalid pciMmio64Mb 0/);
    expect(() => apertureArgs(1.5)).toThrow(/invalid pciMmio64Mb/);
    expect(qemuArgs({ ...base, pciMmio64Mb: 32768 }).join(' ')).toContain('-fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=32768');
    expect(qemuArgs(base)).not.toContain('-fw_cfg');
  });

  test('RAM split as QEMU\'s pc: all below 4 GiB under 3.5 GiB, else 3 GiB below and the rest above', () => {
    const GiB = 2 ** 30;
    expect(pcRamSplit(512)).toEqual({ below4g: 512 * 2 ** 20, above4g: 0 });
    expect(pcRamSplit(3072)).toEqual({ below4g: 3 * GiB, above4g: 0 });
    expect(pcRamSplit(3583)).toEqual({ below4g: 3583 * 2 ** 20, above4g: 0 });
    expect(pcRamSplit(3584)).toEqual({ below4g: 3 * GiB, above4g: 0.5 * GiB });
    expect(pcRamSplit(8192)).toEqual({ below4g: 3 * GiB, above4g: 5 * GiB });
  });
});

describe('Linux guests', () => {
  const base = { accel: 'tcg', smp: 1, firmware: BIOS, qmpSocket: 'q', debugconSocket: 'd' } as const;
  const probe = {
    name: 'debian-probe',
    firmware: 'seabios-256k',
    kernel: '/cache/vmlinuz-6.1.0-cloud-amd64',
    initrd: '/build/probe-initramfs-0123.cpio',
    append: 'console=ttyS0 quiet loglevel=3 reboot=b bootgate.reboots=2',
  };

  test('-kernel, -initrd, -append right after the firmware; QEMU brings its own linuxboot_dma.bin', () => {
    const args = qemuArgs({ ...base, linux: guestLinux(probe) });
    const at = args.indexOf('-bios');
    expect(args.slice(at, at + 8)).toEqual([
      ...['-bios', '/cache/bios-256k.bin'],
      ...['-kernel', probe.kernel, '-initrd', probe.initrd, '-append', probe.append],
    ]);
    expect(args).not.toContain('-option-rom');
    expect(args.at(-1)).toBe('-S');
  });

  test('a command line with spaces and commas stays one argument; no -initrd or -append when absent', () => {
    expect(linuxArgs({ kernel: '/k', append: 'a=1,2 b' })).toEqual(['-kernel', '/k', '-append', 'a=1,2 b']);
    expect(linuxArgs({ kernel: '/k', initrd: '/i' })).toEqual(['-kernel', '/k', '-initrd', '/i']);
    expect(linuxArgs(undefined)).toEqual([]);
    expect(qemuArgs(base)).not.toContain('-kernel');
  });

  test('firmware-only guests boot no kernel', () => {
    expect(guestLinux({ name: 'seabios', firmware: 'seabios' })).toBeUndefined();
  });

  test('the probe\'s reboot= method needs QEMU to reboot: no -no-reboot, and asking for both is refused', () => {
    expect(qemuArgs({ ...base, linux: guestLinux(probe) })).not.toContain('-no-reboot');
    expect(() => qemuArgs({ ...base, noReboot: true, linux: guestLinux(probe) })).toThrow(/asks for reboots .*-no-reboot would turn into the end of the run/);
    const noReboots = { kernel: '/k', append: 'console=ttyS0 bootgate.reboots=0' };
    expect(qemuArgs({ ...base, noReboot: true, linux: noReboots })).toContain('-no-reboot');
  });

  test('debian-irqtest gets edu at the interrupt test device\'s slot; no other boot has it', () => {
    const irqtest = { ...probe, name: 'debian-irqtest', append: 'console=ttyS0 bootgate.irqtest=msi,32,0', irqTestDevice: true };
    const args = qemuArgs({ ...base, linux: guestLinux(irqtest), interruptDevice: true });
    const at = args.indexOf('edu,addr=0x1f');
    expect(args[at - 1]).toBe('-device');
    expect(qemuArgs({ ...base, linux: guestLinux(probe) }).join(' ')).not.toContain('edu');
    expect(interruptDeviceArgs(false)).toEqual([]);
  });
});

describe('a disk image', () => {
  test('goes to piix3-ide primary master in snapshot mode, so the image file is never written', () => {
    expect(diskArgs('/cache/a,b/disk.raw')).toEqual(['-drive', 'file=/cache/a,,b/disk.raw,format=raw,if=ide,index=0,media=disk,snapshot=on']);
    expect(diskArgs(undefined)).toEqual([]);
  });
});

describe('a boot that times its reset vector', () => {
  const base = { accel: 'kvm', smp: 1, firmware: { kind: 'bios' as const, name: 'seabios-256k', path: '/b.bin' }, qmpSocket: '/q', debugconSocket: '/d' };
  test('starts at once (no -S) and traces KVM_RUN exits with wall-clock stamps', () => {
    const args = qemuArgs({ ...base, paused: false, traceFirstExit: true });
    expect(args).not.toContain('-S');
    expect(args.join(' ')).toContain('-trace enable=kvm_run_exit -msg timestamp=on');
  });
  test('every other boot stays paused at reset, untraced', () => {
    const args = qemuArgs(base);
    expect(args.at(-1)).toBe('-S');
    expect(args).not.toContain('-trace');
  });
});
