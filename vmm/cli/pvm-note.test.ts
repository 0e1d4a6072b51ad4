import { describe, expect, it } from 'vitest';
import { pvmBootNote, pvmErrorHint } from './pvm-note.js';

const PVM = { module: 'kvm_pvm' as const };
const VTX = { module: 'kvm_intel' as const };

describe('PVM notes', () => {
  it('warns before OVMF or a Linux kernel on PVM, and says nothing for SeaBIOS or on VT-x', () => {
    expect(pvmBootNote({ firmware: 'ovmf-4m' }, PVM)).toMatch(/^bootgate: note: \/dev\/kvm is PVM here: OVMF stops .*--target vmm:kvm@lab/);
    expect(pvmBootNote({ firmware: 'seabios-256k', kernel: '/boot/vmlinuz' }, PVM)).toMatch(/PVM here: Linux stops/);
    expect(pvmBootNote({ firmware: 'seabios-256k' }, PVM)).toBeUndefined();
    expect(pvmBootNote({ firmware: 'ovmf-4m' }, VTX)).toBeUndefined();
  });

  it('attaches the lab as the fix to an internal-error exit on PVM only', () => {
    const err = { message: 'vCPU 0 stopped with exit InternalError suberror 1 at cs:rip f000:fff0' };
    expect(pvmErrorHint(err, PVM)).toMatch(/PVM, whose instruction emulator gave up here; boot it with --target vmm:kvm@lab/);
    expect(pvmErrorHint(err, VTX)).toBeUndefined();
    expect(pvmErrorHint({ message: 'timed out' }, PVM)).toBeUndefined();
    expect(pvmErrorHint({ ...err, hint: 'already said' }, PVM)).toBe('already said');
  });
});
