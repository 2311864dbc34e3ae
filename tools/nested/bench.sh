#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench.sh - timings of the nested KVM bed (tools/nested/nested-run.sh):
# L1 boot, L2 boot at 1, 4 and 16 vCPUs, and the cost of one more L2 run in a
# batch. Median, min and max of --reps repetitions.
# Writes build/bench-nested.md and the results section of docs/nested.md.

set -euo pipefail

readonly PROG=${0##*/}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly TOP
readonly NESTED_RUN=$TOP/tools/nested/nested-run.sh
readonly TINY_SRC=$TOP/tests/nested/tiny.asm
readonly OUT_MD=$TOP/build/bench-nested.md
readonly DOC=$TOP/docs/nested.md
readonly DOC_BEGIN='<!-- bench:begin -->'
readonly DOC_END='<!-- bench:end -->'

readonly DEFAULT_REPS=5
readonly L2_CPU_COUNTS=(1 4 16)
readonly EXTRA_RUNS=4                   # runs in the "many small runs" batch
readonly JOB_TIMEOUT_S=120
readonly DEBUG_EXIT_DEVICE="-device isa-debug-exit,iobase=0xf4,iosize=4"
readonly L2_COMMON="-M q35 -bios qboot.rom -accel kvm -cpu host -m 128 -nodefaults -no-reboot -display none -serial stdio $DEBUG_EXIT_DEVICE"

REPS=$DEFAULT_REPS
L2_RUNS=0
L2_FAILED=0                             # runs whose status was not 1 (a pass)
IMAGE=$TOP/build/pvspin.elf
UPDATE_DOC=1

usage() {
	cat <<EOF
Usage: $PROG [--reps N] [--image PATH] [--no-doc]

Times the nested KVM bed. Per repetition: one L1 boot with no runs, one with
pvspin test=smp at ${L2_CPU_COUNTS[*]} vCPUs, and one with $EXTRA_RUNS runs at 1 vCPU.
  --reps N      repetitions (default $DEFAULT_REPS)
  --image PATH  guest image (default build/pvspin.elf; falls back to the tiny
                test kernel when missing)
  --no-doc      do not update docs/nested.md
Results: build/bench-nested.md and docs/nested.md.
EOF
}

die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }

parse_args() {
	while (($#)); do
		case $1 in
		--reps) REPS=${2:?--reps needs a value}; shift 2 ;;
		--image) IMAGE=${2:?--image needs a value}; shift 2 ;;
		--no-doc) UPDATE_DOC=0; shift ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; exit 2 ;;
		esac
	done
	[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer"
}

now_ms() { date +%s%3N; }
ms_to_s() { printf '%d.%02d' $(($1 / 1000)) $(($1 % 1000 / 10)); }

