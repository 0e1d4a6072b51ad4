import { describe, expect, it } from 'vitest';
import { loadLock } from '../../../fixtures/fixtures.js';
import { FOUR_GIB } from '../../layout.js';
import {
  OVMF_2M_CODE_BASE,
  OVMF_2M_CODE_SIZE,
  OVMF_2M_VARS_BASE,
  OVMF_2M_VARS_SIZE,
  OVMF_4M_CODE_BASE,
  OVMF_4M_CODE_SIZE,
  OVMF_4M_VARS_BASE,
  OVMF_4M_VARS_SIZE,
  ovmfFlashLayout,
} from './ovmf-flash-layout.js';

describe('OVMF flash layout', () => {
  it('matches docs/platform.md: 4M VARS 0xffc00000-0xffc83fff, CODE from 0xffc84000; 2M VARS 0xffe00000 (128 KiB)', () => {
    expect(ovmfFlashLayout(OVMF_4M_CODE_SIZE, OVMF_4M_VARS_SIZE)).toEqual({
      codeBase: 0xffc8_4000,
      codeSize: OVMF_4M_CODE_SIZE,
      varsBase: 0xffc0_0000,
      varsSize: 0x8_4000,
    });
    expect(OVMF_4M_VARS_BASE + OVMF_4M_VARS_SIZE).toBe(OVMF_4M_CODE_BASE);
    expect(ovmfFlashLayout(OVMF_2M_CODE_SIZE, OVMF_2M_VARS_SIZE)).toMatchObject({ varsBase: 0xffe0_0000, codeBase: 0xffe2_0000 });
    expect(OVMF_2M_VARS_BASE + OVMF_2M_VARS_SIZE).toBe(OVMF_2M_CODE_BASE);
    expect(OVMF_2M_CODE_BASE + OVMF_2M_CODE_SIZE).toBe(FOUR_GIB);
  });

  it('uses the sizes the fixture lock records', () => {
    const { artifacts } = loadLock();
    const size = (name: string) => artifacts[name]?.size;
    expect(size('ovmf-code-4m')).toBe(OVMF_4M_CODE_SIZE);
    expect(size('ovmf-vars-4m')).toBe(OVMF_4M_VARS_SIZE);
    expect(size('ovmf-code-2m')).toBe(OVMF_2M_CODE_SIZE);
    expect(size('ovmf-vars-2m')).toBe(OVMF_2M_VARS_SIZE);
  });

  it('rejects images that cannot be flash', () => {
    expect(() => ovmfFlashLayout(0x1000_1, 0x2_0000)).toThrow(/CODE image is 65537 bytes/);
    expect(() => ovmfFlashLayout(0x1e_0000, 0)).toThrow(/VARS image is 0 bytes/);
    expect(() => ovmfFlashLayout(0x80_0000, 0x2_0000)).toThrow(/at most 8388608 fit/);
  });
});
