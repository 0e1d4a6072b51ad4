import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostKvmCapability } from './capability.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fake /sys/module with `modules` and, when `device`, a fake /dev/kvm. */
function host(modules: string[], device: boolean): { device: string; sysModule: string } {
  const root = mkdtempSync(join(tmpdir(), 'bootgate-cap-'));
  dirs.push(root);
  const sysModule = join(root, 'sys-module');
  for (const m of modules) mkdirSync(join(sysModule, m), { recursive: true });
  const dev = join(root, 'kvm');
  if (device) writeFileSync(dev, '');
  return { device: dev, sysModule };
}

describe('hostKvmCapability', () => {
  it('PVM: /dev/kvm works but cannot run native guests, and the reason points at the lab', () => {
    const cap = hostKvmCapability(host(['kvm', 'kvm_pvm'], true));
    expect(cap).toMatchObject({ nativeGuests: false, module: 'kvm_pvm', device: true });
    expect(cap.reason).toMatch(/PVM.*@lab/);
  });

  it('the PVM module without a device node (a container): says the device is missing, not that it is PVM', () => {
    const cap = hostKvmCapability(host(['kvm', 'kvm_pvm'], false));
    expect(cap).toMatchObject({ nativeGuests: false, module: 'kvm_pvm', device: false });
    expect(cap.reason).toMatch(/does not exist \(the kvm_pvm module is loaded, but no device node is here.*@lab/);
  });

  it('no /dev/kvm: says whether a kvm module is loaded at all', () => {
    expect(hostKvmCapability(host([], false)).reason).toMatch(/does not exist: no kvm module is loaded/);
    expect(hostKvmCapability(host(['kvm'], false)).reason).toMatch(/no vendor module/);
  });

  it('no permission: names the group to join', ({ skip }) => {
    if (process.getuid?.() === 0) skip('running as root: a mode-000 /dev/kvm stand-in does not stop root, so EACCES cannot be produced here');
    const roots = host(['kvm', 'kvm_intel'], true);
    writeFileSync(roots.device, '', { mode: 0o000 });
    expect(hostKvmCapability(roots).reason).toMatch(/no permission.*kvm/);
  });

  it('hardware virtualization with access: native guests, and the vendor module', () => {
    expect(hostKvmCapability(host(['kvm', 'kvm_amd'], true))).toEqual({ nativeGuests: true, module: 'kvm_amd', device: true });
  });
});
