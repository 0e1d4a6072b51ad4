import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchProgress, describeLabBoot } from './lab-batch-progress.js';
import { readResult } from './lab-batch.js';

describe('lab batch progress', () => {
  const boots = [
    { id: 'boot0', req: { guest: 'debian-irqtest', smp: 8, timeoutS: 90 } },
    { id: 'boot1', req: { guest: 'debian-probe', reboot: 'bios', smp: 2, timeoutS: 60, quirks: ['vmd-low-bios-only'] } },
  ];

  it('says which boot of how many started, how it ended and how long it took, from lines that arrive in pieces', () => {
    let t = 0;
    const p = batchProgress(boots, 0, () => t);
    expect(p.feed('@@batch boot0 st')).toEqual([]);
    expect(p.feed('art\n')).toEqual(['bootgate lab: [1/2] vmm:kvm@lab debian-irqtest smp8: started']);
    t = 45_250;
    expect(p.feed('@@batch boot0 exit 0\n@@batch boot1 start\n')).toEqual([
      'bootgate lab: [1/2] vmm:kvm@lab debian-irqtest smp8: done after 45.3 s',
      'bootgate lab: [2/2] vmm:kvm@lab debian-probe reboot=bios smp2 quirk=vmd-low-bios-only: started',
    ]);
    t = 60_250;
    expect(p.feed('@@batch boot1 retry\n@@batch boot1 exit 124\n')).toEqual([
      'bootgate lab: [2/2] vmm:kvm@lab debian-probe reboot=bios smp2 quirk=vmd-low-bios-only: unrequested triple fault, running it once more (the first attempt is kept)',
      'bootgate lab: [2/2] vmm:kvm@lab debian-probe reboot=bios smp2 quirk=vmd-low-bios-only: ended with exit 124 after 15.0 s',
    ]);
    expect(batchProgress(boots, 1).feed('noise\n@@batch other start\n')).toEqual([]);
    expect(batchProgress(boots, 1).feed('@@batch boot1 start\n')[0]).toMatch(/^bootgate lab VM 2: \[2\/2\]/);
    expect(batchProgress(boots, 0, () => 0, 'qemu:kvm@lab').feed('@@batch boot0 start\n')).toEqual(['bootgate lab: [1/2] qemu:kvm@lab debian-irqtest smp8: started']);
  });

  it('names a disk boot by its image, a probe by its file, the PCI test devices, and a guest its firmware when named', () => {
    expect(describeLabBoot({ guest: 'debian-probe', firmware: 'ovmf-2m', smp: 8, timeoutS: 1 })).toBe('debian-probe ovmf-2m smp8');
    expect(describeLabBoot({ firmware: 'seabios-256k', disk: '/c/images/debian-disk-ab12.raw', smp: 1, timeoutS: 1 })).toBe('disk debian-disk-ab12.raw smp1');
    expect(describeLabBoot({ firmwareFile: '/g/build/probes-rom-write-1.bin', smp: 1, timeoutS: 1 })).toBe('probes-rom-write-1.bin smp1');
    expect(describeLabBoot({ guest: 'debian-probe', pciTestDevices: ['mem64pref:32G', 'mem32:512M'], smp: 1, timeoutS: 1 })).toBe('debian-probe pci=mem64pref:32G|mem32:512M smp1');
  });
});

describe('a result boot-to-json wrote in the lab', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bootgate-lab-result-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is read back under the lab target name, keeping what QEMU observed', () => {
    const file = join(dir, 'boot0.result.json');
    writeFileSync(file, JSON.stringify({ target: 'qemu:kvm', status: 'until-matched', exitCode: 0, serial: 'probe', debugcon: '', milestones: { init: 900 }, resets: 1, wallMs: 1000, events: [{ event: 'qmp-reset', t: 5 }], stderr: '' }));
    const r = readResult(file, 'qemu:kvm@lab', 'lab stderr');
    expect(r).toMatchObject({ target: 'qemu:kvm@lab', status: 'until-matched', serial: 'probe', resets: 1, milestones: { init: 900 }, stderr: 'lab stderr' });
    expect(r.events).toEqual([{ event: 'qmp-reset', t: 5 }]);
  });

  it('without the file is an unfinished result (killed), never a pass', () => {
    const r = readResult(join(dir, 'missing.result.json'), 'qemu:kvm@lab', 'E_CONFIG: QEMU binary qemu-system-x86_64 not found');
    expect(r).toMatchObject({ target: 'qemu:kvm@lab', status: 'killed', exitCode: -1, events: [], stderr: 'E_CONFIG: QEMU binary qemu-system-x86_64 not found' });
  });
});
