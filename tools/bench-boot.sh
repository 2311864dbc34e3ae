#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench-boot: boot pvspin (test=smp) under TCG on q35 + qboot at several
# vCPU counts, REPS times each; print the median (and min-max) whole-process
# wall time and the guest's bringup_ns, and write build/bench-boot.md.
#   tools/bench-boot.sh [--reps N] [--smp "8 64 255"]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=5 counts="8 64 255"
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift ;;
	--smp) counts=$2; shift ;;
	-h|--help) sed -n '3,6p' "$0"; exit 0 ;;
	*) echo "bench-boot.sh: unknown option '$1' (accepted: --reps N, --smp LIST)" >&2; exit 2 ;;
	esac
	shift
done
make -s all >/dev/null
out=build/bench-boot.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stats() { sort -n | awk '{ a[NR] = $1 } END { printf "%s (%s-%s)", a[int((NR + 1) / 2)], a[1], a[NR] }'; }
{
	echo "| vCPUs | wall s, median (min-max) | guest bringup_ms, median (min-max) | runs |"
	echo "|---|---|---|---|"
} > "$tmp/table"
for n in $counts; do
	: > "$tmp/wall"; : > "$tmp/bring"
	for r in $(seq "$reps"); do
		t0=$(date +%s.%N)
		./run-qemu.sh --accel tcg --machine q35 --smp "$n" -- test=smp > "$tmp/log" 2>/dev/null ||
			{ echo "bench-boot.sh: boot at smp=$n failed" >&2; exit 1; }
		t1=$(date +%s.%N)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >> "$tmp/wall"
		sed -n 's/.*"bringup_ns":\([0-9]*\).*/\1/p' "$tmp/log" | awk '{ printf "%.1f\n", $1 / 1e6 }' >> "$tmp/bring"
		printf '\rsmp=%s run %s/%s' "$n" "$r" "$reps" >&2
	done
	echo "| $n | $(stats < "$tmp/wall") | $(stats < "$tmp/bring") | $reps |" >> "$tmp/table"
done
echo >&2
{
	echo "# make bench-boot ($(date -u +%Y-%m-%d), $(nproc) host CPUs, $(qemu-system-x86_64 --version | head -n 1))"
	echo
	echo "Whole QEMU process (run-qemu.sh, TCG, q35 + qboot, test=smp) and the guest's bringup_ns."
	echo
	cat "$tmp/table"
} | tee "$out"
