#!/bin/sh
# SPDX-License-Identifier: MIT
# Run each test command given as an argument, show its output, and sum the
# "N passed, N failed" lines.  A command that crashes or prints no summary
# counts as one failure, and so does one still running after
# TEST_TIMEOUT seconds (a hang must fail, not block).  The last line
# printed is the grand total.
set -u
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
total_pass=0; total_fail=0
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
	summary=$(printf '%s\n' "$out" | tail -n 1)
	p=$(printf '%s\n' "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(printf '%s\n' "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		echo "FAIL $cmd: exit $rc, no summary line"
		total_fail=$((total_fail + 1))
		continue
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $cmd: exit $rc"
		f=1
	fi
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
