// The QEMU command line the qemu:<accel> targets build (pure: no QEMU started).

import { describe, expect, test } from 'vitest';
import { escapeOptionValue, firmwareArgs, qemuArgs } from './qemu-args.js';

const BIOS = { kind: 'bios', name: 'seabios-256k', path: '/cache/bios-256k.bin' } as const;

describe('qemuArgs', () => {
  test('the own VMM\'s machine: pc, memory, vCPUs, firmware, consoles, debug exit, QMP, paused', () => {
    expect(qemuArgs({ accel: 'tcg', smp: 2, memMiB: 512, firmware: BIOS, qmpSocket: '/t/qmp.sock', debugconSocket: '/t/dbg.sock' })).toEqual([
      ...['-name', 'bootgate-tcg', '-accel', 'tcg', '-machine', 'pc,graphics=off', '-m', '512', '-smp', '2'],
      ...['-bios', '/cache/bios-256k.bin', '-nodefaults', '-vga', 'none', '-display', 'none'],
      ...['-chardev', 'stdio,id=com1,signal=off', '-serial', 'chardev:com1'],
      ...['-chardev', 'socket,id=debugcon,path=/t/dbg.sock,server=on,wait=off', '-device', 'isa-debugcon,iobase=0x402,chardev=debugcon'],
      ...['-device', 'isa-debug-exit,iobase=0xf4,iosize=1'],
      ...['-chardev', 'socket,id=qmp,path=/t/qmp.sock,server=on,wait=off', '-mon', 'chardev=qmp,mode=control'],
      '-S',
    ]);
  });

  test('defaults to the own VMM\'s 512 MiB; -no-reboot only when asked; any accelerator name passes through', () => {
    const args = qemuArgs({ accel: 'nvmm', smp: 8, firmware: BIOS, qmpSocket: 'q', debugconSocket: 'd', noReboot: true });
    expect(args.slice(0, 10)).toEqual(['-name', 'bootgate-nvmm', '-accel', 'nvmm', '-machine', 'pc,graphics=off', '-m', '512', '-smp', '8']);
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
