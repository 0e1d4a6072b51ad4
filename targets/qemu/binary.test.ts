// Finding the QEMU binary and reading what it has (`-accel help`, `-machine help` as QEMU 7.2 prints them).

import { describe, expect, test } from 'vitest';
import { findExecutable, missingQemuError, parseAccelHelp, parseMachineAlias, qemuBinary } from './binary.js';

describe('the QEMU binary', () => {
  test('QEMU in the environment wins; qemu-system-x86_64 otherwise', () => {
    expect(qemuBinary({ QEMU: '/opt/q/bin/qemu-system-x86_64' })).toBe('/opt/q/bin/qemu-system-x86_64');
    expect(qemuBinary({})).toBe('qemu-system-x86_64');
    expect(findExecutable('/nonexistent/qemu')).toBeUndefined();
    expect(findExecutable('sh', { PATH: '/nonexistent:/bin' })).toBe('/bin/sh');
    expect(missingQemuError('/nonexistent').toLine()).toBe(
      'bootgate: E_CONFIG: QEMU binary /nonexistent not found (fix: apt-get install qemu-system-x86 (npm test installs it), or set QEMU=/path/to/qemu-system-x86_64)',
    );
  });

  test('-accel help and -machine help as QEMU 7.2 prints them', () => {
    expect(parseAccelHelp('Accelerators supported in QEMU binary:\ntcg\nkvm\n')).toEqual(['tcg', 'kvm']);
    const machines = [
      'Supported machines are:',
      'microvm              microvm (i386)',
      'pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)',
      'pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)',
      'q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)',
    ].join('\n');
    expect(parseMachineAlias(machines, 'pc')).toBe('pc-i440fx-7.2');
    expect(parseMachineAlias(machines, 'q35')).toBe('pc-q35-7.2');
    expect(parseMachineAlias(machines, 'isapc')).toBeUndefined();
  });
});
