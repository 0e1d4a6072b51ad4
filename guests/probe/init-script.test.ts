import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeInitScript } from './init-script.js';

describe('probe /init', () => {
  const script = probeInitScript();
  it('is valid sh (sh -n)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'probe-init-')), 'init');
    writeFileSync(file, script);
    expect(() => execFileSync('sh', ['-n', file])).not.toThrow();
  });
  it('runs the irqtest script once per requested mode and unloads the module between modes', () => {
    expect(script).toMatch(/for mode in \$\(echo "\$modes" \| tr '\+' ' '\); do\n\s+sh \/irqtest\.sh "\$mode" "\$count" "\$hz"\n\s+rmmod bootgate_irqtest/);
  });
  it('reports init with the boot count kept in CMOS 0x7e and powers off through isa-debug-exit', () => {
    expect(script).toContain('boot=$(( $(cmos_get 126) + 1 ))');
    expect(script).toContain('seek=244');
  });
});
