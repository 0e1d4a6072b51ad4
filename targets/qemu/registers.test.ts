// HMP `info registers -a` as QEMU 7.2 prints it, into a Diagnostic's per-vCPU registers.

import { describe, expect, test } from 'vitest';
import { parseInfoRegisters } from './registers.js';

describe('info registers -a', () => {
  test('general, control and segment registers per vCPU; FPU/SSE/debug left out', () => {
    const text = [
      '',
      'CPU#0',
      'EAX=00000000 EBX=00000000 ECX=0000b79d EDX=00000000',
      'EIP=0000b7b9 EFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1',
      'CS =f000 000f0000 0000ffff 00009b00',
      'GDT=     00000000 00000000',
      'CR0=00000010 CR2=00000000 CR3=00000000 CR4=00000000',
      'DR0=0000000000000000 DR1=0000000000000000 DR2=0000000000000000 DR3=0000000000000000 ',
      'EFER=0000000000000000',
      'FCW=037f FSW=0000 [ST=0] FTW=00 MXCSR=00001f80',
      'XMM00=0000000000000000 0000000000000000 XMM01=0000000000000000 0000000000000000',
      '',
      'CPU#1',
      'RAX=0000000000000001 RBX=0000000000000002 RCX=0000000000000003 RDX=0000000000000004',
      'R8 =0000000000000008 R9 =0000000000000009 R10=000000000000000a R11=000000000000000b',
      'RIP=ffffffff81000000 RFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0',
    ].join('\n');
    const [cpu0, cpu1] = parseInfoRegisters(text);
    expect(cpu0).toEqual({
      vcpu: 0,
      regs: {
        ...{ eax: '0x0', ebx: '0x0', ecx: '0xb79d', edx: '0x0', eip: '0xb7b9', efl: '0x246' },
        ...{ cpl: '0x0', ii: '0x0', a20: '0x1', smm: '0x0', hlt: '0x1', cs: '0xf000', 'cs.base': '0xf0000' },
        ...{ cr0: '0x10', cr2: '0x0', cr3: '0x0', cr4: '0x0', efer: '0x0' },
      },
    });
    // Written as the own VMM writes them: 0x and no leading zeros.
    expect(cpu1!.regs).toMatchObject({ rax: '0x1', r8: '0x8', r11: '0xb', rip: '0xffffffff81000000' });
  });
});
