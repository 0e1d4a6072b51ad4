// The CPUID each vCPU sees: KVM_GET_SUPPORTED_CPUID (raw kvm_cpuid2 bytes: nent, padding, then
// 40-byte kvm_cpuid_entry2 records) shaped the way QEMU shapes it for a KVM guest:
//   - leaf 1 ECX[31] "hypervisor present". KVM does not report it as supported (userspace sets it);
//     without it Linux believes it runs on bare metal, ignores the KVM leaves (no kvm-clock, PV EOI,
//     PV IPIs), calibrates the TSC against the PM timer and, when the TSC looks unstable across
//     vCPUs, keeps the ACPI PM timer as its clocksource: a port read per clock read. In the nested
//     lab that storm of PIO exits (30,000 per boot) ended in triple faults on vCPU 0 right after an
//     `in` from the PM timer (ftrace: #PF on the next instruction fetch), and slowed every boot.
//   - per vCPU: initial APIC ID (leaf 1 EBX[31:24], leaves 0xB/0x1F EDX) and the logical processor
//     count (leaf 1 EBX[23:16]).
//   - leaf 0x80000008 EAX[7:0]: the physical address width (--phys-bits).
// Left out: cache and core topology leaves (4, 0xB/0x1F level shifts, 0x8000001E) stay as KVM
// reports them; QEMU rewrites them from -smp sockets/cores/threads.

export const CPUID_ENTRY_SIZE = 40;
const HEADER_SIZE = 8;
const LEAF_FEATURES = 1;
const LEAF_EXT_TOPOLOGY = 0xb;
const LEAF_V2_EXT_TOPOLOGY = 0x1f;
const LEAF_ADDRESS_SIZES = 0x8000_0008;
/** CPUID.1:ECX bit 31. */
export const CPUID_1_ECX_HYPERVISOR = 0x8000_0000;

// Offsets inside one kvm_cpuid_entry2: function, index, flags, eax, ebx, ecx, edx.
const E_FUNCTION = 0;
const E_EAX = 12;
const E_EBX = 16;
const E_ECX = 20;
const E_EDX = 24;

export interface CpuidEntry {
  fn: number;
  index: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

function entries(cpuid: Uint8Array): { view: DataView; count: number } {
  const view = new DataView(cpuid.buffer, cpuid.byteOffset, cpuid.byteLength);
  return { view, count: view.getUint32(0, true) };
}

/** Every entry, decoded (tests, diagnostics). */
export function cpuidEntries(cpuid: Uint8Array): CpuidEntry[] {
  const { view, count } = entries(cpuid);
  const out: CpuidEntry[] = [];
  for (let e = 0; e < count; e++) {
    const o = HEADER_SIZE + e * CPUID_ENTRY_SIZE;
    out.push({
      fn: view.getUint32(o + E_FUNCTION, true),
      index: view.getUint32(o + 4, true),
      eax: view.getUint32(o + E_EAX, true),
      ebx: view.getUint32(o + E_EBX, true),
      ecx: view.getUint32(o + E_ECX, true),
      edx: view.getUint32(o + E_EDX, true),
    });
  }
  return out;
}

function findEntry(cpuid: Uint8Array, fn: number): number | undefined {
  const { view, count } = entries(cpuid);
  for (let e = 0; e < count; e++) {
    const o = HEADER_SIZE + e * CPUID_ENTRY_SIZE;
    if (view.getUint32(o + E_FUNCTION, true) === fn) return o;
  }
  return undefined;
}

/** CPUID 0x80000008 EAX[7:0]: physical address bits, if the leaf is there. */
export function cpuidPhysBits(cpuid: Uint8Array): number | undefined {
  const off = findEntry(cpuid, LEAF_ADDRESS_SIZES);
  return off === undefined ? undefined : cpuid[off + E_EAX]!;
}

/** A copy of the supported CPUID shaped for vCPU `apicId` of `vcpus` (see the header). */
export function cpuidForVcpu(supported: Uint8Array, o: { apicId: number; vcpus: number; physBits: number }): Uint8Array {
  const buf = supported.slice();
  const { view, count } = entries(buf);
  for (let e = 0; e < count; e++) {
    const off = HEADER_SIZE + e * CPUID_ENTRY_SIZE;
    const fn = view.getUint32(off + E_FUNCTION, true);
    if (fn === LEAF_FEATURES) {
      const ebx = view.getUint32(off + E_EBX, true);
      view.setUint32(off + E_EBX, ((ebx & 0xffff) | (Math.min(o.vcpus, 255) << 16) | (o.apicId << 24)) >>> 0, true);
      view.setUint32(off + E_ECX, (view.getUint32(off + E_ECX, true) | CPUID_1_ECX_HYPERVISOR) >>> 0, true);
    } else if (fn === LEAF_EXT_TOPOLOGY || fn === LEAF_V2_EXT_TOPOLOGY) {
      view.setUint32(off + E_EDX, o.apicId, true);
    } else if (fn === LEAF_ADDRESS_SIZES) {
      buf[off + E_EAX] = o.physBits;
    }
  }
  return buf;
}
