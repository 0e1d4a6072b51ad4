import { describe, expect, it } from 'vitest';
import { bootsHere } from './main.js';

describe('bootsHere: may boot start the device owner early', () => {
  it('yes for the own VMM in this process', () => {
    expect(bootsHere([])).toBe(true);
    expect(bootsHere(['--guest', 'debian-probe', '--smp', '8'])).toBe(true);
    expect(bootsHere(['--target', 'vmm:kvm'])).toBe(true);
    expect(bootsHere(['--target=vmm:kvm'])).toBe(true);
  });

  it('no for another target, the lab, help, or a --target without its value', () => {
    expect(bootsHere(['--target', 'qemu:kvm'])).toBe(false);
    expect(bootsHere(['--target=qemu:tcg'])).toBe(false);
    expect(bootsHere(['--target', 'vmm:kvm@lab'])).toBe(false);
    expect(bootsHere(['--target', 'vmm:kvm', '--target', 'qemu:kvm'])).toBe(false);
    expect(bootsHere(['--help'])).toBe(false);
    expect(bootsHere(['--guest', 'seabios', '-h'])).toBe(false);
    expect(bootsHere(['--target'])).toBe(false);
  });
});
