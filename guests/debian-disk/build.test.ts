// The parts of the image build that decide without running debootstrap: the lock comparison,
// the files put into the root, the cache key. The build itself runs in the debian-disk suite.

import { describe, expect, it } from 'vitest';
import { imageKey, imagesToEvict, lockDifferences, OTHER_IMAGE_KEEP_MS } from './build.js';
import { grubConfig, probeUnit, rootFiles, shadowWithoutRootPassword } from './root-files.js';
import { IMAGE_CMDLINE, ROOT_FS_UUID } from './spec.js';

describe('lockDifferences', () => {
  const lock = 'a=1\nb=2.0-1\nc=3\n';
  it('is empty when the installed set equals the lock, in any order', () => {
    expect(lockDifferences(lock, 'c=3\na=1\nb=2.0-1\n')).toEqual([]);
  });
  it('names a changed version, a missing package and an extra one', () => {
    expect(lockDifferences(lock, 'a=1\nb=2.0-2\nd=4\n')).toEqual(['b: locked 2.0-1, installed 2.0-2', 'c: locked 3, not installed', 'd: installed 4, not in the lock']);
  });
  it('keeps versions with colons and equals signs whole (epochs)', () => {
    expect(lockDifferences('q=1:7.2+dfsg-7\n', 'q=1:7.2+dfsg-8\n')).toEqual(['q: locked 1:7.2+dfsg-7, installed 1:7.2+dfsg-8']);
  });
});

describe('root files', () => {
  it('mounts the root by the UUID mkfs gives it, with fsck, and boots GRUB on the serial port with the image cmdline', () => {
    const { files } = rootFiles();
    const fstab = files.find((f) => f.path === '/etc/fstab')!.content as string;
    expect(fstab).toMatch(new RegExp(`^UUID=${ROOT_FS_UUID}\\t/\\text4\\t\\S+\\t0\\t1$`, 'm'));
    const cfg = grubConfig();
    expect(cfg).toMatch(/^serial --unit=0 --speed=115200$/m);
    expect(cfg).toMatch(/^terminal_output serial$/m);
    expect(cfg).toContain(IMAGE_CMDLINE);
    expect(IMAGE_CMDLINE).toContain(`root=UUID=${ROOT_FS_UUID}`);
  });

  it('enables the probe unit and masks the disk-waking timers', () => {
    const { symlinks, files } = rootFiles();
    expect(symlinks).toContainEqual({ path: '/etc/systemd/system/multi-user.target.wants/bootgate-disk-probe.service', target: '/etc/systemd/system/bootgate-disk-probe.service' });
    expect(symlinks.filter((l) => l.target === '/dev/null').map((l) => l.path)).toContain('/etc/systemd/system/apt-daily.timer');
    expect(probeUnit()).toMatch(/^Type=exec$/m);
    const script = files.find((f) => f.path === '/usr/local/sbin/bootgate-disk-probe')!;
    expect(script.mode).toBe(0o755);
    expect(Buffer.from(script.content).toString()).toMatch(/^#!\/bin\/sh/);
  });

  it('empties root password only', () => {
    expect(shadowWithoutRootPassword('root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n')).toBe('root::19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n');
  });
});

describe('imageKey', () => {
  it('is stable for the same inputs', () => {
    expect(imageKey()).toBe(imageKey());
    expect(imageKey()).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('imagesToEvict', () => {
  it('removes only other recipes\' images unused for a day; never the one just built, never another cache entry', () => {
    const now = 10 * OTHER_IMAGE_KEEP_MS;
    const folders = [
      { name: 'debian-disk-new', usedMs: 0 },
      { name: 'debian-disk-old', usedMs: now - OTHER_IMAGE_KEEP_MS - 1 },
      { name: 'debian-disk-in-use', usedMs: now - 60_000 },
      { name: 'debootstrap-debs', usedMs: 0 },
      { name: '.build-123-abcd', usedMs: 0 },
    ];
    expect(imagesToEvict(folders, 'debian-disk-new', now)).toEqual(['debian-disk-old']);
  });
});
