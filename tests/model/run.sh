#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Model check of the PV wait/kick/hash handshake (tests/model/pvqspinlock.pml) with spin.
#   tests/model/run.sh          the small configurations and every mutant (make model)
#   tests/model/run.sh --full   3 vCPUs x 2 rounds, with state counts (make model-full)
# Each case prints one line; the last line is "N passed, N failed".
# Status: 0 all passed, 1 a case failed, 2 spin or a C compiler is missing (or bad usage).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
MODEL=$PWD/tests/model/pvqspinlock.pml
WORK=$PWD/build/model
CC=${CC:-cc}
# pan is compiled once per case; for these small runs compiling costs more than running.
PAN_OPT=-O0
# Largest DFS depth pan may reach; the small models stay under 500.
PAN_DEPTH=1000000

full=0
case ${1-} in
"") ;;
--full) full=1 ;;
-h|--help) sed -n '3,6p' "$0"; exit 0 ;;
*) echo "tests/model/run.sh: unknown option '$1' (accepted: --full)" >&2; exit 2 ;;
esac

for tool in spin "$CC"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "tests/model/run.sh: '$tool' not found (Debian: apt-get install spin gcc)" >&2
		echo "0 passed, 1 failed"
		exit 2
	fi
done

n_pass=0 n_fail=0
pass() { n_pass=$((n_pass + 1)); echo "ok $*"; }
fail() { n_fail=$((n_fail + 1)); echo "FAIL $*"; }

# check NAME "SPIN DEFINES" "CC DEFINES" "PAN OPTIONS": build and run pan in
# $WORK/NAME; sets $out (pan's output), $errs, $states, $secs, $first (first error).
check() {
	local sdefs=$2 cdefs=$3 popts=$4 dir=$WORK/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$MODEL" "$dir/"
	out=
	# shellcheck disable=SC2086 # the defines and options are word lists
	if ! (cd "$dir" && spin -a $sdefs pvqspinlock.pml >spin.log 2>&1); then
		out="spin -a failed: $(head -n 3 "$dir/spin.log" | tr '\n' ' ')"
		return 1
	fi
	# -w: pan's generated C is not warning-clean; the model is what we check.
	# shellcheck disable=SC2086
	if ! (cd "$dir" && $CC $PAN_OPT -w $cdefs -o pan pan.c >cc.log 2>&1); then
		out="$CC failed: $(head -n 3 "$dir/cc.log" | tr '\n' ' ')"
		return 1
	fi
	# shellcheck disable=SC2086
	out=$(cd "$dir" && ./pan -m$PAN_DEPTH $popts 2>&1)
	echo "$out" >"$dir/pan.log"
	errs=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' <<<"$out" | tail -n 1)
	states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' <<<"$out" | tail -n 1)
	secs=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds.*/\1/p' <<<"$out" | tail -n 1)
	first=$(sed -n 's/^pan:1: \(.*\) (at depth [0-9]*)$/\1/p' <<<"$out" | head -n 1)
}

# expect_pass NAME WHAT "SPIN DEFINES" "CC DEFINES" "PAN OPTIONS"
expect_pass() {
	local name=$1 what=$2
	if ! check "$name" "$3" "$4" "$5"; then
		fail "$name ($what): $out"
	elif grep -q "max search depth too small" <<<"$out"; then
		fail "$name ($what): search cut short at depth $PAN_DEPTH (log: $WORK/$name/pan.log)"
	elif [ "$errs" != 0 ]; then
		fail "$name ($what): $errs error(s), first: ${first:-?} (trail: $WORK/$name/)"
	else
		pass "$name ($what): ${states:-?} states, ${secs:-?} s"
	fi
}

# expect_caught NAME WHAT "SPIN DEFINES" "CC DEFINES" "PAN OPTIONS" PATTERN:
# pan must report an error whose text matches PATTERN (grep -E).
expect_caught() {
	local name=$1 what=$2 pattern=$6
	if ! check "$name" "$3" "$4" "$5"; then
		fail "$name ($what): $out"
	elif [ "${errs:-0}" = 0 ]; then
		fail "$name ($what): not caught (${states:-?} states, no error)"
	elif ! grep -Eq -- "$pattern" <<<"$first"; then
		fail "$name ($what): caught by '$first', expected /$pattern/"
	else
		pass "$name ($what): caught: $first"
	fi
}

SAFETY="-DSAFETY"
# Mutants: breadth-first, so pan reports the shortest (and so the intended) violation.
SAFETY_BFS="-DSAFETY -DBFS"
LIVENESS="-DNP"
LOST_WAKEUP='halted\[i\] *&& *\(?locked *== *0'

