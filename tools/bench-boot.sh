#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench-boot.sh - make bench-boot: pvspin's whole-process boot time beside QEMU's floor.
#
#   tools/bench-boot.sh [--reps N] [--smp "1 8 64 255"] [--out DIR]
#   KUT=path/to/smptest.flat tools/bench-boot.sh ...   (also kvm-unit-tests' smptest)
#
# For each vCPU count it boots, interleaved (floor, pvspin[, kut], floor, ...),
# the floor guest (tests/nested/tiny.asm: prints a few lines and exits at
# once), pvspin test=smp and, with KUT=, kvm-unit-tests' smptest.flat, all
# under TCG on q35 + qboot with the same QEMU options, and times each whole
# QEMU process. Repetitions: --reps N (default 7, and 3 at 255 vCPUs or more
# unless --reps is given). It prints and writes DIR/results.md (a table with
# the machine named) and DIR/results.jsonl (one JSON object per vCPU count);
# DIR is build/bench-boot. Status: 0 done, 1 a guest failed, 2 bad input.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly EXIT_USAGE=2 EXIT_FAIL=1
readonly DEFAULT_REPS=7 DEFAULT_REPS_MANY=3 MANY_CPUS=255
readonly MAX_VCPUS=255                  # QEMU 7.2's TCG has no x2APIC
readonly DEBUG_EXIT_PASS=1              # isa-debug-exit status for value 0
readonly GUEST_TIMEOUT_S=300

usage_error() {
	echo "bench-boot.sh: $*" >&2
	echo "usage: tools/bench-boot.sh [--reps N] [--smp \"1 8 64 255\"] [--out DIR]; KUT=smptest.flat adds kvm-unit-tests" >&2
	exit $EXIT_USAGE
}

reps='' counts="1 8 64 255" out=build/bench-boot
while [ $# -gt 0 ]; do
	case $1 in
	--reps) [ $# -ge 2 ] || usage_error "--reps needs a number"; reps=$2; shift ;;
	--smp) [ $# -ge 2 ] || usage_error "--smp needs a list"; counts=$2; shift ;;
	--out) [ $# -ge 2 ] || usage_error "--out needs a directory"; out=$2; shift ;;
	-h|--help) sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) usage_error "unknown option '$1'" ;;
	esac
	shift
done
if [ -n "$reps" ] && ! [[ $reps =~ ^[1-9][0-9]*$ ]]; then
	usage_error "--reps '$reps': a number of repetitions, at least 1"
fi
[ -n "${counts// /}" ] || usage_error "--smp: an empty list"
for n in $counts; do
	if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt $MAX_VCPUS ]; then
		usage_error "--smp: '$n' is not a vCPU count 1..$MAX_VCPUS (TCG stops at $MAX_VCPUS)"
	fi
done
kut=${KUT-}
if [ -n "$kut" ] && [ ! -r "$kut" ]; then
	usage_error "KUT='$kut': no such readable file (kvm-unit-tests' x86/smptest.flat)"
fi
command -v qemu-system-x86_64 >/dev/null || { echo "bench-boot.sh: qemu-system-x86_64 not found" >&2; exit $EXIT_FAIL; }
command -v nasm >/dev/null || { echo "bench-boot.sh: nasm not found (it builds the floor guest)" >&2; exit $EXIT_FAIL; }

make -s all >/dev/null
mkdir -p "$out"
floor=$out/tiny.elf
nasm -f bin -o "$floor" tests/nested/tiny.asm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The QEMU options run-qemu.sh uses for q35 + qboot under TCG, for every guest.
qemu_cmd() {
	qemu=(qemu-system-x86_64 -M q35 -bios qboot.rom -accel "tcg,thread=multi" -cpu max
		-smp "$1" -m 256 -nodefaults -no-reboot -display none -serial stdio
		-device "isa-debug-exit,iobase=0xf4,iosize=4")
}

