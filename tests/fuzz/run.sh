#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fuzz/run.sh - build the libFuzzer targets of the guest's parsers and run
# each for FUZZ_SECONDS (default 10), after replaying its seed corpus and every
# regression input. Ends with "N passed, N failed".
#   tests/fuzz/run.sh [--seconds N] [TARGET...]
set -uo pipefail
shopt -s nullglob
cd "$(dirname "$0")/../.."
TOP=$PWD
OUT=$TOP/build/fuzz
seconds=${FUZZ_SECONDS:-10}
targets=()
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=${2-}; shift ;;
	-h|--help) sed -n '3,6p' "$0"; exit 0 ;;
	-*) echo "tests/fuzz/run.sh: unknown option '$1' (accepted: --seconds N, target names)" >&2; exit 2 ;;
	*) targets+=("$1") ;;
	esac
	shift
done
[[ $seconds =~ ^[0-9]+$ ]] || { echo "tests/fuzz/run.sh: --seconds '$seconds': a whole number" >&2; exit 2; }
[ ${#targets[@]} -gt 0 ] || targets=(cmdline json aml acpi mptable multiboot)

CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null; then
	echo "tests/fuzz/run.sh: $CC not found (apt-get install clang libclang-rt-14-dev)"
	echo "0 passed, 1 failed"
	exit 2
fi
# Each target: the lib/ (or kernel) sources it needs. The firmware-table
# targets build kernel files unchanged over tests/fuzz/physmem.c, which
# stands in for phys_map, bios_scan, checksum8, cpu_apic_id_from_cpuid and
# kprintf (docs/fuzzing.md).
PHYSMEM="tests/fuzz/physmem.c lib/string.c lib/fmt.c"
declare -A SRCS=(
	[cmdline]="lib/cmdline.c lib/string.c lib/fmt.c"
	[json]="lib/json.c lib/string.c lib/fmt.c"
	[aml]="lib/acpi_aml.c lib/string.c"
	[acpi]="kernel/acpi.c kernel/cpu_list.c lib/acpi_aml.c $PHYSMEM"
	[mptable]="kernel/mptable.c kernel/cpu_list.c $PHYSMEM"
	[multiboot]="kernel/multiboot.c $PHYSMEM"
)
FLAGS=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -fno-builtin -include tests/fuzz/rename.h -I. -Wall -Wextra -Werror)

passed=0 failed=0
mkdir -p "$OUT"
for t in "${targets[@]}"; do
	if [ -z "${SRCS[$t]+set}" ]; then
		echo "tests/fuzz/run.sh: unknown target '$t' (accepted: ${!SRCS[*]})" >&2
		exit 2
	fi
	bin=$OUT/fuzz_$t log=$OUT/$t.log
	# shellcheck disable=SC2086 # SRCS holds a list
	if ! "$CC" "${FLAGS[@]}" ${SRCS[$t]} "tests/fuzz/fuzz_$t.c" -o "$bin" >"$log" 2>&1; then
		echo "FAIL fuzz $t: build failed (log: $log)"; tail -5 "$log"
		failed=$((failed + 1)); continue
	fi
	# Seeds and past crashes first (each must pass), then new inputs.
	inputs=()
	for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t; do
		[ -d "$d" ] && inputs+=("$d"/*)
	done
	if [ ${#inputs[@]} -gt 0 ] && ! "$bin" "${inputs[@]}" >>"$log" 2>&1; then
		echo "FAIL fuzz $t: a seed or regression input fails (log: $log)"
		failed=$((failed + 1)); continue
	fi
	if [ "$seconds" = 0 ]; then   # libFuzzer reads 0 as "no limit": replay only
		echo "ok fuzz $t: seeds and regressions replayed, not fuzzed (--seconds 0)"
		passed=$((passed + 1)); continue
	fi
	work=$OUT/corpus-$t
	mkdir -p "$work"
	if "$bin" -max_total_time="$seconds" -artifact_prefix="$OUT/$t-" -max_len=4096 -print_final_stats=1 \
		"$work" tests/fuzz/corpus/$t >>"$log" 2>&1; then
		echo "ok fuzz $t: ${seconds}s, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}') runs, no crash"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz $t: crash; the input is in $OUT/$t-* (add it to tests/fuzz/regressions/$t/) (log: $log)"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ $failed = 0 ]