if [ $full = 1 ]; then
	PAN_OPT=-O2
	# The larger configuration: 63 M states. Compressing the stored states
	# (-DCOLLAPSE) keeps it near 3 GB; MEMLIM (MB) stops pan before 8 GB;
	# -w26: a hash table of 2^26 slots.
	expect_pass full "3 vCPUs, 2 rounds" "-DNCPU=3 -DROUNDS=2" \
		"$SAFETY -DCOLLAPSE -DVECTORSZ=2048 -DMEMLIM=8000" "-w26"
	[ -f "$WORK/full/pan.log" ] && grep -E "states, stored|transitions|total actual memory|elapsed" "$WORK/full/pan.log"
	echo "$n_pass passed, $n_fail failed"
	[ $n_fail = 0 ]
	exit
fi

# The unmutated model: every check holds.
expect_pass model "3 vCPUs, 1 round, pv_ops contract" "-DNCPU=3 -DROUNDS=1" "$SAFETY" ""
expect_pass model-kvm "3 vCPUs, 1 round, kvm_wait" "-DNCPU=3 -DROUNDS=1 -DKVM_WAIT" "$SAFETY" ""
expect_pass model-ipi "3 vCPUs, 1 round, ipi_wait" "-DNCPU=3 -DROUNDS=1 -DIPI_WAIT" "$SAFETY" ""
expect_pass model-xen "3 vCPUs, 1 round, xen_wait (SCHEDOP_poll)" "-DNCPU=3 -DROUNDS=1 -DXEN_WAIT" "$SAFETY" ""
expect_pass model-xen-2x2 "xen_wait, 2 vCPUs, 2 rounds" "-DNCPU=2 -DROUNDS=2 -DXEN_WAIT" "$SAFETY" ""
expect_pass model-2x2 "2 vCPUs, 2 rounds" "-DNCPU=2 -DROUNDS=2" "$SAFETY" ""
expect_pass liveness "3 vCPUs, 1 round, no fair cycle: every vCPU finishes" \
	"-DNCPU=3 -DROUNDS=1" "$LIVENESS" "-l -f"
# pvqspinlock_adaptive: the steal past a stale queue head added.
expect_pass model-adaptive "adaptive, 3 vCPUs, 1 round, pv_ops contract" "-DNCPU=3 -DROUNDS=1 -DADAPTIVE" "$SAFETY" ""
expect_pass model-adaptive-ipi "adaptive, 3 vCPUs, 1 round, ipi_wait" "-DNCPU=3 -DROUNDS=1 -DADAPTIVE -DIPI_WAIT" "$SAFETY" ""
expect_pass model-adaptive-2x2 "adaptive, 2 vCPUs, 2 rounds" "-DNCPU=2 -DROUNDS=2 -DADAPTIVE" "$SAFETY" ""
expect_pass liveness-adaptive "adaptive, 3 vCPUs, 1 round, no fair cycle" \
	"-DNCPU=3 -DROUNDS=1 -DADAPTIVE" "$LIVENESS" "-l -f"

# Each mutant must be caught, by the check meant for it.
expect_caught mutant-halted-after-recheck "HALTED stored after the re-check: lost wakeup" \
	"-DMUTANT_HALTED_AFTER_RECHECK" "$SAFETY_BFS" "" "$LOST_WAKEUP"
expect_caught mutant-kick-before-release "kick before the release store: lost wakeup" \
	"-DMUTANT_KICK_BEFORE_RELEASE" "$SAFETY_BFS" "" "$LOST_WAKEUP"
expect_caught mutant-slow-before-hash "Q_SLOW_VAL before hashing: unlocker finds no entry" \
	"-DMUTANT_SLOW_BEFORE_HASH" "$SAFETY_BFS" "" 'he *< *[0-9]'
expect_caught mutant-head-halted "head waits HALTED, not HASHED: double hash" \
	"-DMUTANT_HEAD_HALTED" "$SAFETY_BFS" "" 'hash_count *== *1'
expect_caught mutant-steal-store "stealer stores instead of cmpxchg: mutual exclusion" \
	"-DMUTANT_STEAL_STORE" "$SAFETY_BFS" "" 'in_cs *== *1'
expect_caught mutant-no-spin "spin threshold 0: livelock" \
	"-DMUTANT_NO_SPIN" "$LIVENESS" "-l -f" 'non-progress cycle'
expect_caught mutant-stale-steal-store "adaptive: stale-head steal stores instead of cmpxchg: mutual exclusion" \
	"-DADAPTIVE -DMUTANT_STALE_STEAL_STORE" "$SAFETY_BFS" "" 'in_cs *== *1'
expect_caught mutant-xen-clear-after-check "xen_wait clears the pending bit after the re-check: lost wakeup" \
	"-DXEN_WAIT -DMUTANT_XEN_CLEAR_AFTER_CHECK" "$SAFETY_BFS" "" "$LOST_WAKEUP"
# Without the watchdog's assertion a lost wakeup is still a deadlock.
expect_caught end-states "kick before release, no watchdog: invalid end state" \
	"-DMUTANT_KICK_BEFORE_RELEASE -DNO_WATCHDOG" "$SAFETY_BFS" "" 'invalid end state'

echo "$n_pass passed, $n_fail failed"
[ $n_fail = 0 ]
