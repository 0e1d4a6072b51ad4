import { describe, expect, it } from 'vitest';
import { CPUID_1_ECX_HYPERVISOR, CPUID_ENTRY_SIZE, cpuidEntries, cpuidForVcpu, cpuidPhysBits } from './cpuid.js';

/** A kvm_cpuid2 blob the way KVM_GET_SUPPORTED_CPUID returns it. */
function blob(list: Array<[fn: number, index: number, eax: number, ebx: number, ecx: number, edx: number]>): Uint8Array {
  const buf = new Uint8Array(8 + list.length * CPUID_ENTRY_SIZE);
  const v = new DataView(buf.buffer);
  v.setUint32(0, list.length, true);
  list.forEach(([fn, index, eax, ebx, ecx, edx], i) => {
    const o = 8 + i * CPUID_ENTRY_SIZE;
    v.setUint32(o, fn, true);
    v.setUint32(o + 4, index, true);
    [eax, ebx, ecx, edx].forEach((r, j) => v.setUint32(o + 12 + 4 * j, r, true));
  });
  return buf;
}

const SUPPORTED = blob([
  [0, 0, 0xd, 0x68747541, 0x444d4163, 0x69746e65],
  [1, 0, 0x60fb1, 0x00000800, 0x76f83203, 0x178bfbff],
  [0xb, 0, 0x1, 0x1, 0x100, 0],
  [0xb, 1, 0x4, 0x2, 0x201, 0],
  [0x4000_0000, 0, 0x4000_0001, 0x4b4d564b, 0x564b4d56, 0x4d],
  [0x8000_0008, 0, 0x3028, 0, 0, 0],
]);

describe('cpuidForVcpu', () => {
  const vcpu3 = cpuidEntries(cpuidForVcpu(SUPPORTED, { apicId: 3, vcpus: 8, physBits: 36 }));
  const leaf = (fn: number, index = 0) => vcpu3.find((e) => e.fn === fn && e.index === index)!;

  it('sets "hypervisor present" (CPUID.1:ECX[31]) so Linux uses the KVM leaves and kvm-clock', () => {
    expect(cpuidEntries(SUPPORTED)[1]!.ecx & CPUID_1_ECX_HYPERVISOR).toBe(0);
    expect(leaf(1).ecx >>> 0).toBe((0x76f83203 | CPUID_1_ECX_HYPERVISOR) >>> 0);
  });

  it('gives each vCPU its APIC ID and the processor count, keeping the other leaf 1 bits', () => {
    expect(leaf(1).ebx >>> 24).toBe(3);
    expect((leaf(1).ebx >>> 16) & 0xff).toBe(8);
    expect(leaf(1).ebx & 0xffff).toBe(0x0800);
    expect(leaf(0xb, 0).edx).toBe(3);
    expect(leaf(0xb, 1).edx).toBe(3);
    expect(leaf(0xb, 1).ebx).toBe(2);
  });

  it('advertises the requested physical address width, leaving the linear width', () => {
    expect(leaf(0x8000_0008).eax).toBe(0x3024);
    expect(cpuidPhysBits(cpuidForVcpu(SUPPORTED, { apicId: 0, vcpus: 1, physBits: 46 }))).toBe(46);
  });

  it('leaves the supported table itself untouched and other leaves as KVM reported them', () => {
    expect(cpuidPhysBits(SUPPORTED)).toBe(0x28);
    expect(leaf(0x4000_0000)).toEqual(cpuidEntries(SUPPORTED)[4]);
  });
});
