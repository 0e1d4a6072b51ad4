#!/bin/sh
# bootgate's probe inside the debian-disk image, started by bootgate-disk-probe.service once the
# system is up. Everything it finds goes to the serial console as `bootgate-disk: KEY VALUE...`
# lines that guests/debian-disk/report.ts parses; it never judges, the harness does.
#   1. wait for systemd to finish starting (running or degraded) and for agetty on ttyS0 to sit at
#      its prompt, then report the CPUs online, the failed units, how the disk is driven (the
#      driver bound, libata's transfer mode);
#   2. a sustained read of the pattern partition (/dev/sda2) with O_DIRECT, so every block comes
#      from the device: for each online CPU in turn, IRQ 14 is routed to that CPU alone, BLOCK_MIB
#      MiB are read and checksummed, and IRQ 14's per-CPU counts before and after are reported;
#   3. one more read, IRQ 14 on CPU 0, while PIT channel 0 raises IRQ 0 at TIMER_HZ (programmed
#      through /dev/port as a rate generator, then shut down the way Linux's pit_shutdown does):
#      the disk interrupt must get through a fast timer (seed 002: IRQ 0 starving IRQ 14);
#   4. the root made read-only, the disk's write cache and stop-at-shutdown switched off (so no
#      command runs after the count), then IRQ 14's final per-CPU counts and the kernel log's
#      trouble lines; then power-off without stopping units.
# A read phase is cut off after read_limit_s and reported with sha256 failed-<dd's status>.
# The pattern offset and size come from the kernel command line: bootgate.disk=BLOCK_MIB.

set -u
say() { echo "bootgate-disk: $*" > /dev/ttyS0; }
irq_row() { awk -v irq="$2:" '$1 == irq { n = 0; for (i = 2; i <= cpus + 1; i++) printf "%s%s", (n++ ? " " : ""), $i; print "" }' cpus="$1" /proc/interrupts; }
sum() { echo "$1" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; print s }'; }
outb() { printf "\\$(printf %03o "$2")" | dd of=/dev/port bs=1 seek="$1" count=1 conv=notrunc status=none; }
irq14() { irq_row "$1" 14; }

block_mib=8
read_limit_s=90
# PIT channel 0: 1193182 Hz / 597 = 1998.6 Hz (the latch of a 2 kHz rate generator).
timer_hz=2000
timer_latch=597
for word in $(cat /proc/cmdline); do
  case "$word" in bootgate.disk=*) block_mib="${word#bootgate.disk=}" ;; esac
done

# agetty writes its hostname, a space and "login: " in three writes, and the unit's After= orders only the
# start of agetty, not its prompt: a probe line written in between splits the prompt on the console
# and the harness finds no login prompt. agetty blocks for input (select, then read) only once the
# prompt is in the tty's output queue, which is FIFO with our writes to /dev/ttyS0; so wait for that
# (kernel-log lines can still interleave; `quiet` keeps them rare). Bounded: a getty that never gets
# there is reported, and the missing prompt fails the boot on the harness side.
# ttyS0's agetty by its unit (getty-static.service runs more of them on tty2-6 in an image without dbus).
getty_wchan() { cat "/proc/$(systemctl show -p MainPID --value serial-getty@ttyS0.service)/wchan" 2>/dev/null || echo none; }
getty_at_prompt() {
  case "$(getty_wchan)" in *select | poll_schedule_timeout* | wait_woken | n_tty_read) return 0 ;; esac
  return 1
}
state=$(systemctl is-system-running --wait 2>/dev/null)
polls=0
while ! getty_at_prompt && [ "$polls" -lt 600 ]; do sleep 0.1; polls=$((polls + 1)); done
if getty_at_prompt; then at=at-prompt; else at=not-at-prompt; fi
say "getty $at after-polls $polls wchan $(getty_wchan)"
say "system-state $state"
cpus=$(nproc --all)
say "cpus $cpus online $(cat /sys/devices/system/cpu/online)"
failed=$(systemctl --failed --no-legend --plain 2>/dev/null | awk '{ printf "%s ", $1 }')
say "failed-units ${failed:-none}"
say "disk-driver $(basename "$(readlink -f /sys/bus/pci/devices/0000:00:01.1/driver)") model $(tr -s ' ' _ < /sys/block/sda/device/model)"
# The transfer mode libata settled on for the primary master (XFER_UDMA_5, XFER_MW_DMA_2, XFER_PIO_4, ...).
say "ata-mode $(cat /sys/class/ata_device/dev1.0/xfer_mode 2>/dev/null || echo none)"
say "kernel-log-lines $(dmesg | wc -l)"
# Each count is read after a "-begin" line and half a second: tty output is buffered, so only a
# line written that long before the read is sure to reach the VMM before it. The checker takes the
# edges between a begin line and its count line as ones the read may or may not have seen.
say "irq14-start-begin"
sleep 0.5
say "irq14-start $(irq14 "$cpus")"

