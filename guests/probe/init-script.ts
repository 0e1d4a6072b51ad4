// The probe guest's /init (busybox sh). It reports on the serial console in lines the harness
// parses (`@@bootgate {json}`), then does what the kernel command line asks:
//   bootgate.reboots=N      reboot (through the kernel's reboot= method) until boot N+1, then power off
//   bootgate.irqtest=M,N,HZ run guests/irqtest/irqtest.sh for each mode in M (e.g. msi+intx): N
//                           interrupts per CPU, then a round with the PIT at HZ (0: none); with
//                           the first mode also N IPIs from CPU 0 and from the last CPU to the others
//   bootgate.hang=1         hang before reporting init (a guest that never gets there: the
//                           harness's timeout path)
//   bootgate.efivar=TOKEN   (UEFI boots) report the value of the probe's UEFI variable
//                           (BootgateProbe-<PROBE_EFIVAR_GUID>) in an `efivar` line, and
//                           when it has none, create it holding TOKEN (non-volatile, boot
//                           service and runtime access), through efivarfs
// The boot count survives resets in CMOS byte 0x7E (battery-backed on hardware, kept by QEMU and
// the own VMM across a reset, zero on a fresh start), read and written through /dev/nvram (the
// cloud kernel has no /dev/port; nvram.ko comes from the same kernel package). The driver refuses
// both while the CMOS checksum (bytes 0x10-0x2D, stored at 0x2E-0x2F) is wrong, which QEMU's `pc`
// leaves it: then the probe stores a valid one (bin/nvram-setcks, NVRAM_SETCKS) and says so in a
// `cmos-checksum` line. Power-off is ACPI S5 (poweroff -f), which the own VMM and QEMU both implement.

/** CMOS byte the probe keeps its boot count in (not used by SeaBIOS, OVMF or QEMU). */
export const PROBE_CMOS_INDEX = 0x7e;
/** The vendor GUID of the probe's UEFI variable (BootgateProbe-<guid>): bootgate's own, random. */
export const PROBE_EFIVAR_GUID = '5d1a8c3e-6f2b-4b8e-9a47-b0a7c4e2f913';
/** Trouble lines the probe copies from dmesg (the seeds' symptoms). */
export const TROUBLE_PATTERN = 'lost interrupt|timeout|spurious|APIC error|No irq handler for vector|no space for|failed to assign|can.t claim|Kernel panic';

