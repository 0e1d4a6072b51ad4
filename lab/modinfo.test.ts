import { describe, expect, it } from 'vitest';
import { dependsOf, loadOrder, moduleKey, readModinfo } from './modinfo.js';

/** A minimal little-endian ELF64 with a null section, .shstrtab and .modinfo. */
function fakeModule(modinfo: string): Buffer {
  const shstrtab = Buffer.from('\0.shstrtab\0.modinfo\0', 'latin1');
  const info = Buffer.from(modinfo, 'utf8');
  const dataAt = 64;
  const shstrAt = dataAt;
  const infoAt = shstrAt + shstrtab.length;
  const shoff = Math.ceil((infoAt + info.length) / 8) * 8;
  const buf = Buffer.alloc(shoff + 3 * 64);
  buf.writeUInt32LE(0x464c457f, 0);
  buf[4] = 2; // ELFCLASS64
  buf[5] = 1; // little-endian
  buf.writeBigUInt64LE(BigInt(shoff), 0x28);
  buf.writeUInt16LE(64, 0x3a);
  buf.writeUInt16LE(3, 0x3c);
  buf.writeUInt16LE(1, 0x3e);
  shstrtab.copy(buf, shstrAt);
  info.copy(buf, infoAt);
  const section = (i: number, name: number, offset: number, size: number) => {
    const at = shoff + i * 64;
    buf.writeUInt32LE(name, at);
    buf.writeBigUInt64LE(BigInt(offset), at + 0x18);
    buf.writeBigUInt64LE(BigInt(size), at + 0x20);
  };
  section(1, 1, shstrAt, shstrtab.length);
  section(2, 11, infoAt, info.length);
  return buf;
}

describe('readModinfo', () => {
  it('reads key=value strings, repeated keys included', () => {
    const info = readModinfo(fakeModule('license=GPL\0depends=kvm,ccp\0alias=a\0alias=b\0name=kvm_amd\0'));
    expect(info.get('name')).toEqual(['kvm_amd']);
    expect(info.get('alias')).toEqual(['a', 'b']);
    expect(dependsOf(info)).toEqual(['kvm', 'ccp']);
  });

  it('an empty depends= means no dependencies', () => {
    expect(dependsOf(readModinfo(fakeModule('depends=\0name=ccp\0')))).toEqual([]);
  });

  it('names what is wrong with a file that is not a module', () => {
    expect(() => readModinfo(Buffer.from('not an elf file at all, but long enough to have a header.........'), 'x.ko')).toThrow(/x.ko is not a usable kernel module: no ELF header/);
    const noInfo = fakeModule('');
    noInfo.write('.modinfX', 64 + 11, 'latin1');
    expect(() => readModinfo(noInfo)).toThrow(/no .modinfo section/);
  });
});

describe('loadOrder', () => {
  const deps: Record<string, string[]> = {
    kvm_amd: ['kvm', 'ccp'],
    kvm: ['irqbypass'],
    ccp: [],
    irqbypass: [],
    '9p': ['9pnet', 'fscache', 'netfs'],
    fscache: ['netfs'],
    netfs: [],
    '9pnet': [],
  };
  const depends = (n: string) => deps[n] ?? [];

  it('puts every dependency before its dependents, each module once', () => {
    const order = loadOrder(['9p', 'kvm-amd'], depends);
    expect(order).toEqual(['9pnet', 'netfs', 'fscache', '9p', 'irqbypass', 'kvm', 'ccp', 'kvm_amd']);
  });

  it('treats - and _ alike, as the kernel does', () => {
    expect(moduleKey('kvm-amd')).toBe('kvm_amd');
    expect(loadOrder(['kvm-amd', 'kvm_amd'], depends).filter((m) => m === 'kvm_amd')).toHaveLength(1);
  });

  it('reports a dependency cycle with its path', () => {
    expect(() => loadOrder(['a'], (n) => (n === 'a' ? ['b'] : ['a']))).toThrow(/cycle: a -> b -> a/);
  });
});
