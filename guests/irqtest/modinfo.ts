// What modinfo(8) prints, read straight from a kernel module's `.modinfo` ELF section: NUL-separated
// `key=value` strings (linux/moduleparam.h MODULE_INFO). The host may lack kmod, and a module built
// for the guest is never loaded here, so bootgate reads the section itself.
// Subset: 64-bit little-endian ELF (x86-64 modules); compressed (.ko.xz/.zst) modules are not read.

import { readFile } from 'node:fs/promises';
import { BootgateError } from '../../vmm/errors.js';

/** Every key with its values in file order (`alias`, `parm` and `depends` can repeat). */
export type Modinfo = Record<string, string[]>;

const ELF_MAGIC = 0x464c_457f;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;

function cstring(buf: Buffer, offset: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('latin1', offset, end < 0 ? buf.length : end);
}

/** Parse the `.modinfo` section of an ELF64 little-endian module image. */
export function parseModinfo(image: Buffer, what = 'module'): Modinfo {
  const bad = (why: string) => new BootgateError('E_FIXTURE', `${what} is not a readable kernel module: ${why}`);
  if (image.length < 64 || image.readUInt32LE(0) !== ELF_MAGIC) throw bad('no ELF header');
  if (image[4] !== ELFCLASS64 || image[5] !== ELFDATA2LSB) throw bad('not 64-bit little-endian ELF');
  const shoff = Number(image.readBigUInt64LE(0x28));
  const shentsize = image.readUInt16LE(0x3a);
  const shnum = image.readUInt16LE(0x3c);
  const shstrndx = image.readUInt16LE(0x3e);
  if (shoff + shnum * shentsize > image.length || shstrndx >= shnum) throw bad('section headers outside the file');
  const section = (i: number) => {
    const h = shoff + i * shentsize;
    return { name: image.readUInt32LE(h), offset: Number(image.readBigUInt64LE(h + 0x18)), size: Number(image.readBigUInt64LE(h + 0x20)) };
  };
  const names = section(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (cstring(image, names.offset + s.name) !== '.modinfo') continue;
    if (s.offset + s.size > image.length) throw bad('.modinfo outside the file');
    const info: Modinfo = {};
    for (const entry of image.toString('latin1', s.offset, s.offset + s.size).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq <= 0) continue;
      (info[entry.slice(0, eq)] ??= []).push(entry.slice(eq + 1));
    }
    return info;
  }
  throw bad('no .modinfo section');
}

export async function readModinfo(path: string): Promise<Modinfo> {
  return parseModinfo(await readFile(path), path);
}

/** The module's vermagic, trailing blank removed ("6.1.0-56-cloud-amd64 SMP preempt mod_unload modversions"). */
export function vermagicOf(info: Modinfo): string | undefined {
  return info.vermagic?.[0]?.trim();
}