i=0
for cpu in $(seq 0 $((cpus - 1))); do
  if [ "$(cat /sys/devices/system/cpu/cpu$cpu/online 2>/dev/null || echo 1)" != 1 ]; then continue; fi
  if ! echo "$cpu" > /proc/irq/14/smp_affinity_list 2>/dev/null; then
    say "read cpu $cpu error cannot-route-irq14"
    continue
  fi
  before=$(irq14 "$cpus")
  # Bounded: a phase whose interrupts go astray ends in libata's 30 s timeouts, not in a hung probe.
  if timeout "$read_limit_s" dd if=/dev/sda2 of=/run/bootgate-read bs=1M iflag=direct skip=$((i * block_mib)) count="$block_mib" status=none; then
    sum=$(sha256sum /run/bootgate-read | cut -d' ' -f1)
  else
    sum=failed-$?
  fi
  rm -f /run/bootgate-read
  after=$(irq14 "$cpus")
  say "read cpu $cpu offset-mib $((i * block_mib)) mib $block_mib sha256 $sum before $before after $after"
  i=$((i + 1))
done
echo 0 > /proc/irq/14/smp_affinity_list 2>/dev/null

# The read under the timer: offset 0 again (O_DIRECT: the blocks come from the device again).
before=$(irq14 "$cpus")
t0=$(irq_row "$cpus" 0)
u0=$(cut -d' ' -f1 /proc/uptime)
outb 67 52 && outb 64 $((timer_latch & 255)) && outb 64 $((timer_latch >> 8)) || say "timer cannot-program-pit"
if timeout "$read_limit_s" dd if=/dev/sda2 of=/run/bootgate-read bs=1M iflag=direct count="$block_mib" status=none; then
  sum=$(sha256sum /run/bootgate-read | cut -d' ' -f1)
else
  sum=failed-$?
fi
outb 67 48 && outb 64 0 && outb 64 0 || say "timer cannot-stop-pit"
u1=$(cut -d' ' -f1 /proc/uptime)
t1=$(irq_row "$cpus" 0)
rm -f /run/bootgate-read
after=$(irq14 "$cpus")
say "read-timer hz $timer_hz ticks $(($(sum "$t1") - $(sum "$t0"))) seconds $(echo "$u0 $u1" | awk '{ printf "%.2f", $2 - $1 }') cpu 0 offset-mib 0 mib $block_mib sha256 $sum before $before after $after"

# Nothing may touch the disk after the final count: no dirty data, no cache flush or spin-down at power-off.
sync
mount -o remount,ro / || say "remount-ro failed"
for d in /sys/class/scsi_disk/*; do
  echo "write through" > "$d/cache_type" 2>/dev/null || say "cache-type failed"
  # 6.1 stable split manage_start_stop (now read-only) into the system/runtime/shutdown switches.
  for a in manage_system_start_stop manage_runtime_start_stop manage_shutdown; do
    [ -e "$d/$a" ] && { echo 0 > "$d/$a" 2>/dev/null || say "$a failed"; }
  done
done
sleep 1
say "irq14-final-begin"
sleep 0.5
say "irq14-final $(irq14 "$cpus")"
dmesg | grep -iE 'lost interrupt|timeout|DMA disabled|limiting speed|failed command|hung task|exception Emask|I/O error|No irq handler for vector' | while read -r line; do say "trouble $line"; done
say "done"
systemctl poweroff -ff
