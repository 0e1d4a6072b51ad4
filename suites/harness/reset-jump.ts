// Decodes the instruction a firmware image holds at its reset vector (its last 16 bytes), so a
// suite can predict where the vCPU must be after executing exactly that one instruction, and
// judges the VMM's single step of that instruction (the reset-vector milestone) against it.

import { type BootResult, eventsOf } from '../../targets/boot-result.js';
import type { Failure } from './failures.js';

export interface FetchPoint {
  csBase: number;
  rip: number;
}

/** Where a vCPU fetching from CS base 0xFFFF0000, IP 0xFFF0 goes after the first instruction. */
export function resetVectorTarget(image: Uint8Array): FetchPoint | undefined {
  const at = image.length - 16;
  const op = image[at];
  const u16 = (i: number): number => image[at + i]! | (image[at + i + 1]! << 8);
  switch (op) {
    case 0xea: // jmp ptr16:16 (far)
      return { csBase: u16(3) * 16, rip: u16(1) };
    case 0xe9: {
      // jmp rel16 (near): IP wraps within the 64 KiB segment
      const rel = (u16(1) << 16) >> 16;
      return { csBase: 0xffff_0000, rip: (0xfff0 + 3 + rel) & 0xffff };
    }
    case 0xeb: {
      const rel = (image[at + 1]! << 24) >> 24;
      return { csBase: 0xffff_0000, rip: (0xfff0 + 2 + rel) & 0xffff };
    }
    case 0x90: // nop (OVMF 4 MiB: nop; nop; jmp near)
      return { csBase: 0xffff_0000, rip: 0xfff1 };
    case 0x0f:
      // mov r32, CRn with a register operand (0F 20 /r, mod 11), three bytes (OVMF 2 MiB: mov eax,
      // cr0; test al, 1; ...: its reset vector first checks whether it is already in protected mode)
      if (image[at + 1] === 0x20 && (image[at + 2]! & 0xc0) === 0xc0) return { csBase: 0xffff_0000, rip: 0xfff3 };
      return undefined;
    default:
      return undefined;
  }
}

export const RESET_STEP = 'the first instruction is fetched at 0xfffffff0 from the firmware image and lands where its jump says';
const RESET_VECTOR = 0xffff_fff0;

interface StepMilestone {
  gpa: number;
  region: string | null;
  before?: FetchPoint;
  after?: FetchPoint;
  detail?: string;
}

const at = (p: FetchPoint | undefined): string => (p ? `CS base 0x${p.csBase.toString(16)} IP 0x${p.rip.toString(16)}` : 'nowhere reported');

/**
 * The vCPU's first instruction, single-stepped by the own VMM: fetched at the reset vector from
 * `region` (the slot holding the firmware image), and landing where the image's instruction
 * says. A fetch from nothing stops the VMM before it reports a step: then its error (the exit the
 * fetch caused) is the message.
 */
export function resetStepFailures(r: BootResult, image: Uint8Array, region: string): Failure[] {
  const step = eventsOf(r, 'milestone').find((e) => e.name === 'reset-vector') as unknown as StepMilestone | undefined;
  const fail = (message: string): Failure[] => [{ assertion: RESET_STEP, message }];
  if (!step) return fail(`no instruction ran at the reset vector: ${r.error?.message ?? r.diagnostic?.reason ?? `the boot ended ${r.status}`}`);
  if (step.detail === 'single-step unavailable') return fail('the accelerator could not single-step the first instruction');
  const want = resetVectorTarget(image);
  const problems: string[] = [];
  if (step.before?.csBase !== 0xffff_0000 || step.before.rip !== 0xfff0) problems.push(`the vCPU started at ${at(step.before)}, not CS base 0xffff0000 IP 0xfff0`);
  if (step.gpa !== RESET_VECTOR) problems.push(`the first fetch was at gpa 0x${step.gpa.toString(16)}`);
  if (step.region !== region) problems.push(`the reset vector was served by ${step.region ?? 'nothing'}, not ${region}`);
  if (!want) problems.push('the image holds no jump the harness can decode at its reset vector');
  else if (step.after?.csBase !== want.csBase || step.after.rip !== want.rip) problems.push(`after one instruction the vCPU is at ${at(step.after)}, the image says ${at(want)}`);
  return problems.length ? fail(problems.join('; ')) : [];
}
