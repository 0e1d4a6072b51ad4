// The fw_cfg items QEMU 7.2's `pc` machine offers for a firmware-only boot (no -kernel, no ACPI
// table-loader yet). Follows QEMU hw/i386/fw_cfg.c fw_cfg_arch_create, hw/nvram/fw_cfg.c
// fw_cfg_common_realize/fw_cfg_reboot/get_boot_devices_list, hw/acpi/core.c acpi_pm1_cnt_init,
// and the QEMU 7.2 figures in docs/qemu-7.2-reference.md.
//
// How SeaBIOS rel-1.16.2 reads each (src/fw/paravirt.c unless noted):
// - 0x00 SIGNATURE by port (4 x inb), then 0x01 ID; DMA is used from then on when ID bit 1 is set.
//   (The FwCfg constructor adds both, as QEMU's fw_cfg_common_realize does.)
// - `etc/e820` (qemu_early_e820, before malloc): RAM entries set RamSize/RamSizeOver4G, RESERVED
//   entries are added; CMOS 0x34/0x35, 0x5B-0x5D are only its fallback when the file is missing.
// - 0x05 NB_CPUS (u16): present CPUs = max(NB_CPUS, CMOS 0x5F + 1); smp.c then waits until that
//   many CPUs checked in, so it must be the real vCPU count.
// - 0x0F MAX_CPUS (u16) as "etc/max-cpus": MaxCountCPUs; the MP table and PIR are built only
//   when it is <= 255. QEMU stores the APIC-ID limit here (= maxCpus with a flat topology).
// - 0x04 NOGRAPHIC (u16): non-zero makes SeaBIOS register "etc/sercon-port" = 0x3F8 (its serial
//   console) unless that file or vgaroms/sgabios.bin exists.
// - 0x03 RAM_SIZE: SeaBIOS does not read it; OVMF and the Linux fw_cfg driver may. QEMU adds it.
// - `bootorder` (boot.c loadBootOrder): lines split on '\n', NUL-terminated; matched by glob
//   against paths such as "/rom@genroms/linuxboot_dma.bin" and "HALT".
// - `etc/boot-fail-wait` (boot.c): ms to wait after "No bootable device." before rebooting;
//   0xFFFFFFFF waits forever. Absent, SeaBIOS retries after 60 s; QEMU always adds it (default -1).
// - `etc/system-states`: SeaBIOS reads it only for its own fallback ACPI tables (no table-loader):
//   _S3/_S4 presence and the S4 SLP_TYP. OVMF's QemuFwCfgS3Enabled() tests byte 3 bit 7 and then
//   turns on S3 support (LockBox, S3 boot script, ACPI NVS reservations), which changes OVMF's
//   memory map: we expose QEMU's PIIX4 defaults so that map matches QEMU's.
//
// Extra items SeaBIOS asks for that change behaviour:
// - 0x8002 IRQ0_OVERRIDE ("etc/irq0-override", 1 byte of QEMU's u32 1): non-zero makes the MP table
//   (and SeaBIOS's fallback MADT) route ISA IRQ0 to IOAPIC pin 2, as QEMU's KVM GSI routing does.
//   Added by default (opts.irq0Override); the machine must route the PIT to pin 2 to match, which
//   docs/platform.md's MADT override 0->2 requires anyway.
// - 0x0E BOOT_MENU ("etc/show-boot-menu"): not added; the key then reads 0, QEMU's default, so no
//   "Press ESC for boot menu" prompt and no 2.5 s wait. Adding 1 would add that wait.
// - 0x0D NUMA, 0x8000 ACPI_TABLES, 0x8001 SMBIOS_ENTRIES: not added; zeros read exactly as QEMU's
//   no-NUMA, no -acpitable, file-based-SMBIOS content does.
// - Files not added here that SeaBIOS acts on when present: etc/table-loader (moves PMBASE to
//   0x600 and replaces its own ACPI tables), etc/smbios/* (else it builds SMBIOS itself),
//   genroms/*, etc/msr_feature_control (QEMU adds it when the vCPU has VMX: SeaBIOS then writes
//   IA32_FEATURE_CONTROL on every CPU, which nested guests need), etc/reserved-memory-end (base of
//   64-bit BARs), etc/extra-pci-roots, etc/boot-menu-wait, etc/sercon-port, etc/threads.
// Left out: SMBIOS, ACPI, option ROMs, the kernel/initrd/cmdline/setup keys (their own modules).

import { configError } from '../../errors.js';
import { buildE820, pcE820 } from './e820.js';
import type { FwCfg } from './fwcfg.js';
import { FwCfgArchKey, FwCfgKey } from './fwcfg-keys.js';

