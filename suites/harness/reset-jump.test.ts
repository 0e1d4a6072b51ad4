import { describe, expect, it } from 'vitest';
import { parseEventStream } from '../../targets/boot-result.js';
import { RESET_STEP, resetStepFailures, resetVectorTarget } from './reset-jump.js';

function image(bytes: number[]): Uint8Array {
  const img = new Uint8Array(0x10000);
  img.set(bytes, img.length - 16);
  return img;
}

describe('resetVectorTarget', () => {
  it("decodes SeaBIOS's far jump to F000:E05B", () => {
    expect(resetVectorTarget(image([0xea, 0x5b, 0xe0, 0x00, 0xf0]))).toEqual({ csBase: 0xf_0000, rip: 0xe05b });
  });
  it('decodes a near jump backwards within the reset segment', () => {
    // jmp rel16 +13 from 0xfff3 wraps to IP 0x0000
    expect(resetVectorTarget(image([0xe9, 0x0d, 0x00]))).toEqual({ csBase: 0xffff_0000, rip: 0x0000 });
  });
  it("steps over OVMF's leading nop", () => {
    expect(resetVectorTarget(image([0x90, 0x90, 0xe9, 0x5b, 0xff]))).toEqual({ csBase: 0xffff_0000, rip: 0xfff1 });
  });
  it("steps over the 2 MiB OVMF's mov eax, cr0 (three bytes)", () => {
    expect(resetVectorTarget(image([0x0f, 0x20, 0xc0, 0xa8, 0x01, 0x74, 0x05]))).toEqual({ csBase: 0xffff_0000, rip: 0xfff3 });
  });
  it('returns undefined for something that is not a jump', () => {
    expect(resetVectorTarget(image([0xf4]))).toBeUndefined();
    expect(resetVectorTarget(image([0x0f, 0x20, 0x00]))).toBeUndefined(); // memory operand: not decoded
    expect(resetVectorTarget(image([0x0f, 0x01, 0xc0]))).toBeUndefined();
  });
});

describe('resetStepFailures', () => {
  const seabios = image([0xea, 0x5b, 0xe0, 0x00, 0xf0]);
  const boot = (lines: object[]) => parseEventStream('vmm:kvm', lines.map((l) => JSON.stringify(l)).join('\n'), '');
  const step = (o: object) => ({ event: 'milestone', t: 1, name: 'reset-vector', gpa: 0xffff_fff0, region: 'firmware-high', before: { csBase: 0xffff_0000, rip: 0xfff0 }, after: { csBase: 0xf_0000, rip: 0xe05b }, ...o });
  it('passes a first fetch from the firmware that lands where the image jumps', () => {
    expect(resetStepFailures(boot([step({})]), seabios, 'firmware-high')).toEqual([]);
  });
  it('names a fetch from nothing with the exit the VMM saw', () => {
    const r = boot([
      {
        event: 'final',
        t: 2,
        status: 'error',
        exitCode: 1,
        resets: 0,
        wallMs: 2,
        maxRssBytes: 1,
        profile: {},
        error: { code: 'E_GUEST', message: 'first instruction fetch at the reset vector gpa 0xfffffff0 failed (exit MmioRead): nothing is mapped there' },
      },
    ]);
    expect(resetStepFailures(r, seabios, 'firmware-high')).toEqual([
      { assertion: RESET_STEP, message: 'no instruction ran at the reset vector: first instruction fetch at the reset vector gpa 0xfffffff0 failed (exit MmioRead): nothing is mapped there' },
    ]);
  });
  it('names the wrong region and the wrong landing point', () => {
    const [f] = resetStepFailures(boot([step({ region: 'ram-low', after: { csBase: 0xf_0000, rip: 0xe05c } })]), seabios, 'firmware-high');
    expect(f?.message).toBe('the reset vector was served by ram-low, not firmware-high; after one instruction the vCPU is at CS base 0xf0000 IP 0xe05c, the image says CS base 0xf0000 IP 0xe05b');
  });
});
