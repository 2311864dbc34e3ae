#!/bin/sh
# SPDX-License-Identifier: MIT
# check_ap_backtrace.sh - a crash on an AP is walked down to the AP's entry.
# Boots the guest twice under QEMU (run-qemu.sh), test=fault: with --smp 2
# the write to an unmapped address faults on CPU 1, with --smp 1 on CPU 0.
# touch_unmapped() is a leaf without a frame of its own, so each backtrace
# must also name the function it returns to (the word at rsp). Checks, on
# the serial output (docs/output.md) and with addr2line on
# build/pvspin64.elf:
#   CPU 1: "# CRASH: #PF" on CPU 1, status 3, #0 in touch_unmapped, #1 in
#          ap_idle (the AP's work loop) within ap_entry64 (its C entry), the
#          walk ends at the outermost frame;
#   CPU 0: #0 in touch_unmapped, then fault_run, suite_run and kmain, in
#          that order, ending at the outermost frame.
#   check_ap_backtrace.sh [ROOT]    (default: the repository holding this script)
# Prints one line per check and "N passed, N failed"; without QEMU or
# addr2line it checks nothing and says so ("0 passed, 0 failed").
set -u
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
ELF=$ROOT/build/pvspin64.elf
OUT=${CHECK_AP_BACKTRACE_OUT:-$(cd "$(dirname "$0")" && pwd)/build/ap_backtrace}
passed=0; failed=0

for tool in qemu-system-x86_64 addr2line; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "skip: no $tool"; echo "0 passed, 0 failed"; exit 0
	fi
done
mkdir -p "$OUT"

ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

# boot NAME SMP: the guest's serial output in $OUT/NAME.log.
boot() {
	(cd "$ROOT" && ./run-qemu.sh --smp "$2" --timeout 120 -- test=fault) \
		>"$OUT/$1.log" 2>"$OUT/$1.err" </dev/null
}

# frames NAME: one line per backtrace frame, "N FUNCTION" with every
# function addr2line names for it (innermost first, inlined callers after),
# a return address looked up at the byte before it.
frames() {
	tr -d '\r' <"$OUT/$1.log" | sed -n 's/^# backtrace: #\([0-9]*\) \(0x[0-9a-f]*\)$/\1 \2/p' |
	while read -r n addr; do
		look=$addr
		[ "$n" = 0 ] || look=$(printf '0x%x' $((addr - 1)))
		fns=$(addr2line -f -i -e "$ELF" "$look" | sed -n '1~2p' | tr '\n' ' ')
		echo "$n ${fns% }"
	done
}

# expect NAME WHAT REGEX: the frame list of NAME (one line per frame,
# joined with " | ") matches the extended REGEX.
expect() {
	list=$(frames "$1" | paste -sd'|' | sed 's/|/ | /g')
	if printf '%s\n' "$list" | grep -Eq "$3"; then
		ok "$1: $2"
	else
		bad "$1: $2; the frames: $list"
	fi
}

# common NAME CPU: what every fault run must show.
common() {
	log=$(tr -d '\r' <"$OUT/$1.log")
	if printf '%s\n' "$log" | grep -q "^# CRASH: #PF page fault (vector 14) on CPU $2 " &&
	   printf '%s\n' "$log" | grep -q '^EXIT: STATUS=3$'; then
		ok "$1: #PF on CPU $2, status 3"
	else
		bad "$1: no #PF report on CPU $2 with status 3 (see $OUT/$1.log, $OUT/$1.err)"
	fi
	if printf '%s\n' "$log" | grep -q '^# backtrace: end (outermost frame)$'; then
		ok "$1: the walk ends at the outermost frame"
	else
		bad "$1: the walk does not end at the outermost frame"
	fi
}

boot ap 2
common ap 1
expect ap "#0 touch_unmapped, #1 ap_idle in ap_entry64, nothing after" \
	'^0 touch_unmapped \| 1 ap_idle ap_entry64$'

boot bsp 1
common bsp 0
expect bsp "#0 touch_unmapped, #1 fault_run, then suite_run and kmain" \
	'^0 touch_unmapped \| 1 fault_run \| ([0-9]+ [a-z_ ]+ \| )*[0-9]+ suite_run \| ([0-9]+ [a-z_ ]+ \| )*[0-9]+ kmain$'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
