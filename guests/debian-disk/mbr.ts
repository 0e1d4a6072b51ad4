// The first MiB of the debian-disk image: an MBR with GRUB's boot.img and a DOS partition table,
// and GRUB's core.img in the gap before partition 1, set up the way grub-bios-setup does it for a
// hard disk, without a device to install to:
//   - boot.img's code (bytes 0-439) goes into sector 0; its BPB area is unused on a hard disk;
//   - boot.img finds core.img through its kernel-sector field (0x5C, LBA 1 by default, kept);
//   - the two-byte jump at 0x66 that skips the boot-drive check becomes two NOPs, as grub-bios-setup
//     does for hard disks, so a BIOS that passes a bad drive number in DL still boots from 0x80;
//   - core.img's first sector (diskboot.img) carries a block list that grub-mkimage already filled
//     for a core.img starting at LBA 1 (start 2, length = sectors - 1); it is checked, not changed.
// Partition entries use LBA only: CHS fields hold the "beyond 8 GiB" marker (1023/254/63), which
// SeaBIOS, GRUB and Linux ignore in favour of the LBA fields.

import { BootgateError } from '../../vmm/errors.js';
import { ROOT_START_SECTOR, SECTOR } from './spec.js';

/** Offsets in boot.img (GRUB's include/grub/i386/pc/boot.h). */
const BOOT_KERNEL_SECTOR = 0x5c;
const BOOT_DRIVE_CHECK = 0x66;
const JMP_SHORT = 0xeb;
const NOP = 0x90;
/** Bytes of boot code before the disk signature and partition table. */
const MBR_CODE_BYTES = 440;
const PARTITION_TABLE = 0x1be;
const PARTITION_ENTRY = 16;
const MBR_SIGNATURE = 0x1fe;
const ACTIVE = 0x80;
const CHS_BEYOND = [0xfe, 0xff, 0xff] as const;
/** diskboot.img's first block-list entry: the last 12 bytes of its sector (start u64, length u16, segment u16). */
const BLOCKLIST_ENTRY = SECTOR - 12;

export interface Partition {
  type: number;
  startSector: number;
  sectors: number;
  active?: boolean;
}

/** Sector 0: boot.img's code, the (optional) disk signature, four partition entries, 0x55AA. */
export function buildMbr(bootImg: Uint8Array, partitions: readonly Partition[], diskSignature = 0): Uint8Array {
  if (bootImg.length !== SECTOR) throw new BootgateError('E_INTERNAL', `GRUB boot.img is ${bootImg.length} bytes, expected ${SECTOR}`);
  if (partitions.length > 4) throw new BootgateError('E_INTERNAL', `an MBR holds 4 primary partitions, asked for ${partitions.length}`);
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (view(bootImg).getUint32(BOOT_KERNEL_SECTOR, true) !== 1) {
    throw new BootgateError('E_INTERNAL', 'GRUB boot.img does not load core.img from LBA 1; the layout assumes it does');
  }
  const mbr = new Uint8Array(SECTOR);
  mbr.set(bootImg.subarray(0, MBR_CODE_BYTES));
  if (mbr[BOOT_DRIVE_CHECK] === JMP_SHORT) mbr.fill(NOP, BOOT_DRIVE_CHECK, BOOT_DRIVE_CHECK + 2);
  const v = view(mbr);
  v.setUint32(MBR_CODE_BYTES, diskSignature, true);
  partitions.forEach((p, i) => {
    if (!Number.isInteger(p.startSector) || !Number.isInteger(p.sectors) || p.startSector < 1 || p.sectors < 1 || p.startSector + p.sectors > 2 ** 32) {
      throw new BootgateError('E_INTERNAL', `partition ${i + 1} at sector ${p.startSector}+${p.sectors} does not fit an MBR entry`);
    }
    const at = PARTITION_TABLE + i * PARTITION_ENTRY;
    mbr[at] = p.active ? ACTIVE : 0;
    mbr.set(CHS_BEYOND, at + 1);
    mbr[at + 4] = p.type;
    mbr.set(CHS_BEYOND, at + 5);
    v.setUint32(at + 8, p.startSector, true);
    v.setUint32(at + 12, p.sectors, true);
  });
  mbr[MBR_SIGNATURE] = 0x55;
  mbr[MBR_SIGNATURE + 1] = 0xaa;
  return mbr;
}

/** Checks core.img's block list points at the sectors that follow it from LBA 2; returns its sector count. */
export function checkCoreImage(coreImg: Uint8Array): number {
  const sectors = Math.ceil(coreImg.length / SECTOR);
  if (sectors < 2) throw new BootgateError('E_INTERNAL', `GRUB core.img is ${coreImg.length} bytes, too small to be diskboot + kernel`);
  if (1 + sectors > ROOT_START_SECTOR) {
    throw new BootgateError('E_INTERNAL', `GRUB core.img needs ${sectors} sectors; the gap before partition 1 holds ${ROOT_START_SECTOR - 1}`, {
      hint: 'embed fewer modules in core.img',
    });
  }
  const v = new DataView(coreImg.buffer, coreImg.byteOffset, coreImg.byteLength);
  const start = v.getBigUint64(BLOCKLIST_ENTRY, true);
  const length = v.getUint16(BLOCKLIST_ENTRY + 8, true);
  if (start !== 2n || length !== sectors - 1) {
    throw new BootgateError('E_INTERNAL', `GRUB core.img's block list reads start ${start} length ${length}; expected start 2 length ${sectors - 1}`, {
      hint: 'grub-mkimage -O i386-pc fills it for a core.img at LBA 1; was another format asked for?',
    });
  }
  return sectors;
}

/** The first ROOT_START_SECTOR sectors: MBR, then core.img from LBA 1, zeros after. */
export function buildBootArea(bootImg: Uint8Array, coreImg: Uint8Array, partitions: readonly Partition[], diskSignature = 0): Uint8Array {
  checkCoreImage(coreImg);
  const area = new Uint8Array(ROOT_START_SECTOR * SECTOR);
  area.set(buildMbr(bootImg, partitions, diskSignature));
  area.set(coreImg, SECTOR);
  return area;
}
