// What the debian-disk image is: a Debian 12 system (bookworm main, point release 12.15, frozen)
// installed by debootstrap, booted by GRUB from the MBR of a raw disk, its root an ext4 partition,
// followed by a partition of random bytes that no file system owns, which the in-guest probe reads
// back under load and the harness checksums from the image file (docs/debian-disk.md).
//
// Disk layout (512-byte sectors):
//   0            MBR: GRUB's boot.img (code), partition table, 0x55AA
//   1 .. 2047    GRUB's core.img (diskboot + kernel + biosdisk, part_msdos, ext2), in the MBR gap
//   2048 ..      partition 1, type 0x83, active: the root file system (ext4, ROOT_FS_UUID)
//   then         partition 2, type 0xda (non-fs data): PATTERN_MIB of random bytes

/** The frozen suite the image is installed from (the fixtures' suite, docs/fixtures.md). */
export const IMAGE_SUITE = 'bookworm';
/** Packages beyond debootstrap's minbase: an init, device manager, fsck, the pinned kernel, GRUB's BIOS images. */
export const IMAGE_INCLUDES = ['systemd-sysv', 'udev', 'kmod', 'e2fsprogs', 'procps', 'linux-image-6.1.0-50-amd64', 'grub-pc-bin'] as const;
/** The kernel release inside the image: the same build as the generic-kernel fixture. */
export const IMAGE_KERNEL_RELEASE = '6.1.0-50-amd64';
/** Modules the initramfs carries (MODULES=list): the disk controller, the SCSI disk layer, the root fs. */
export const INITRAMFS_MODULES = ['ata_piix', 'sd_mod', 'ext4'] as const;

export const SECTOR = 512;
export const MIB = 1024 * 1024;
/** Partition 1 starts at 1 MiB, leaving sectors 1-2047 for core.img, as partitioning tools align. */
export const ROOT_START_SECTOR = 2048;
/** Root file system size: the installed system is about 450 MiB once the package cache is dropped. */
export const ROOT_MIB = 1024;
/** The random region the probe reads: 8 MiB per CPU at SMP 8. */
export const PATTERN_MIB = 64;
export const PATTERN_START_SECTOR = ROOT_START_SECTOR + (ROOT_MIB * MIB) / SECTOR;
export const DISK_SECTORS = PATTERN_START_SECTOR + (PATTERN_MIB * MIB) / SECTOR;
/** MBR partition types: Linux, and "non-fs data" for the pattern. */
export const PART_TYPE_LINUX = 0x83;
export const PART_TYPE_NON_FS_DATA = 0xda;

/** Fixed so fstab and the kernel command line can name the root before mkfs runs. */
export const ROOT_FS_UUID = 'b0079a7e-d15c-4b00-8d00-000000000001';
export const HOSTNAME = 'bootgate-disk';

/**
 * The kernel command line GRUB passes. ttyS0 is the console (and systemd's getty there); `quiet`
 * keeps the console to errors, since every byte on the UART is a VM exit: the probe reads the whole
 * kernel log with dmesg. `systemd.show_status=error` still shows failed units on the console.
 */
export const IMAGE_CMDLINE = `root=UUID=${ROOT_FS_UUID} ro console=ttyS0,115200 quiet systemd.show_status=error`;

/** The prompt serial-getty@ttyS0 prints: the boot's end, as a user at the console sees it. */
export const LOGIN_PROMPT = `${HOSTNAME} login:`;
