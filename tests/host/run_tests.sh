#!/bin/sh
# SPDX-License-Identifier: MIT
# Run each test command given as an argument, show its output, and sum the
# "N passed, N failed[, N skipped]" lines (read by the one totals parser,
# tools/pvspin/counts.py).  A command that crashes or prints no summary
# counts as one failure, and so does one still running after
# TEST_TIMEOUT seconds (a hang must fail, not block).  The last line
# printed is the grand total.
set -u
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
COUNTS=$(cd "$(dirname "$0")/../.." && pwd)/tools/pvspin/counts.py
total_pass=0; total_fail=0; total_skip=0
for cmd in "$@"; do
	echo "== $cmd"
	out=$(timeout "$TEST_TIMEOUT" sh -c "$cmd" 2>&1); rc=$?
	if [ "$rc" -eq 124 ]; then
		printf '%s\n' "$out"
		echo "FAIL $cmd: still running after ${TEST_TIMEOUT} s"
		total_fail=$((total_fail + 1))
		continue
	fi
	printf '%s\n' "$out"
	summary=$(printf '%s\n' "$out" | python3 "$COUNTS" 2>/dev/null)
	p=$(printf '%s\n' "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1/p')
	f=$(printf '%s\n' "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\2/p')
	s=$(printf '%s\n' "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\3/p')
	if [ -z "$p" ]; then
		echo "FAIL $cmd: exit $rc, no summary line"
		total_fail=$((total_fail + 1))
		continue
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $cmd: exit $rc"
		f=1
	fi
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
done
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
