// The cpio "newc" archive format (SVR4 without CRC, magic 070701), the one the Linux kernel
// unpacks as an initramfs (Documentation/driver-api/early-userspace/buffer-format.rst): per entry
// a 110-byte ASCII header of 13 eight-digit hex fields, the NUL-terminated name, padding to 4
// bytes, the data, padding to 4 bytes; the archive ends with the entry "TRAILER!!!".
// Implemented: regular files, directories, symlinks and character devices, all owned by root,
// with a fixed mtime so that the same entries always give the same bytes (the initramfs cache is
// keyed by content). Left out: hard links (nlink is 1 or 2), the CRC variant (070702), reading.

/** One archive member; paths are relative to the archive root, without a leading slash. */
export type CpioEntry =
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'char'; path: string; major: number; minor: number; mode?: number };

const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';
const HEADER_BYTES = 110;

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`cpio header field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function checkPath(path: string): void {
  if (path === '' || path.startsWith('/') || path.split('/').includes('..')) {
    throw new TypeError(`invalid cpio path ${JSON.stringify(path)}; expected a relative path without ".."`);
  }
}

interface Member {
  name: string;
  mode: number;
  nlink: number;
  data: Uint8Array;
  rdevMajor: number;
  rdevMinor: number;
}

function memberOf(entry: CpioEntry): Member {
  checkPath(entry.path);
  const base = { name: entry.path, nlink: 1, rdevMajor: 0, rdevMinor: 0, data: new Uint8Array(0) };
  switch (entry.type) {
    case 'file':
      return { ...base, mode: S_IFREG | (entry.mode ?? 0o644), data: entry.data };
    case 'dir':
      return { ...base, mode: S_IFDIR | (entry.mode ?? 0o755), nlink: 2 };
    case 'symlink':
      return { ...base, mode: S_IFLNK | 0o777, data: Buffer.from(entry.target, 'utf8') };
    case 'char':
      return { ...base, mode: S_IFCHR | (entry.mode ?? 0o600), rdevMajor: entry.major, rdevMinor: entry.minor };
  }
}

function header(m: Member, ino: number, nameBytes: number): string {
  const fields = [
    ino,
    m.mode,
    0, // uid
    0, // gid
    m.nlink,
    0, // mtime: fixed, for reproducible archives
    m.data.length,
    0, // dev major
    0, // dev minor
    m.rdevMajor,
    m.rdevMinor,
    nameBytes, // including the NUL
    0, // check (unused in newc)
  ];
  return MAGIC + fields.map(hex8).join('');
}

/** The archive bytes for `entries`, in order, followed by the trailer. */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const push = (bytes: Uint8Array): void => {
    parts.push(bytes);
    offset += bytes.length;
  };
  const members: Member[] = entries.map(memberOf);
  members.push({ name: TRAILER, mode: 0, nlink: 1, data: new Uint8Array(0), rdevMajor: 0, rdevMinor: 0 });
  members.forEach((m, i) => {
    const name = Buffer.from(`${m.name}\0`, 'utf8');
    // Inode 0 is fine for the trailer only; the kernel uses (ino, nlink) to find hard links.
    const ino = m.name === TRAILER ? 0 : i + 1;
    push(Buffer.from(header(m, ino, name.length), 'ascii'));
    push(name);
    push(new Uint8Array(pad4(HEADER_BYTES + name.length)));
    push(m.data);
    push(new Uint8Array(pad4(m.data.length)));
  });
  // The kernel accepts any length; 512-byte blocks are what cpio(1) writes.
  push(new Uint8Array((512 - (offset % 512)) % 512));
  return Buffer.concat(parts);
}