# stats VALUES...: "median min max" of decimal seconds
stats() {
	printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {
		m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
		printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}

job() { printf '%s\t%s\t%s\n' "$1" "$2" "$3"; }

# bed NAME JOBFILE: run the bed; sets WALL (s), L1_READY (s), RUN_TIMES (s)
bed() {
	local name=$1 jobs=$2 t0 err=$SCRATCH/$1.err
	t0=$(now_ms)
	"$NESTED_RUN" --status-file "$SCRATCH/$name.status" --image "$IMAGE" "$jobs" \
		>"$SCRATCH/$name.out" 2>"$err" ||
		die "$name: nested-run.sh failed: $(tail -n 2 "$err")"
	WALL=$(ms_to_s $(($(now_ms) - t0)))
	L1_READY=$(sed -n 's/.*L1 ready (KVM loaded) after \([0-9.]*\) s.*/\1/p' "$err")
	mapfile -t RUN_TIMES < <(sed -n 's/.*run [0-9]*: status [0-9]* after \([0-9.]*\) s$/\1/p' "$err")
	[[ -n $L1_READY ]] || die "$name: no 'L1 ready' line in $err"
	local st
	while read -r st; do
		L2_RUNS=$((L2_RUNS + 1))
		[[ $st == 1 ]] || L2_FAILED=$((L2_FAILED + 1))
	done <"$SCRATCH/$name.status"
}

write_jobs() {
	: >"$SCRATCH/empty.jobs"
	local n i
	: >"$SCRATCH/sizes.jobs"
	for n in "${L2_CPU_COUNTS[@]}"; do
		job - "$JOB_TIMEOUT_S" "$L2_COMMON -smp $n -kernel @IMAGE@ -append '$GUEST_CMDLINE'" >>"$SCRATCH/sizes.jobs"
	done
	: >"$SCRATCH/many.jobs"
	for ((i = 0; i < EXTRA_RUNS; i++)); do
		job - "$JOB_TIMEOUT_S" "$L2_COMMON -smp 1 -kernel @IMAGE@ -append '$GUEST_CMDLINE'" >>"$SCRATCH/many.jobs"
	done
}

row() { # row LABEL VALUES...
	local label=$1 med min max
	shift
	read -r med min max <<<"$(stats "$@")"
	printf '| %s | %s | %s | %s |\n' "$label" "$med" "$min" "$max"
}

main() {
	parse_args "$@"
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/pvspin-nested-bench.XXXXXX")
	trap 'rm -rf "$SCRATCH"' EXIT
	GUEST_CMDLINE="test=smp"
	local image_desc
	if [[ -f $IMAGE ]]; then
		image_desc="pvspin ($(realpath --relative-to="$TOP" "$IMAGE"), guest cmdline test=smp)"
	else
		IMAGE=$SCRATCH/tiny.elf
		nasm -f bin -o "$IMAGE" "$TINY_SRC"
		GUEST_CMDLINE="exit=0"
		image_desc="tests/nested/tiny.asm (pvspin image missing)"
	fi
	write_jobs
	"$NESTED_RUN" --prepare 2>"$SCRATCH/prepare.err" || die "cache: $(tail -n 1 "$SCRATCH/prepare.err")"

	local -a l1_ready=() empty_wall=() many_wall=() per_extra=()
	local -A l2=()
	local r i n
	for ((r = 1; r <= REPS; r++)); do
		printf '%s: repetition %d of %d\n' "$PROG" "$r" "$REPS" >&2
		bed empty "$SCRATCH/empty.jobs"
		l1_ready+=("$L1_READY")
		empty_wall+=("$WALL")
		local t_empty=$WALL
		bed sizes "$SCRATCH/sizes.jobs"
		l1_ready+=("$L1_READY")
		for i in "${!L2_CPU_COUNTS[@]}"; do
			n=${L2_CPU_COUNTS[i]}
			l2[$n]="${l2[$n]:-} ${RUN_TIMES[i]}"
		done
		bed many "$SCRATCH/many.jobs"
		l1_ready+=("$L1_READY")
		many_wall+=("$WALL")
		per_extra+=("$(awk -v a="$WALL" -v b="$t_empty" -v k="$EXTRA_RUNS" 'BEGIN { printf "%.2f", (a - b) / k }')")
	done

	mkdir -p "$(dirname "$OUT_MD")"
	{
		echo "Command: \`tools/nested/bench.sh --reps $REPS\` ($(date -u +%Y-%m-%d), $(nproc) host CPUs,"
		echo "$(qemu-system-x86_64 --version | head -n 1); L1: $(sed 's/^# l1: //' "$SCRATCH/sizes.out" | head -n 1 | grep -o '"package":"[^"]*","package_version":"[^"]*"'))."
		echo "Guest: $image_desc, L2 \`$L2_COMMON\`."
		echo "Seconds; median, min, max of $REPS repetitions (L1 ready: of $((REPS * 3)) L1 boots)."
		echo "L2 runs that did not pass (status other than 1): $L2_FAILED of $L2_RUNS."
		echo
		echo "| what | median | min | max |"
		echo "|---|---|---|---|"
		row "L1 boot: host start of L1 QEMU to KVM ready in L1" "${l1_ready[@]}"
		row "whole nested-run.sh with no L2 run (boot + shutdown)" "${empty_wall[@]}"
		for n in "${L2_CPU_COUNTS[@]}"; do
			# shellcheck disable=SC2086
			row "L2 run at $n vCPUs (its QEMU process, start to exit, in L1)" ${l2[$n]}
		done
		row "whole nested-run.sh with $EXTRA_RUNS runs at 1 vCPU" "${many_wall[@]}"
		row "cost of one more L2 run (1 vCPU) in a batch" "${per_extra[@]}"
	} >"$OUT_MD"
	cat "$OUT_MD"
	if ((UPDATE_DOC)) && [[ -f $DOC ]] && grep -qF "$DOC_BEGIN" "$DOC"; then
		awk -v b="$DOC_BEGIN" -v e="$DOC_END" -v f="$OUT_MD" '
			$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
			$0 == e { skip = 0 }
			!skip' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
		printf '%s: updated %s\n' "$PROG" "$DOC" >&2
	fi
}

main "$@"
