import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
  it('reports each PCI device with the sized lines of its sysfs resource file as JSON', () => {
    const loop = script.slice(script.indexOf('for dev in /sys/bus/pci/devices/*'));
    const body = loop.slice(0, loop.indexOf('\ndone\n') + 6);
    const root = mkdtempSync(join(tmpdir(), 'probe-pci-'));
    const dev = join(root, '0000:00:05.0');
    mkdirSync(dev);
    writeFileSync(join(dev, 'vendor'), '0x1b36\n');
    writeFileSync(join(dev, 'device'), '0x0005\n');
    const zero = '0x0000000000000000 0x0000000000000000 0x0000000000000000';
    writeFileSync(
      join(dev, 'resource'),
      [zero, '0x00000000e0000000 0x00000000efffffff 0x0000000000040200', zero, '0x0000000000000000 0x00000007ffffffff 0x000000002014220c', zero, zero, zero, ''].join('\n'),
    );
    const out = execFileSync('sh', ['-c', `say() { echo "@@bootgate $1"; }\n${body.replace('/sys/bus/pci/devices/*', `${root}/*`)}`]).toString();
    expect(JSON.parse(out.replace('@@bootgate ', ''))).toEqual({
      event: 'pci',
      bdf: '0000:00:05.0',
      id: '0x1b36:0x0005',
      bars: [
        [1, '0x00000000e0000000', '0x00000000efffffff', '0x0000000000040200'],
        [3, '0x0000000000000000', '0x00000007ffffffff', '0x000000002014220c'],
      ],
    });
  });
});
