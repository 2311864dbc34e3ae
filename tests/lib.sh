# SPDX-License-Identifier: MIT
# Shared by the host-side test scripts: counting, running the guest, checks.
# A test script sources this, calls `case_begin NAME`, then `pass`, `fail WHY`
# or `skip WHY`, and ends with `summary` (prints "N passed, N failed").

TESTS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_QEMU=$TESTS_TOP/run-qemu.sh
KTAP_CHECK=$TESTS_TOP/tests/ktap_check.py
LOG_DIR=${PVSPIN_TEST_LOGS:-$TESTS_TOP/build/test-logs}
mkdir -p "$LOG_DIR"

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

# Add the counts of a sub-runner from its last "N passed, N failed[, N skipped]" line.
add_counts() {
	local line=$1 p f s
	p=$(sed -n 's/.*\b\([0-9]\+\) passed.*/\1/p' <<<"$line")
	f=$(sed -n 's/.*\b\([0-9]\+\) failed.*/\1/p' <<<"$line")
	s=$(sed -n 's/.*\b\([0-9]\+\) skipped.*/\1/p' <<<"$line")
	n_pass=$((n_pass + ${p:-0}))
	n_fail=$((n_fail + ${f:-0}))
	n_skip=$((n_skip + ${s:-0}))
}

# run_guest LOGNAME [run-qemu options] [-- guest options]: sets $status, $log.
run_guest() {
	log=$LOG_DIR/$1.log
	shift
	"$RUN_QEMU" "$@" >"$log" 2>"$log.err"
	status=$?
}

# expect_status N: fails the case (and returns 1) unless $status is N.
# What the guest said about its end, for a failure message: the crash,
# reset or lockup headline, the lock and the stuck CPUs, the not-ok lines.
# CI keeps only the runner's output, so this is all a CI failure shows.
verdict_lines() {
	local lines
	[ -f "$log" ] || return 0
	lines=$( { grep -aE '^# (CRASH|RESET)|^# LOCKUP: (CPU |lock|irq_lock|inject|mcs tail)' "$log" | head -n 6
		grep -aE '^# LOCKUP: cpu [0-9]+ .* STUCK' "$log" | head -n 3
		grep -a '^not ok' "$log" | head -n 3; } | cut -c1-240)
	[ -n "$lines" ] && printf '\n    %s' "${lines//$'\n'/$'\n    '}"
}

expect_status() {
	if [ "$status" != "$1" ]; then
		fail "exit status $status, expected $1 (log: $log; $(tail -n 2 "$log.err" | tr '\n' ' '))$(verdict_lines)"
		return 1
	fi
}

# expect_ktap [ktap_check.py options]: fails the case unless the log checks
# out, in the narrower form pvspin prints (--pvspin: docs/output.md).
expect_ktap() {
	local out
	if ! out=$("$KTAP_CHECK" "$log" --pvspin "$@" 2>&1); then
		fail "$(echo "$out" | head -n 3 | tr '\n' ' ') (log: $log)"
		return 1
	fi
}

expect_grep() {
	if ! grep -aqE -- "$1" "$log" "$log.err"; then
		fail "output lacks /$1/ (log: $log)"
		return 1
	fi
}

hardware_kvm() { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }
kvm_opens() { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }

summary() {
	echo "$n_pass passed, $n_fail failed, $n_skip skipped"
	[ "$n_fail" = 0 ]
}
