#!/bin/sh
# bootgate irqtest probe (busybox sh inside the probe initramfs): loads bootgate_irqtest.ko, routes
# the test device's interrupt to every online CPU in turn, fires COUNT interrupts per CPU and prints
# one `@@bootgate {json}` line per step for the harness. With TIMER_HZ > 0 a last round runs on
# CPU 0 while PIT channel 0 raises IRQ 0 at TIMER_HZ: the device's interrupt must not starve.
#
# With IPI=1 (and more than one CPU online) it then sends COUNT function-call IPIs from CPU 0 to
# every other CPU, and again from the last CPU, and reports what each CPU handled.
#
# usage: irqtest.sh [intx|msi] [COUNT] [TIMER_HZ] [IPI]      (defaults: intx 32 0 0)
# env:   IRQTEST_KO (default /lib/modules/bootgate_irqtest.ko), IRQTEST_SYS, IRQTEST_PROC and
#        IRQTEST_INSMOD (default /sys, /proc, insmod; the unit test points them at a fake tree).
#
# Lines (every count is exact; the harness compares them with the VMM's `irq-test` event):
#   {"event":"irqtest-load","mode":M,"irq":N,"bdf":B}
#   {"event":"irqtest-round","cpu":C,"fired":N,"ok":true|false,"timerHz":H,"effective":"C",
#    "raisedBefore":R,"window":[U0,U1],"proc":[per-CPU /proc/interrupts delta],"timer":[IRQ 0 delta],
#    "pit":{"window":[UP,U1],"ticks":[IRQ 0 delta]} or null,"stats":{module stats}}
#   {"event":"irqtest-ipi","from":S,"sent":N,"handled":[per-CPU delta],"cal":[CAL row delta]}
#   {"event":"irqtest-error","what":"..."}          then exit 1
#   {"event":"irqtest-done","rounds":K}
# window is /proc/uptime (s, 10 ms steps) at the two snapshots the proc and timer deltas are taken
# from, read by the same process as those rows: ticks over the window give the timer's real rate.
# A timer round holds the PIT on for TIMER_SETTLE_S inside the window before it fires, so the window
# is long against uptime's 10 ms steps. Its pit window starts at a snapshot taken just before the
# PIT is started: a PIT that catches up on ticks the guest could not take in time (KVM's default
# reinjection) may deliver ticks owed from before U0 inside the window, but it never delivers more
# ticks than periods since it was started, so the rate is judged over the PIT's whole life.
# stats.counts[C] must equal fired and every other entry 0; stats.device.raised - raisedBefore is
# the VMM's count for the round (mod 2^32); stats.lost counts interrupts the module recovered after
# stall_ms (dmesg "lost interrupt"), ok=false means it gave up and cancelled the rest. A
# one-interrupt warm-up precedes each round: Linux moves an IOAPIC-routed IRQ to its new CPU only
# at the next interrupt. On QEMU (`-device edu`) the PIT reaches IRQ 0 only with -machine hpet=off.

set -u
SYS=${IRQTEST_SYS:-/sys}
PROC=${IRQTEST_PROC:-/proc}
KO=${IRQTEST_KO:-/lib/modules/bootgate_irqtest.ko}
INSMOD=${IRQTEST_INSMOD:-insmod}
MODE=${1:-intx}
COUNT=${2:-32}
TIMER_HZ=${3:-0}
IPI=${4:-0}
TIMER_SETTLE_S=${IRQTEST_TIMER_SETTLE_S:-1}

say() { echo "@@bootgate $1"; }
fail() {
	say "{\"event\":\"irqtest-error\",\"what\":\"$1\"}"
	exit 1
}

case "$MODE" in intx | msi) ;; *) fail "mode $MODE: expected intx or msi" ;; esac
case "$COUNT$TIMER_HZ$IPI" in *[!0-9]*) fail "COUNT, TIMER_HZ and IPI must be decimal numbers" ;; esac

$INSMOD "$KO" "mode=$MODE" || fail "insmod $KO mode=$MODE failed"
DEV=
for d in "$SYS"/bus/pci/drivers/bootgate_irqtest/0000:*; do
	if [ -e "$d/fire" ]; then DEV=$d; break; fi
done
[ -n "$DEV" ] || fail "no PCI device bound to bootgate_irqtest (is the VMM's irq-test device on?)"
IRQ=$(sed -n 's/.*"irq":\([0-9]*\).*/\1/p' "$DEV/stats")
[ -n "$IRQ" ] || fail "no irq in $DEV/stats"
say "{\"event\":\"irqtest-load\",\"mode\":\"$(cat "$DEV/mode")\",\"irq\":$IRQ,\"bdf\":\"${DEV##*/}\"}"