export function probeInitScript(): string {
  return `#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
# The probe's own work (and so its serial reporting) stays on CPU 0: a console byte written from an
# AP costs the own VMM a hand-over to the device-owner thread (~2 ms a byte in the nested lab, 4x
# the BSP's), which made reporting dominate the SMP runs. Tests that need another CPU pin there.
taskset -p 1 $$ >/dev/null 2>&1
# The 8250 driver sends console bytes from its interrupt handler (THRE), on whichever CPU IRQ 4 is
# routed to (measured: CPU 5 of 8, every byte a hand-over, 4.7 ms a byte in the lab); route it to
# CPU 0 too. The interrupt suite moves only its own test device's IRQ.
echo 1 > /proc/irq/4/smp_affinity 2>/dev/null
# Kernel messages stay off the console (the probe reads dmesg itself): printed there they split
# the probe's lines (seen: 'No irq handler for vector' inside an irqtest-round line).
dmesg -n 1
insmod /lib/modules/nvram.ko 2>/dev/null

say() { echo "@@bootgate $1"; }
# JSON string escaping for raw lines: backslash, double quote, tabs.
js() { printf '%s' "$1" | sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g' -e 's/\\t/ /g'; }
# CMOS byte N is /dev/nvram offset N-14: the driver hides the clock and status registers.
cmos_get() { dd if=/dev/nvram bs=1 skip=$(( $1 - 14 )) count=1 2>/dev/null | od -An -tu1 | tr -d ' '; }
cmos_set() { printf "\\\\$(printf '%03o' $2)" | dd of=/dev/nvram bs=1 seek=$(( $1 - 14 )) count=1 conv=notrunc 2>/dev/null; }
power_off() { say '{"event":"power-off"}'; sync; poweroff -f; }
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1"=*) echo "\${w#*=}";; esac; done; }
if [ -n "$(arg bootgate.hang)" ]; then while :; do sleep 3600; done; fi

[ -c /dev/nvram ] || say '{"event":"error","what":"no /dev/nvram (nvram.ko did not load): the boot count cannot survive a reboot"}'
count=$(cmos_get ${PROBE_CMOS_INDEX})
if [ -z "$count" ] && [ -c /dev/nvram ]; then
  /bin/nvram-setcks; rc=$?
  count=$(cmos_get ${PROBE_CMOS_INDEX})
  say "{\\"event\\":\\"cmos-checksum\\",\\"valid\\":false,\\"setcks\\":$rc,\\"readable\\":$([ -n "$count" ] && echo true || echo false)}"
fi
boot=$(( \${count:-0} + 1 ))
cmos_set ${PROBE_CMOS_INDEX} $boot
cpus=$(grep -c '^processor' /proc/cpuinfo)
# The physical address width CPUID 0x80000008 gave the kernel ("address sizes : 40 bits physical").
physbits=$(sed -n 's/^address sizes[^0-9]*\\([0-9]*\\) bits physical.*/\\1/p' /proc/cpuinfo | head -n 1)
online=$(cat /sys/devices/system/cpu/online)
# Whether the kernel was started by UEFI firmware (OVMF): the EFI stub leaves /sys/firmware/efi.
efi=false; [ -d /sys/firmware/efi ] && efi=true
say "{\\"event\\":\\"init\\",\\"boot\\":$boot,\\"cpus\\":$cpus,\\"online\\":\\"$online\\",\\"efi\\":$efi,\\"physBits\\":\${physbits:-null},\\"uptime\\":\\"$(cut -d' ' -f1 /proc/uptime)\\"}"

dmesg | grep -E '${TROUBLE_PATTERN}' | while read -r line; do say "{\\"event\\":\\"trouble\\",\\"line\\":\\"$(js "$line")\\"}"; done
# Linux's view of each PCI device's resources (BARs 0-5, ROM 6): [index, start, end, flags] for
# every line of /sys/.../resource with a size (an unassigned BAR keeps start 0, end size-1).
for dev in /sys/bus/pci/devices/*; do
  bars=$(awk '$2 != "0x0000000000000000" { printf "%s[%d,\\"%s\\",\\"%s\\",\\"%s\\"]", (n++ ? "," : ""), NR - 1, $1, $2, $3 }' $dev/resource)
  say "{\\"event\\":\\"pci\\",\\"bdf\\":\\"\${dev##*/}\\",\\"id\\":\\"$(cat $dev/vendor):$(cat $dev/device)\\",\\"bars\\":[$bars]}"
done
grep -E '^ *[0-9]+:|^ *(LOC|NMI|ERR|MIS):' /proc/interrupts | while read -r line; do say "{\\"event\\":\\"interrupts\\",\\"line\\":\\"$(js "$line")\\"}"; done

irqtest=$(arg bootgate.irqtest)
if [ -n "$irqtest" ]; then
  IFS=, read -r modes count hz <<EOT
$irqtest
EOT
  ipi=1
  for mode in $(echo "$modes" | tr '+' ' '); do
    sh /irqtest.sh "$mode" "$count" "$hz" "$ipi"
    rmmod bootgate_irqtest
    ipi=0
  done
  dmesg | grep -E '${TROUBLE_PATTERN}' | while read -r line; do say "{\\"event\\":\\"trouble\\",\\"line\\":\\"$(js "$line")\\"}"; done
fi

efivar=$(arg bootgate.efivar)
if [ -n "$efivar" ]; then
  # The variable file holds 4 bytes of attributes (0x7: non-volatile, boot service, runtime), then
  # the value. A new file is created with one write; an existing one is left alone.
  insmod /lib/modules/efivarfs.ko 2>/dev/null
  mounted=false
  [ -d /sys/firmware/efi/efivars ] && mount -t efivarfs efivarfs /sys/firmware/efi/efivars 2>/dev/null && mounted=true
  var=/sys/firmware/efi/efivars/BootgateProbe-${PROBE_EFIVAR_GUID}
  found=""; wrote=""
  [ -f $var ] && found=$(tail -c +5 $var)
  if $mounted && [ -z "$found" ]; then
    printf '\\007\\000\\000\\000%s' "$efivar" > $var 2>/dev/null && wrote=$efivar
  fi
  say "{\\"event\\":\\"efivar\\",\\"boot\\":$boot,\\"mounted\\":$mounted,\\"found\\":\\"$(js "$found")\\",\\"wrote\\":\\"$(js "$wrote")\\"}"
fi

reboots=$(arg bootgate.reboots)
if [ -n "$reboots" ] && [ "$boot" -le "$reboots" ]; then
  say "{\\"event\\":\\"reboot\\",\\"boot\\":$boot,\\"method\\":\\"$(arg reboot)\\"}"
  sync
  reboot -f
  sleep 10
  say '{"event":"error","what":"reboot returned"}'
fi
say '{"event":"done"}'
power_off
`;
}