export interface PcFwCfgOptions {
  /** vCPUs started at boot (NB_CPUS). */
  cpus: number;
  /** Upper bound on vCPUs / APIC-ID limit (MAX_CPUS), >= cpus. */
  maxCpus: number;
  ramBelow4G: number;
  ramAbove4G: number;
  /** No display: SeaBIOS turns on its serial console. */
  nographic: boolean;
  /** Open Firmware device paths, most preferred first; `bootorder` is added only when given. */
  bootorder?: string[];
  /** `etc/boot-fail-wait` in ms; -1 (or 0xFFFFFFFF) waits forever. Added only when given. */
  bootFailWaitMs?: number;
  /** Add IRQ0_OVERRIDE = 1 as QEMU does (default true). */
  irq0Override?: boolean;
}

/**
 * `etc/system-states`: one byte per S-state S0..S5; bit 7 = state enabled, bits 2..0 = the SLP_TYP
 * value firmware writes to PM1a_CNT. QEMU's PIIX4 defaults (disable_s3=0, disable_s4=0, s4_val=2):
 * S0 on (0), S1/S2 off, S3 on (SLP_TYP 1), S4 on (SLP_TYP 2), S5 on (SLP_TYP 0): "80 00 00 81 82 80"
 * as QEMU 7.2's pc sets it (docs/platform.md).
 */
export const PC_SYSTEM_STATES: readonly number[] = [0x80, 0x00, 0x00, 0x81, 0x82, 0x80];

/** `bootorder` bytes as QEMU builds them: entries joined by '\n', then one NUL. */
export function encodeBootorder(entries: readonly string[]): Uint8Array {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw configError('bootorder', entries, 'a non-empty array of device paths (omit it for none)');
  }
  for (const e of entries) {
    if (typeof e !== 'string' || e.length === 0 || !/^[\x21-\x7e]+$/.test(e)) {
      throw configError('bootorder entry', e, 'a non-empty printable ASCII path without spaces');
    }
  }
  const text = entries.join('\n');
  const bytes = new Uint8Array(text.length + 1);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** fw_cfg file OVMF reads the size of its 64-bit PCI aperture from (PlatformInitLib, seed 004). */
export const OVMF_PCI_MMIO64_FILE = 'opt/ovmf/X-PciMmio64Mb';

/**
 * Its content: the size in MiB as decimal ASCII without a terminating NUL, byte for byte what
 * QEMU's `-fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=N` stores (OVMF's QemuFwCfgParseUint64 takes
 * the item's whole size as the number's text).
 */
export function encodePciMmio64Mb(mib: number): Uint8Array {
  if (!Number.isSafeInteger(mib) || mib < 1) throw configError('pciMmio64Mb', mib, 'a positive number of MiB');
  return new TextEncoder().encode(String(mib));
}

/** Add the items a `pc` firmware-only boot needs (see the header for what reads them). */
export function populatePcFwCfg(fw: FwCfg, opts: PcFwCfgOptions): void {
  const { cpus, maxCpus, ramBelow4G, ramAbove4G, nographic } = opts;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 0xffff) throw configError('cpus', cpus, 'an integer 1-65535');
  if (!Number.isInteger(maxCpus) || maxCpus < cpus || maxCpus > 0xffff) {
    throw configError('maxCpus', maxCpus, `an integer ${cpus}-65535 (at least cpus)`);
  }
  if (typeof nographic !== 'boolean') throw configError('nographic', nographic, 'a boolean');
  const e820 = buildE820(pcE820({ ramBelow4G, ramAbove4G }));

  fw.addU64(FwCfgKey.RAM_SIZE, ramBelow4G + ramAbove4G);
  fw.addU16(FwCfgKey.NOGRAPHIC, nographic ? 1 : 0);
  fw.addU16(FwCfgKey.NB_CPUS, cpus);
  fw.addU16(FwCfgKey.MAX_CPUS, maxCpus);
  if (opts.irq0Override ?? true) fw.addU32(FwCfgArchKey.IRQ0_OVERRIDE, 1);

  // Added in name order, which is how QEMU 7.2 (non-legacy machine types) sorts its directory.
  if (opts.bootorder !== undefined) fw.addFile('bootorder', encodeBootorder(opts.bootorder));
  if (opts.bootFailWaitMs !== undefined) fw.addFile('etc/boot-fail-wait', bootFailWait(opts.bootFailWaitMs));
  fw.addFile('etc/e820', e820);
  fw.addFile('etc/system-states', Uint8Array.from(PC_SYSTEM_STATES));
}

function bootFailWait(ms: number): Uint8Array {
  if (!Number.isInteger(ms) || ms < -1 || ms > 0xffff_ffff) {
    throw configError('bootFailWaitMs', ms, 'an integer in ms, 0-0xffffffff, or -1 for forever');
  }
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, ms >>> 0, true);
  return bytes;
}
