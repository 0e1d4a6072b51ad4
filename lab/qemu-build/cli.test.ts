// When the bootstrap's --if-lab builds the patched QEMU: only where the own VMM will run OVMF in
// the nested lab; every other host is told why not in one line.

import { describe, expect, test } from 'vitest';
import { labNeedsNoBuild } from './cli.js';

describe('lab QEMU build --if-lab', () => {
  const onPath = { PATH: process.env.PATH };
  test('a Linux host without /dev/kvm, or with a PVM one, builds it (when a lab can start)', () => {
    const why = labNeedsNoBuild(onPath, () => true, 'linux');
    // This host may lack QEMU; then the reason names the lab, never another cause.
    if (why !== undefined) expect(why).toMatch(/^the nested lab cannot run here: /);
  });
  test('a host with VT-x/SVM /dev/kvm, a BSD host, a lab VM and a $QEMU of the user build nothing, and say why', () => {
    expect(labNeedsNoBuild(onPath, () => false, 'linux')).toMatch(/without the lab/);
    expect(labNeedsNoBuild(onPath, () => true, 'freebsd')).toBe('the nested lab runs on Linux hosts; this is freebsd');
    expect(labNeedsNoBuild({ ...onPath, QEMU: '/opt/q' }, () => true, 'linux')).toMatch(/\$QEMU names/);
    expect(labNeedsNoBuild({ ...onPath, BOOTGATE_LAB: '1' }, () => true, 'linux')).toMatch(/already inside the nested lab/);
  });
});