# boot NAME N: one timed boot; appends milliseconds to $tmp/NAME.ms.
boot() {
	local name=$1 n=$2 t0 t1 status=0 args
	case $name in
	floor) args=(-kernel "$floor") ;;
	pvspin) args=(-kernel build/pvspin.elf -append "test=smp") ;;
	kut) args=(-kernel "$kut") ;;
	esac
	qemu_cmd "$n"
	t0=$(date +%s%N)
	timeout "$GUEST_TIMEOUT_S" "${qemu[@]}" "${args[@]}" </dev/null >"$tmp/$name.log" 2>"$tmp/$name.err" || status=$?
	t1=$(date +%s%N)
	if [ "$status" != $DEBUG_EXIT_PASS ]; then
		echo "bench-boot.sh: $name at $n vCPUs failed (QEMU status $status); its output:" >&2
		tail -n 5 "$tmp/$name.log" "$tmp/$name.err" >&2
		exit $EXIT_FAIL
	fi
	echo $(( (t1 - t0) / 1000000 )) >> "$tmp/$name.ms"
	if [ "$name" = pvspin ]; then
		sed -n 's/.*"boot_phases_us":{[^}]*"total":\([0-9]*\).*/\1/p' "$tmp/$name.log" |
			awk '{ printf "%d\n", $1 / 1000 }' >> "$tmp/guest.ms"
	fi
}

# stats FILE: "median min max" of the numbers in FILE.
stats() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)], a[1], a[NR] }'; }

guests=(floor pvspin)
[ -n "$kut" ] && guests+=(kut)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
machine="${cpu_model:-unknown CPU}, $(nproc) host CPUs, Linux $(uname -r), $(qemu-system-x86_64 --version | head -n 1)"
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
: > "$out/results.jsonl"
{
	echo "# make bench-boot, $date"
	echo
	echo "Machine: $machine."
	echo "Whole QEMU process, TCG, q35 + qboot, interleaved; median [min-max] in ms."
	echo "floor: tests/nested/tiny.asm (exits at once); pvspin: test=smp.${kut:+ kut: kvm-unit-tests smptest.flat.}"
	echo
	printf '| vCPUs | runs | pvspin | floor | pvspin - floor | pvspin / floor | pvspin guest boot (boot_phases_us total, median) |%s\n' "${kut:+ kut smptest |}"
	printf '|---|---|---|---|---|---|---|%s\n' "${kut:+---|}"
} > "$tmp/table"
for n in $counts; do
	r=$reps
	[ -n "$r" ] || { [ "$n" -ge $MANY_CPUS ] && r=$DEFAULT_REPS_MANY || r=$DEFAULT_REPS; }
	rm -f "$tmp"/*.ms
	for i in $(seq "$r"); do
		for g in "${guests[@]}"; do
			boot "$g" "$n"
		done
		printf '\rbench-boot: %s vCPUs, run %s/%s ' "$n" "$i" "$r" >&2
	done
	read -r pm pmin pmax < <(stats "$tmp/pvspin.ms")
	read -r fm fmin fmax < <(stats "$tmp/floor.ms")
	read -r gm _ _ < <(stats "$tmp/guest.ms")
	ratio=$(awk -v a="$pm" -v b="$fm" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	kcell='' kjson=''
	if [ -n "$kut" ]; then
		read -r km kmin kmax < <(stats "$tmp/kut.ms")
		kcell=" $km [$kmin-$kmax] |"
		kjson=",\"kut_ms\":{\"median\":$km,\"min\":$kmin,\"max\":$kmax}"
	fi
	printf '| %s | %s | %s [%s-%s] | %s [%s-%s] | %+d | %sx | %s |%s\n' "$n" "$r" "$pm" "$pmin" "$pmax" \
		"$fm" "$fmin" "$fmax" $((pm - fm)) "$ratio" "$gm" "$kcell" >> "$tmp/table"
	printf '{"vcpus":%s,"runs":%s,"pvspin_ms":{"median":%s,"min":%s,"max":%s},"floor_ms":{"median":%s,"min":%s,"max":%s},"diff_ms":%s,"ratio":%s,"pvspin_guest_boot_ms":%s%s,"machine":"%s","date":"%s"}\n' \
		"$n" "$r" "$pm" "$pmin" "$pmax" "$fm" "$fmin" "$fmax" $((pm - fm)) "$ratio" "$gm" "$kjson" \
		"${machine//\"/\\\"}" "$date" >> "$out/results.jsonl"
done
echo >&2
cp "$tmp/table" "$out/results.md"
cat "$out/results.md"
echo "bench-boot.sh: wrote $out/results.md and $out/results.jsonl" >&2
