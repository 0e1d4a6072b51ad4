// The lab's patched-QEMU recipe: the cache key follows every input, the patch is the one change
// to QEMU's code and touches only helper_write_crN's CR8 case, and a host without the build
// packages is told which ones to install.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { BUILD_NEEDS, CONFIGURE_ARGS, missingBuildNeeds, PATCHES, patchPath, QEMU_SOURCE, recipeKey } from './recipe.js';
import { cannotBuildPatchedQemu } from './build.js';

describe('lab QEMU recipe', () => {
  test('the key changes with the patch text and is stable otherwise', () => {
    const real = recipeKey();
    expect(recipeKey()).toBe(real);
    expect(recipeKey(() => 'another patch')).not.toBe(real);
    expect(real).toMatch(/^[0-9a-f]{16}$/);
  });

  test('the patch takes the BQL around the one cpu_interrupt() in helper_write_crN and nothing else', () => {
    expect(PATCHES).toEqual(['tcg-svm-cr8-bql.patch']);
    const patch = readFileSync(patchPath(PATCHES[0]), 'utf8');
    const files = [...patch.matchAll(/^\+\+\+ b\/(\S+)/gm)].map((m) => m[1]);
    expect(files).toEqual(['target/i386/tcg/system/misc_helper.c']);
    const added = patch.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).join('\n');
    expect(added).toContain('bql_lock();');
    expect(added).toContain('bql_unlock();');
    expect(patch.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'))).toEqual([]); // adds only
    expect(patch).toContain(' cpu_interrupt(cs, CPU_INTERRUPT_VIRQ);');
  });

  test('one x86_64 system target with TCG; data files found where Debian keeps them', () => {
    expect(CONFIGURE_ARGS).toContain('--target-list=x86_64-softmmu');
    expect(CONFIGURE_ARGS).toContain('--enable-tcg');
    expect(CONFIGURE_ARGS).toContain('--enable-virtfs'); // the lab's 9p shares
    expect(CONFIGURE_ARGS.find((a) => a.startsWith('--firmwarepath='))).toContain('/usr/share/seabios');
    expect(QEMU_SOURCE.path).toMatch(/^pool\/main\/q\/qemu\/qemu_10\.0\.2\+ds\.orig\.tar\.xz$/);
  });

  test('a host without the build packages is told which to install', () => {
    expect(missingBuildNeeds(() => true)).toEqual([]);
    const missing = missingBuildNeeds((p) => !p.includes('glib') && !p.endsWith('ninja'));
    expect(missing).toEqual(['ninja-build', 'libglib2.0-dev']);
    expect(BUILD_NEEDS.length).toBeGreaterThan(5);
    if (process.platform === 'linux') {
      expect(cannotBuildPatchedQemu((p) => !p.endsWith('/patch'))).toMatch(/needs patch \(apt-get install -y --no-install-recommends patch; npm run uefi installs them\)/);
      expect(cannotBuildPatchedQemu(() => true)).toBeUndefined();
    }
  });
});
