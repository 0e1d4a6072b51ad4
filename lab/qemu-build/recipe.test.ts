// The lab's patched-QEMU recipe: the cache key follows every input, each patch changes only what
// it says (the CR8 write's lock, the IGNNE race, VMRUN's injection and VIRQ), and a host without
// the build packages is told which ones to install.

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

  const patchText = (name: string) => readFileSync(patchPath(name), 'utf8');
  const filesOf = (patch: string) => [...patch.matchAll(/^\+\+\+ b\/(\S+)/gm)].map((m) => m[1]);
  const added = (patch: string) => patch.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).join('\n');
  const removed = (patch: string) => patch.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'));

  test('four patches, in order, each to the one file it names', () => {
    expect(PATCHES).toEqual(['tcg-svm-cr8-bql.patch', 'tcg-ignne-first-cpu-race.patch', 'tcg-svm-vmrun-inject-once.patch', 'tcg-svm-vmrun-virq-bql.patch']);
    expect(PATCHES.map((p) => filesOf(patchText(p)))).toEqual([
      ['target/i386/tcg/system/misc_helper.c'],
      ['target/i386/tcg/system/fpu_helper.c'],
      ['target/i386/tcg/system/svm_helper.c'],
      ['target/i386/tcg/system/svm_helper.c'],
    ]);
  });

  test('the CR8 patch takes the BQL around the one cpu_interrupt() in helper_write_crN and adds lines only', () => {
    const patch = patchText('tcg-svm-cr8-bql.patch');
    expect(added(patch)).toContain('bql_lock();');
    expect(added(patch)).toContain('bql_unlock();');
    expect(removed(patch)).toEqual([]);
    expect(patch).toContain(' cpu_interrupt(cs, CPU_INTERRUPT_VIRQ);');
  });

  test("the IGNNE patch replaces the first vCPU's unlocked hflags2 write with a checked atomic one, and nothing else", () => {
    const patch = patchText('tcg-ignne-first-cpu-race.patch');
    expect(removed(patch)).toEqual(['-    env->hflags2 &= ~HF2_IGNNE_MASK;']);
    expect(added(patch)).toContain('qatomic_and(&env->hflags2, ~HF2_IGNNE_MASK);');
    expect(added(patch)).toContain('if (qatomic_read(&env->hflags2) & HF2_IGNNE_MASK) {');
  });

  test('the VMRUN patches clear exception_index after the inline injection, and set VIRQ under the BQL; both add lines only', () => {
    const once = patchText('tcg-svm-vmrun-inject-once.patch');
    expect(removed(once)).toEqual([]);
    expect(added(once)).toContain('cs->exception_index = -1;');
    expect(once).toContain(' do_interrupt_x86_hardirq(env, vector, 1);');
    const virq = patchText('tcg-svm-vmrun-virq-bql.patch');
    expect(removed(virq)).toEqual([]);
    expect(added(virq)).toContain('bql_lock();');
    expect(virq).toContain(' cs->interrupt_request |= CPU_INTERRUPT_VIRQ;');
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
