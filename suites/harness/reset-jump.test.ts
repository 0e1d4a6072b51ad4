import { describe, expect, it } from 'vitest';
import { resetVectorTarget } from './reset-jump.js';

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
  it('returns undefined for something that is not a jump', () => {
    expect(resetVectorTarget(image([0x90]))).toBeUndefined();
  });
});
