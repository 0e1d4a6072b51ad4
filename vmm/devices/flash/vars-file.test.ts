import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadVarsImage, saveVarsImage } from './vars-file.js';

describe('VARS file', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function fixture(): string {
    dir = mkdtempSync(join(tmpdir(), 'bootgate-vars-'));
    const path = join(dir, 'OVMF_VARS.fd');
    writeFileSync(path, new Uint8Array(0x2000).fill(0xff));
    return path;
  }

  it('starts from a copy of the fixture, then from the saved file; the fixture is never written', () => {
    const tpl = fixture();
    const vars = join(dir!, 'vm.vars');
    const first = loadVarsImage(tpl, vars);
    first[5] = 0x42;
    expect(readFileSync(tpl)[5]).toBe(0xff);
    saveVarsImage(vars, first);
    expect(loadVarsImage(tpl, vars)[5]).toBe(0x42);
    expect(loadVarsImage(tpl)[5]).toBe(0xff);
    expect(readFileSync(tpl).every((b) => b === 0xff)).toBe(true);
  });

  it('rejects a saved file of another size, and a missing fixture', () => {
    const tpl = fixture();
    const vars = join(dir!, 'vm.vars');
    writeFileSync(vars, new Uint8Array(0x1000));
    expect(() => loadVarsImage(tpl, vars)).toThrow(/is 4096 bytes; this firmware's VARS is 8192/);
    expect(() => loadVarsImage(join(dir!, 'missing.fd'))).toThrow(/cannot read VARS image/);
  });
});
