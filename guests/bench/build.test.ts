// buildPioLoop: the image is 64 KiB with a near jmp at the reset vector. Skips without nasm.

import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BootgateError } from '../../vmm/errors.js';
import { buildPioLoop } from './build.js';

function hasNasm(): boolean {
  try {
    execFileSync('nasm', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('buildPioLoop', () => {
  it.skipIf(!hasNasm())('builds a 64 KiB image that jumps from the reset vector to its loop', async () => {
    const path = await buildPioLoop(1234);
    expect(path).toMatch(/guests\/build\/bench-pio-loop-[0-9a-f]+\.bin$/);
    const image = await readFile(path);
    expect(image.length).toBe(0x1_0000);
    expect(image[0xfff0]).toBe(0xe9); // jmp near: CS keeps its reset base 0xffff_0000
    expect(image.readUInt16LE(0xfff1)).toBe((0x1_0000 - 0xfff3) & 0xffff); // rel16 to offset 0
    expect(image.subarray(0, 16).includes(Buffer.from([0x66, 0xb9, 0xd2, 0x04, 0x00, 0x00]))).toBe(true); // mov ecx, 1234
  });

  it('rejects iteration counts the guest cannot run', async () => {
    await expect(buildPioLoop(1)).rejects.toThrow(BootgateError);
    await expect(buildPioLoop(2 ** 32)).rejects.toThrow(/iterations/);
    await expect(buildPioLoop(2.5)).rejects.toThrow(/iterations/);
  });
});
