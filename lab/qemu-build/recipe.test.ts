// The lab's patched-QEMU recipe: the cache key follows every input, the patch is the one change
// to QEMU's code and touches only helper_write_crN's CR8 case, and a host without the build
// packages is told which ones to install.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BUILD_FILES_ADDED, BUILD_NEEDS, CONFIGURE_ARGS, missingBuildNeeds, PATCHES, patchPath, QEMU_SOURCE, recipeKey } from './recipe.js';
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

  test('only the devices the lab uses are built, the HPET among them; the devices file is in the key', () => {
    expect(CONFIGURE_ARGS).toContain('--without-default-devices');
    const [file, text] = BUILD_FILES_ADDED[0]!;
    expect(CONFIGURE_ARGS).toContain(`--with-devices-x86_64=${basename(file, '.mak')}`);
    expect(file).toMatch(/^configs\/devices\/x86_64-softmmu\/[a-z-]+\.mak$/);
    for (const d of ['I440FX', 'HPET', 'VIRTIO_SERIAL', 'VIRTIO_9P']) expect(text).toContain(`CONFIG_${d}=y\n`);
    const real = recipeKey();
    const saved = text;
    (BUILD_FILES_ADDED[0] as [string, string])[1] = `${text}CONFIG_VGA_PCI=y\n`;
    try {
      expect(recipeKey()).not.toBe(real);
    } finally {
      (BUILD_FILES_ADDED[0] as [string, string])[1] = saved;
    }
  });

  test('a host without the build packages is told which to install', () => {
    expect(missingBuildNeeds(() => true)).toEqual([]);
    const missing = missingBuildNeeds((p) => !p.includes('glib') && !p.endsWith('ninja'));
    expect(missing).toEqual(['ninja-build', 'libglib2.0-dev']);
    expect(BUILD_NEEDS.length).toBeGreaterThan(5);
    if (process.platform === 'linux') {
      expect(cannotBuildPatchedQemu((p) => !p.endsWith('/patch'))).toMatch(/needs patch \(apt-get install -y --no-install-recommends patch; npm test and npm run uefi install them\)/);
      expect(cannotBuildPatchedQemu(() => true)).toBeUndefined();
    }
  });
});
