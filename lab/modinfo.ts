// Kernel module metadata without modinfo(8) or depmod: the `.modinfo` ELF section of a `.ko`
// holds NUL-separated `key=value` strings (name=, depends=, ...), see the kernel's
// include/linux/moduleparam.h (MODULE_INFO) and scripts/mod/modpost.c (which writes depends=).
// Debian's kernel package ships no modules.dep (depmod writes it at install time), so the lab
// computes the load order from these strings.
// Implemented: little-endian ELF64 (x86-64 modules), uncompressed `.ko`. Left out: ELF32,
// big-endian, compressed modules (.ko.xz/.ko.zst), softdeps.

import { BootgateError } from '../vmm/errors.js';

const ELF_MAGIC = 0x464c457f; // "\x7fELF" read little-endian
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;

/** Every `key=value` in the `.modinfo` section; a key may repeat (alias=, parm=). */
export function readModinfo(ko: Buffer, what = 'module'): Map<string, string[]> {
  const bad = (why: string) => new BootgateError('E_FIXTURE', `${what} is not a usable kernel module: ${why}`);
  if (ko.length < 64 || ko.readUInt32LE(0) !== ELF_MAGIC) throw bad('no ELF header');
  if (ko[4] !== ELFCLASS64 || ko[5] !== ELFDATA2LSB) throw bad('not a little-endian ELF64 file');
  const shoff = Number(ko.readBigUInt64LE(0x28));
  const shentsize = ko.readUInt16LE(0x3a);
  const shnum = ko.readUInt16LE(0x3c);
  const shstrndx = ko.readUInt16LE(0x3e);
  if (shoff + shnum * shentsize > ko.length || shstrndx >= shnum) throw bad('section headers out of bounds');
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: ko.readUInt32LE(at), offset: Number(ko.readBigUInt64LE(at + 0x18)), size: Number(ko.readBigUInt64LE(at + 0x20)) };
  };
  const names = section(shstrndx);
  const nameOf = (off: number): string => {
    const start = names.offset + off;
    const end = ko.indexOf(0, start);
    return ko.toString('latin1', start, end < 0 ? start : end);
  };
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (nameOf(s.name) !== '.modinfo') continue;
    if (s.offset + s.size > ko.length) throw bad('.modinfo out of bounds');
    const info = new Map<string, string[]>();
    for (const item of ko.toString('utf8', s.offset, s.offset + s.size).split('\0')) {
      const eq = item.indexOf('=');
      if (eq <= 0) continue;
      const key = item.slice(0, eq);
      info.set(key, [...(info.get(key) ?? []), item.slice(eq + 1)]);
    }
    return info;
  }
  throw bad('no .modinfo section');
}

/** `kvm-amd` and `kvm_amd` are the same module to the kernel. */
export function moduleKey(name: string): string {
  return name.replaceAll('-', '_');
}

/** The modules a `.modinfo` says must be loaded first (`depends=a,b`). */
export function dependsOf(info: Map<string, string[]>): string[] {
  return (info.get('depends') ?? []).flatMap((d) => d.split(',')).filter((d) => d !== '');
}

/**
 * Dependencies before dependents, each module once, `roots` in their given order otherwise.
 * `depends(name)` returns a module's direct dependencies; a cycle is an error.
 */
export function loadOrder(roots: readonly string[], depends: (name: string) => readonly string[]): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    const key = moduleKey(name);
    const s = state.get(key);
    if (s === 'done') return;
    if (s === 'visiting') {
      throw new BootgateError('E_FIXTURE', `kernel module dependency cycle: ${[...path, key].join(' -> ')}`);
    }
    state.set(key, 'visiting');
    for (const dep of depends(key)) visit(dep, [...path, key]);
    state.set(key, 'done');
    order.push(key);
  };
  for (const root of roots) visit(root, []);
  return order;
}
