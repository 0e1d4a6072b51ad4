// The few libc entry points the KVM backend needs, bound through koffi. Pointers are BigInt
// (koffi 3). `ioctl` is declared with fixed arity per argument kind (docs/host-and-lab.md: variadic
// declarations misbehave for pointer arguments). Each worker thread loads its own bindings.

import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
export const O_RDWR = 0x2;
export const O_CLOEXEC = 0x80000;
export const EINTR = 4;
export const EAGAIN = 11;
export const SIGUSR2 = 12;

export const open = libc.func('int open(const char *path, int flags)') as (path: string, flags: number) => number;
export const close = libc.func('int close(int fd)') as (fd: number) => number;
/** ioctl with an integer (or no) argument. */
export const ioctlInt = libc.func('int ioctl(int fd, unsigned long req, unsigned long arg)') as (
  fd: number,
  req: number,
  arg: number | bigint,
) => number;
/** ioctl with a pointer to a caller-owned buffer. */
export const ioctlPtr = libc.func('int ioctl(int fd, unsigned long req, _Inout_ uint8_t *arg)') as (
  fd: number,
  req: number,
  arg: Uint8Array,
) => number;
const mmapRaw = libc.func('uint64_t mmap(uint64_t addr, size_t len, int prot, int flags, int fd, int64_t off)') as (
  addr: bigint,
  len: number,
  prot: number,
  flags: number,
  fd: number,
  off: number,
) => bigint | number;
/** mmap returning the address as BigInt (koffi returns uint64 as a number when it fits). */
export function mmap(addr: bigint, len: number, prot: number, flags: number, fd: number, off: number): bigint {
  return BigInt(mmapRaw(addr, len, prot, flags, fd, off));
}
export const munmap = libc.func('int munmap(uint64_t addr, size_t len)') as (addr: bigint, len: number) => number;
export const gettid = libc.func('int gettid()') as () => number;
export const schedYield = libc.func('int sched_yield()') as () => number;
export const getpid = libc.func('int getpid()') as () => number;
export const tgkill = libc.func('int tgkill(int tgid, int tid, int sig)') as (tgid: number, tid: number, sig: number) => number;
export const strerror = libc.func('const char *strerror(int errnum)') as (errnum: number) => string;

export function errno(): number {
  return koffi.errno();
}

/** A zero-copy ArrayBuffer over host memory at `address` (guest RAM, kvm_run). */
export function viewAt(address: bigint, length: number): ArrayBuffer {
  return koffi.view(address as never, length);
}
