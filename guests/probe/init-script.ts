// The probe guest's /init (busybox sh). It reports on the serial console in lines the harness
// parses (`@@bootgate {json}`), then does what the kernel command line asks:
//   bootgate.reboots=N      reboot (through the kernel's reboot= method) until boot N+1, then power off
//   bootgate.irqtest=M,N,HZ run guests/irqtest/irqtest.sh for each mode in M (e.g. msi+intx): N
//                           interrupts per CPU, then a round with the PIT at HZ (0: none)
// The boot count survives resets in CMOS byte 0x7E (battery-backed on hardware, kept by QEMU and
// the own VMM across a reset, zero on a fresh start), read and written through /dev/port.
// Power-off is isa-debug-exit (port 0xF4), present on the own VMM and on qemu:* targets alike.

/** CMOS byte the probe keeps its boot count in (not used by SeaBIOS, OVMF or QEMU). */
export const PROBE_CMOS_INDEX = 0x7e;
/** Trouble lines the probe copies from dmesg (the seeds' symptoms). */
export const TROUBLE_PATTERN = 'lost interrupt|timeout|spurious|APIC error|no space for|failed to assign|can.t claim|Kernel panic';

export function probeInitScript(): string {
  return `#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null

say() { echo "@@bootgate $1"; }
# JSON string escaping for raw lines: backslash, double quote, tabs.
js() { printf '%s' "$1" | sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g' -e 's/\\t/ /g'; }
cmos_get() { printf "\\\\$(printf '%03o' $1)" | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null; dd if=/dev/port bs=1 skip=113 count=1 2>/dev/null | od -An -tu1 | tr -d ' '; }
cmos_set() { printf "\\\\$(printf '%03o' $1)" | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null; printf "\\\\$(printf '%03o' $2)" | dd of=/dev/port bs=1 seek=113 count=1 2>/dev/null; }
power_off() { say '{"event":"power-off"}'; sync; printf '\\000' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null; sleep 5; poweroff -f; }
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1"=*) echo "\${w#*=}";; esac; done; }

boot=$(( $(cmos_get ${PROBE_CMOS_INDEX}) + 1 ))
cmos_set ${PROBE_CMOS_INDEX} $boot
cpus=$(grep -c '^processor' /proc/cpuinfo)
online=$(cat /sys/devices/system/cpu/online)
say "{\\"event\\":\\"init\\",\\"boot\\":$boot,\\"cpus\\":$cpus,\\"online\\":\\"$online\\",\\"uptime\\":\\"$(cut -d' ' -f1 /proc/uptime)\\"}"

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
  for mode in $(echo "$modes" | tr '+' ' '); do
    sh /irqtest.sh "$mode" "$count" "$hz"
    rmmod bootgate_irqtest
  done
  dmesg | grep -E '${TROUBLE_PATTERN}' | while read -r line; do say "{\\"event\\":\\"trouble\\",\\"line\\":\\"$(js "$line")\\"}"; done
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
