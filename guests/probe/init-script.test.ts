import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { probeInitScript } from './init-script.js';

describe('probe /init', () => {
  const script = probeInitScript();
  it('is valid sh (sh -n)', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'probe-init-'));
    onTestFinished(() => rmSync(scratch, { recursive: true, force: true }));
    const file = join(scratch, 'init');
    writeFileSync(file, script);
    expect(() => execFileSync('sh', ['-n', file])).not.toThrow();
  });
  it('runs the irqtest script once per requested mode, IPIs with the first only, unloading the module between modes', () => {
    expect(script).toMatch(/ipi=1\n\s+for mode in \$\(echo "\$modes" \| tr '\+' ' '\); do\n\s+sh \/irqtest\.sh "\$mode" "\$count" "\$hz" "\$ipi"\n\s+rmmod bootgate_irqtest\n\s+ipi=0/);
  });
  it('keeps the boot count in CMOS 0x7e through /dev/nvram (offset 0x7e - 14) and powers off by ACPI', () => {
    expect(script).toContain('count=$(cmos_get 126)');
    expect(script).toContain('boot=$(( ${count:-0} + 1 ))');
    expect(script).toContain('insmod /lib/modules/nvram.ko');
    expect(script).toContain(`power_off() { say '{"event":"power-off"}'; sync; poweroff -f; }`);
    // The two helpers for real, on a file standing in for /dev/nvram (114 bytes: CMOS 14..127).
    const dir = mkdtempSync(join(tmpdir(), 'probe-nvram-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const nvram = join(dir, 'nvram');
    writeFileSync(nvram, new Uint8Array(114));
    const helpers = script.slice(script.indexOf('cmos_get() {'), script.indexOf('power_off() {')).replaceAll('/dev/nvram', nvram);
    const out = execFileSync('sh', ['-c', `${helpers}\ncmos_set 126 3\ncmos_get 126`]).toString().trim();
    expect(out).toBe('3');
    const bytes = readFileSync(nvram);
    expect(bytes.length).toBe(114);
    expect(bytes[126 - 14]).toBe(3);
  });
  it('when /dev/nvram refuses the read (a wrong CMOS checksum, as QEMU leaves it), stores a valid checksum, reads again and says so', () => {
    const start = script.indexOf('count=$(cmos_get');
    const block = script.slice(start, script.indexOf('\n', script.indexOf('boot=$((', start)));
    const run = (firstRead: string, setcks: number) =>
      execFileSync('sh', [
        '-c',
        [
          `say() { echo "@@bootgate $1"; }`,
          // The first read is refused (empty) or not; after the checksum is stored the byte reads
          // back. cmos_get runs in a command substitution's subshell: its state lives in a file.
          `mark=$(mktemp -u); cmos_get() { if [ ! -e $mark ]; then : > $mark; printf '${firstRead}'; elif [ ${setcks} = 0 ]; then echo 2; fi; }`,
          `setcks() { return ${setcks}; }`,
          block.replaceAll('/bin/nvram-setcks', 'setcks').replaceAll('[ -c /dev/nvram ]', 'true'),
          'echo "boot=$boot"; rm -f $mark',
        ].join('\n'),
      ]).toString();
    expect(run('', 0)).toBe('@@bootgate {"event":"cmos-checksum","valid":false,"setcks":0,"readable":true}\nboot=3\n');
    expect(run('', 1)).toBe('@@bootgate {"event":"cmos-checksum","valid":false,"setcks":1,"readable":false}\nboot=1\n');
    expect(run('4', 0)).toBe('boot=5\n');
  });

  it('reports each PCI device with the sized lines of its sysfs resource file as JSON', () => {
    const loop = script.slice(script.indexOf('for dev in /sys/bus/pci/devices/*'));
    const body = loop.slice(0, loop.indexOf('\ndone\n') + 6);
    const root = mkdtempSync(join(tmpdir(), 'probe-pci-'));
    onTestFinished(() => rmSync(root, { recursive: true, force: true }));
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
