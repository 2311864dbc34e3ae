# SPDX-License-Identifier: MIT
# tests/lib.sh: the case counting of the bash sub-runners (tests/nested/run.sh): one line per case, the totals last.
# A script sources this, calls `case_begin NAME`, then `pass`, `fail WHY` or
# `skip WHY`, and ends with `summary`, which prints "N passed, N failed,
# N skipped" (the line tools/pvspin/counts.py reads) and fails if any failed.
# The guest cases and their checks are tests/cases.cfg's, run by tests/run.py.

n_pass=0 n_fail=0 n_skip=0
case_name=
case_t0=0

case_begin() {
	case_name=$1
	case_t0=$(date +%s.%N)
}

elapsed() { awk -v a="$case_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

pass() { n_pass=$((n_pass + 1)); echo "ok $case_name ($(elapsed))"; }
fail() { n_fail=$((n_fail + 1)); echo "FAIL $case_name: $* ($(elapsed))"; }
skip() { n_skip=$((n_skip + 1)); echo "skip $case_name: $*"; }

summary() {
	echo "$n_pass passed, $n_fail failed, $n_skip skipped"
	[ "$n_fail" = 0 ]
}
