#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pvspin's host-side test runner (make test). Boots the guest under QEMU in
# many shapes and checks its KTAP and JSON, runs the lock library's host
# tests, and the nested-KVM tests. Ends with "N passed, N failed, N skipped".
#   tests/run.sh [--only boot|locks|bench|debug|host|nested|model|pvlog|peer|fuzz|vmm|soak,...]
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/boot.sh
[ -f tests/locks.sh ] && . tests/locks.sh
[ -f tests/bench.sh ] && . tests/bench.sh
. tests/debug.sh
. tests/vmm.sh

only=all
while [ $# -gt 0 ]; do
	case $1 in
	--only) only=${2-}; shift ;;
	-h|--help) sed -n '3,6p' "$0"; exit 0 ;;
	*) echo "tests/run.sh: unknown option '$1' (accepted: --only LIST)" >&2; exit 2 ;;
	esac
	shift
done
want() { [ "$only" = all ] || [[ ",$only," == *",$1,"* ]]; }

tools/deps.sh build run iso test || exit 2
make -s all iso >/dev/null || { echo "tests/run.sh: build failed"; echo "0 passed, 1 failed"; exit 1; }

sub_runner() {   # sub_runner NAME COMMAND...: run a runner, add its counts
	local name=$1 out last
	shift
	echo "== $name"
	out=$LOG_DIR/$name.runner.log
	"$@" 2>&1 | tee "$out"
	last=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$last" ]; then
		echo "FAIL $name: no result line"
		n_fail=$((n_fail + 1))
	else
		add_counts "$last"
	fi
}

want boot && { echo "== boot"; test_boot; }
want locks && declare -F test_locks >/dev/null && { echo "== locks"; test_locks; }
want bench && declare -F test_bench >/dev/null && { echo "== bench"; test_bench; }
want debug && { echo "== debug"; test_debug; }
want vmm && { echo "== vmm"; test_vmm; }
want host && [ -f tests/host/Makefile ] && sub_runner host make -s --no-print-directory -C tests/host test
want nested && [ -x tests/nested/run.sh ] && sub_runner nested tests/nested/run.sh
want model && [ -x tests/model/run.sh ] && sub_runner model tests/model/run.sh
want pvlog && sub_runner pvlog tests/pvlog/run.sh
# The Linux peer: built once per machine (cached), then booted beside pvspin.
want peer && { tools/deps.sh peer || exit 2; sub_runner peer tests/peer/run.py ${PVSPIN_SKIP_NESTED:+--no-nested}; }
want soak && [ -x tests/soak/run.sh ] && sub_runner soak tests/soak/run.sh
# A short pass of every fuzz target (make fuzz FUZZ_SECONDS=N runs longer).
want fuzz && FUZZ_SECONDS=${FUZZ_SECONDS:-5} sub_runner fuzz tests/fuzz/run.sh
summary