# Per-CPU counts of one /proc/interrupts row ("0" is the timer) as space-separated numbers.
proc_row() {
	awk -v irq="$1:" 'NR == 1 { ncpu = NF; next }
		$1 == irq { for (i = 2; i <= ncpu + 1; i++) printf "%s%s", (i > 2 ? " " : ""), $i; found = 1 }
		END { if (!found) printf "-"; print "" }' "$PROC/interrupts"
}

# One snapshot "uptime|IRQ row|timer row" (IRQ 0), read by one process so the three are taken at the
# same moment: the tick count and the window it was counted over match exactly.
snapshot() {
	awk -v irq="$1:" 'function row(n,   s, i) { s = ""; for (i = 2; i <= n + 1; i++) s = s (i > 2 ? " " : "") $i; return s }
		FILENAME ~ /uptime$/ { up = $1; next }
		FNR == 1 { ncpu = NF; next }
		$1 == irq { r = row(ncpu) }
		$1 == "0:" { t = row(ncpu) }
		END { print up "|" (r == "" ? "-" : r) "|" (t == "" ? "-" : t) }' "$PROC/uptime" "$PROC/interrupts"
}
field() { echo "$1" | cut -d'|' -f"$2"; }

# JSON array of after - before, element-wise; [] when the row is missing.
delta() {
	echo "$1|$2" | awk -F'|' '{ n = split($1, a, " "); m = split($2, b, " ")
		if ($1 == "-" || $2 == "-" || n != m) { print "[]"; exit }
		s = "["; for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") (b[i] - a[i]); print s "]" }'
}

online_cpus() {
	for r in $(tr ',' ' ' <"$SYS/devices/system/cpu/online"); do
		i=${r%-*}
		while [ "$i" -le "${r#*-}" ]; do
			echo "$i"
			i=$((i + 1))
		done
	done
}

ROUNDS=0
# round CPU HZ: route the IRQ to CPU, warm up, clear, optionally start the PIT, fire COUNT, report.
round() {
	cpu=$1
	hz=$2
	echo "$cpu" >"$PROC/irq/$IRQ/smp_affinity_list" || fail "cannot route IRQ $IRQ to CPU $cpu"
	echo 1 >"$DEV/fire" || true
	echo 1 >"$DEV/clear"
	raised=$(sed -n 's/.*"raised":\([0-9]*\).*/\1/p' "$DEV/stats")
	sp=
	[ "$hz" -gt 0 ] && sp=$(snapshot "$IRQ")
	[ "$hz" -gt 0 ] && { echo "$hz" >"$DEV/timer_hz" || fail "cannot start the PIT at $hz Hz"; }
	s0=$(snapshot "$IRQ")
	[ "$hz" -gt 0 ] && sleep "$TIMER_SETTLE_S"
	ok=true
	echo "$COUNT" >"$DEV/fire" || ok=false
	s1=$(snapshot "$IRQ")
	[ "$hz" -gt 0 ] && echo 0 >"$DEV/timer_hz"
	effective=$(cat "$PROC/irq/$IRQ/effective_affinity_list" 2>/dev/null || echo '?')
	pit=null
	[ -n "$sp" ] && pit="{\"window\":[$(field "$sp" 1),$(field "$s1" 1)],\"ticks\":$(delta "$(field "$sp" 3)" "$(field "$s1" 3)")}"
	ROUNDS=$((ROUNDS + 1))
	say "{\"event\":\"irqtest-round\",\"cpu\":$cpu,\"fired\":$COUNT,\"ok\":$ok,\"timerHz\":$hz,\"effective\":\"$effective\",\"raisedBefore\":${raised:-null},\"window\":[$(field "$s0" 1),$(field "$s1" 1)],\"proc\":$(delta "$(field "$s0" 2)" "$(field "$s1" 2)"),\"timer\":$(delta "$(field "$s0" 3)" "$(field "$s1" 3)"),\"pit\":$pit,\"stats\":$(cat "$DEV/stats")}"
}

# ipi_round SRC: COUNT function-call IPIs from CPU SRC (the writer is pinned there) to every other CPU.
ipi_round() {
	src=$1
	h0=$(cat "$DEV/ipi")
	c0=$(proc_row CAL)
	taskset -c "$src" sh -c "echo $COUNT >$DEV/ipi" || fail "sending IPIs from CPU $src failed"
	h1=$(cat "$DEV/ipi")
	c1=$(proc_row CAL)
	say "{\"event\":\"irqtest-ipi\",\"from\":$src,\"sent\":$COUNT,\"handled\":$(delta "$h0" "$h1"),\"cal\":$(delta "$c0" "$c1")}"
}

for cpu in $(online_cpus); do round "$cpu" 0; done
[ "$TIMER_HZ" -gt 0 ] && round 0 "$TIMER_HZ"
if [ "$IPI" -gt 0 ]; then
	last=$(online_cpus | tail -n 1)
	if [ "$last" -gt 0 ]; then
		ipi_round 0
		ipi_round "$last"
	fi
fi
say "{\"event\":\"irqtest-done\",\"rounds\":$ROUNDS}"
