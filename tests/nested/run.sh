#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/nested/run.sh - tests of tools/nested/nested-run.sh (real KVM inside
# TCG). Ends with "N passed, N failed, N skipped" (tests/lib.sh); exit
# status 1 if any failed.
#
# Environment:
#   PVSPIN_IMAGE        pvspin image (default build/pvspin.elf); its cases
#                       are skipped when it is missing
#   NESTED_TEST_288=1   also boot pvspin with 288 vCPUs (slow, see docs/nested.md)
#   NESTED_TEST_KEEP=1  keep the scratch directory

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readonly TOP
. "$TOP/tests/lib.sh"
readonly NESTED_RUN=$TOP/tools/nested/nested-run.sh
readonly TINY_SRC=$TOP/tests/nested/tiny.asm
readonly PVSPIN_IMAGE=${PVSPIN_IMAGE:-$TOP/build/pvspin.elf}

readonly EXIT_USAGE=2
readonly EXIT_BED=125
readonly STATUS_TIMEOUT=124
readonly DEBUG_EXIT_OK=1                 # isa-debug-exit status for value 0: (0 << 1) | 1
readonly TINY_EXIT_VALUE=3               # tiny's exit=3: status (3 << 1) | 1 = 7
readonly TINY_EXIT_STATUS=$(((TINY_EXIT_VALUE << 1) | 1))
readonly RESET_EXIT_STATUS=7            # pvspin's EXIT status 3: (3 << 1) | 1
readonly TINY_HANG_TIMEOUT_S=4           # a hanging run's own timeout
readonly JOB_TIMEOUT_S=60
readonly PIPE_L1_LIMIT_S=600              # an L1 limit far beyond the run
readonly PIPE_CLOSE_WITHIN_S=120         # the run itself takes ~10-20 s
readonly TOO_SHORT_L1_TIMEOUT_S=3        # less than any L1 boot takes
readonly HANG_L1_TIMEOUT_S=20            # enough to boot L1, then it hangs
readonly STALL_READY_LIMIT_S=30          # L1 is ready in 5-16 s; its hooked first boot never
readonly SOFT_LOCKUP_END_WITHIN_S=120    # L1's boot, the report, the register dump
readonly PVSPIN_CPU_COUNTS=(1 4 16)
readonly PVSPIN_MANY_CPUS=288
readonly PVSPIN_MANY_CPUS_TIMEOUT_S=240
readonly DEBUG_EXIT_DEVICE="-device isa-debug-exit,iobase=0xf4,iosize=4"
readonly L2_COMMON="-M q35 -accel kvm -cpu host -nodefaults -no-reboot -display none -serial stdio $DEBUG_EXIT_DEVICE"

SCRATCH=""

# check NAME CONDITION [DETAIL...]: one case of tests/lib.sh, passed when
# the shell CONDITION (evaluated here, so set -e spares it) holds; a failure
# says the DETAILs. Its time runs from the case_begin at the start of the
# test that booted L1 (several checks may read one boot).
check() {
	local name=$1 cond=$2
	shift 2
	case_name=$name
	if eval "$cond"; then
		pass
	else
		fail "$(IFS='|'; echo "$*")"
	fi
}

cleanup() {
	[[ -n $SCRATCH ]] || return 0
	if [[ ${NESTED_TEST_KEEP:-0} == 1 ]]; then
		echo "# scratch kept: $SCRATCH"
	else
		rm -rf "$SCRATCH"
	fi
}

# nested OUT_PREFIX ARGS...: run nested-run.sh; OUT_PREFIX.{out,err,rc}
nested() {
	local prefix=$1 rc=0
	shift
	"$NESTED_RUN" "$@" >"$prefix.out" 2>"$prefix.err" || rc=$?
	echo "$rc" >"$prefix.rc"
}

rc_of() { cat "$1.rc"; }
tail_of() { tail -n "${2:-3}" "$1" | tr '\n' '|'; }

# job PIN TIMEOUT ARGS: one job line
job() { printf '%s\t%s\t%s\n' "$1" "$2" "$3"; }

# --- cases ---------------------------------------------------------------------

# usage_case NAME WANT_STATUS PATTERN STREAM ARGS...: run with ARGS; pass if
# the status is WANT_STATUS and PATTERN is in STREAM (out or err)
usage_case() {
	case_begin "${FUNCNAME[0]}"
	local name=$1 want=$2 pattern=$3 stream=$4 p=$SCRATCH/usage rc
	shift 4
	nested "$p" "$@"
	rc=$(rc_of "$p")
	check "$name" '[[ $rc == "$want" ]] && grep -q -- "$pattern" "$p.$stream"' "status $rc" "$(tail_of "$p.err")"
}

test_usage() {
	usage_case "no arguments: status 2 with usage" "$EXIT_USAGE" '^Usage:' err
	usage_case "unknown option: status 2" "$EXIT_USAGE" 'unknown option' err \
		--bogus-option --image "$TINY" "$SCRATCH/empty.jobs"
	usage_case "missing image: status 2" "$EXIT_USAGE" 'image not found' err \
		--image "$SCRATCH/missing.elf" "$SCRATCH/empty.jobs"
	usage_case "bad --l1-smp: status 2" "$EXIT_USAGE" 'l1-smp' err \
		--l1-smp zero --image "$TINY" "$SCRATCH/empty.jobs"
	usage_case "bad --l0-tcg: status 2" "$EXIT_USAGE" 'l0-tcg must be multi or single' err \
		--l0-tcg double --image "$TINY" "$SCRATCH/empty.jobs"
	usage_case "--l0-qemu that does not exist: status 2" "$EXIT_USAGE" 'l0-qemu: no such executable' err \
		--l0-qemu "$SCRATCH/no-such-qemu" --image "$TINY" "$SCRATCH/empty.jobs"
	usage_case "bad --l1-boots: status 2" "$EXIT_USAGE" 'l1-boots must be a positive integer' err \
		--l1-boots 0 --image "$TINY" "$SCRATCH/empty.jobs"
	usage_case "bad --l1-stall-limit: status 2" "$EXIT_USAGE" 'l1-stall-limit must be a positive integer' err \
		--l1-stall-limit -1 --image "$TINY" "$SCRATCH/empty.jobs"
	usage_case "bad --l1-ready-limit: status 2" "$EXIT_USAGE" 'l1-ready-limit must be a positive integer' err \
		--l1-ready-limit 5s --image "$TINY" "$SCRATCH/empty.jobs"
	usage_case "bad --l1-break: status 2" "$EXIT_USAGE" 'l1-break must be' err \
		--l1-break sometimes --image "$TINY" "$SCRATCH/empty.jobs"
	printf 'x\t10\t-M q35\n' >"$SCRATCH/bad.jobs"
	usage_case "bad job line: status 2" "$EXIT_USAGE" 'PIN must be' err \
		--image "$TINY" "$SCRATCH/bad.jobs"
	printf '2\t10\t-M q35\n' >"$SCRATCH/pin.jobs"
	usage_case "PIN beyond L1's CPUs: status 2" "$EXIT_USAGE" 'L1 lacks' err \
		--l1-smp 2 --image "$TINY" "$SCRATCH/pin.jobs"
	usage_case "--help: status 0" 0 '--l1-break-module' out --help
}

# No apt lists (a fresh container image) and no network, with nothing cached:
# the bed must end in 125 with one line naming the cause, not die silently
# under set -e with apt's or stat's own status (issue 12, R7).
test_no_apt_lists_offline() {
	case_begin "${FUNCNAME[0]}"
	local p=$SCRATCH/noapt rc name="no apt lists, offline, empty cache: status 125 naming apt"
	if [[ $(id -u) != 0 ]] || ! command -v unshare >/dev/null; then
		skip "needs root and unshare (a private mount and network namespace)"
		return
	fi
	mkdir -p "$SCRATCH/noapt-cache"
	rc=0
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m -n sh -c 'mount -t tmpfs tmpfs /var/lib/apt/lists &&
		XDG_CACHE_HOME=$1 exec "$2" --quiet --image "$3" "$4"' sh \
		"$SCRATCH/noapt-cache" "$NESTED_RUN" "$TINY" "$SCRATCH/tiny1.jobs" \
		>"$p.out" 2>"$p.err" || rc=$?
	check "$name" '[[ $rc == "$EXIT_BED" ]] && [[ $(grep -c "bed failure:" "$p.err") == 1 ]] && grep -q "bed failure: apt-get update" "$p.err"' \
		"status $rc" "$(grep -v '^W:' "$p.err" | tail -n 2 | tr '\n' '|')"
}

test_prepare() {
	case_begin "${FUNCNAME[0]}"
	local p=$SCRATCH/prepare rc
	nested "$p" --prepare
	rc=$(rc_of "$p")
	check "cache prepared" '[[ $rc == 0 ]]' "status $rc" "$(tail_of "$p.err")"
	[[ $rc == 0 ]]
}

# broken_module_case MODULE: L1 without MODULE fails with 125 naming it
broken_module_case() {
	case_begin "${FUNCNAME[0]}"
	local mod=$1 p=$SCRATCH/broken rc name="L1 without $1: status 125, reason names the module"
	nested "$p" --quiet --l1-break-module "$mod" --status-file "$p.status" \
		--image "$TINY" "$SCRATCH/tiny1.jobs"
	rc=$(rc_of "$p")
	check "$name" '[[ $rc == "$EXIT_BED" ]] && grep -q "bed failure: insmod ${mod//-/_} failed" "$p.err" && [[ ! -s $p.out ]]' \
		"status $rc" "$(tail_of "$p.err")"
}

# L1's kvm-anchor (tools/nested/kvm-anchor.c) is built per call; a build
# that fails is a bed failure naming it, before L1 boots.
test_anchor_build_fails() {
	case_begin "${FUNCNAME[0]}"
	local p=$SCRATCH/anchor rc name="kvm-anchor cannot be built: status 125, reason names it"
	CC=false nested "$p" --quiet --image "$TINY" "$SCRATCH/tiny1.jobs"
	rc=$(rc_of "$p")
	check "$name" '[[ $rc == "$EXIT_BED" ]] && grep -q "bed failure: cannot build L1.s kvm-anchor" "$p.err" && [[ ! -s $p.out ]]' \
		"status $rc" "$(tail_of "$p.err")"
}

test_broken_module() {
	broken_module_case kvm-amd         # after the host channels are up
	broken_module_case virtio_console  # before: reported over the console
}

test_panic() {
	case_begin "${FUNCNAME[0]}"
	local p=$SCRATCH/panic rc
	nested "$p" --quiet --l1-break panic --diag-dir "$p.diag" --image "$TINY" "$SCRATCH/tiny1.jobs"
	rc=$(rc_of "$p")
	check "L1 kernel panic: status 125" '[[ $rc == "$EXIT_BED" ]] && grep -q "bed failure: L1 stopped" "$p.err"' \
		"status $rc" "$(tail_of "$p.err")"
	# What ended L1 is named on the failure line; its logs are kept.
	check "L1 kernel panic: the failure names QEMU's status and the panic" \
		'grep -q "bed failure: L1 stopped.*L1 QEMU exited 0.*L1 kernel: .*Kernel panic" "$p.err"' "$(tail_of "$p.err" 1)"
	check "L1 kernel panic: console and L1 QEMU log in --diag-dir" \
		'grep -q "Kernel panic" "$p.diag/l1-console.log" && grep -q "CPU Reset" "$p.diag/l1-qemu.log"' \
		"$(ls "$p.diag" 2>&1 | tr '\n' ' ')"
}

test_l1_timeout() {
	case_begin "${FUNCNAME[0]}"
	local p=$SCRATCH/l1timeout rc
	nested "$p" --quiet --timeout "$TOO_SHORT_L1_TIMEOUT_S" --image "$TINY" "$SCRATCH/tiny1.jobs"
	rc=$(rc_of "$p")
	check "L1 boot timeout: status 125" '[[ $rc == "$EXIT_BED" ]] && grep -q "bed failure: L1 boot timed out" "$p.err"' \
		"status $rc" "$(tail_of "$p.err")"
}

test_l1_hang() {
	case_begin "${FUNCNAME[0]}"
	local p=$SCRATCH/hang rc
	nested "$p" --quiet --l1-break hang --timeout "$HANG_L1_TIMEOUT_S" --image "$TINY" "$SCRATCH/tiny1.jobs"
	rc=$(rc_of "$p")
	check "L1 hanging after KVM is ready: status 125 at --timeout" \
		'[[ $rc == "$EXIT_BED" ]] && grep -q "bed failure: L1 run exceeded the limit of" "$p.err"' \
		"status $rc" "$(tail_of "$p.err")"
	check "L1 hanging: where each L1 CPU was before the limit (monitor registers)" \
		'grep -Eq "^  L1 CPU#0 RIP=[0-9a-f]{16} CPL=[0-3] HLT=[01]: " "$p.err"' \
		"$(grep -A2 "L1 CPUs" "$p.err" | tr '\n' ' ')"
}

# An L1 boot that stalls before KVM is ready (QEMU TCG below it; no L2 has
# run) is stopped at --l1-ready-limit and L1 booted again; the jobs then run
# in boot 2, which the env JSON names. The hook hangs only boot 1.
test_l1_boot_stall() {
	case_begin "${FUNCNAME[0]}"
	local p=$SCRATCH/stall rc err
	nested "$p" --l1-break hang-first-boot --l1-ready-limit "$STALL_READY_LIMIT_S" \
		--status-file "$p.status" --env-file "$p.env" --diag-dir "$p.diag" --image "$TINY" "$SCRATCH/tiny1.jobs"
	rc=$(rc_of "$p")
	err=$(grep -v '^nested-run.sh: run 1\|L1 ready\|L1 exited' "$p.err" | tail -n 6 | tr '\n' '|')
	check "L1 boot stalled before KVM: stopped at the ready limit and booted again, status 0" \
		'[[ $rc == 0 ]] && grep -q "L1 boot 1 of at most 2 stalled: L1 not ready (KVM loaded) within $STALL_READY_LIMIT_S s" "$p.err" &&
		grep -q "booting L1 again (boot 2 of at most 2)" "$p.err"' "status $rc" "$err"
	check "L1 boot stalled: the jobs ran in boot 2 (env JSON l1_boot 2), one '# l1:' line, the run's status" \
		'grep -q "\"l1_boot\":2}" "$p.env" && [[ $(grep -c "^# l1: " "$p.out") == 1 && $(cat "$p.status") == "$DEBUG_EXIT_OK" ]]' \
		"env $(cat "$p.env" 2>&1 | grep -o '"l1_boot":[0-9]*'), status file $(cat "$p.status" 2>&1)"
	check "L1 boot stalled: where its CPUs were on stderr, its console and registers in --diag-dir as l1-boot-1.*" \
		'grep -Eq "^  L1 CPU#0 RIP=[0-9a-f]{16} CPL=[0-3] HLT=[01]: " "$p.err" && [[ -f $p.diag/l1-boot-1.console.log ]] &&
		grep -q "^CPU#0" "$p.diag/l1-boot-1.cpus.txt"' \
		"$(grep -A2 "L1 CPUs" "$p.err" | tr '\n' ' ')" "$(ls "$p.diag" 2>&1 | tr '\n' ' ')"

	p=$SCRATCH/stall1
	nested "$p" --quiet --l1-boots 1 --l1-break hang-first-boot --l1-ready-limit "$STALL_READY_LIMIT_S" \
		--image "$TINY" "$SCRATCH/tiny1.jobs"
	rc=$(rc_of "$p")
	check "L1 boot stalled with --l1-boots 1: status 125 at the ready limit, naming it, with where L1's CPUs were" \
		'[[ $rc == "$EXIT_BED" ]] && grep -q "bed failure: L1 not ready (KVM loaded) within $STALL_READY_LIMIT_S s of its start, in each of 1 boot" "$p.err" &&
		grep -Eq "^  L1 CPU#1 RIP=[0-9a-f]{16} " "$p.err" && [[ ! -s $p.out ]]' \
		"status $rc" "$(tail_of "$p.err")"
}

# L1's watchdog reporting a CPU stuck past --l1-stall-limit ends L1 at once
# (R8's kind 2 waited out a 24-minute limit): 125 naming the report, with
# where L1's CPUs were then. The hook prints the report as Linux does, then
# hangs; the bed's own limit is far away.
test_l1_soft_lockup() {
	case_begin "${FUNCNAME[0]}"
	local p=$SCRATCH/softlockup rc=0
	timeout "$SOFT_LOCKUP_END_WITHIN_S" "$NESTED_RUN" --quiet --l1-break softlockup --timeout "$PIPE_L1_LIMIT_S" \
		--diag-dir "$p.diag" --image "$TINY" "$SCRATCH/tiny1.jobs" >"$p.out" 2>"$p.err" || rc=$?
	check "L1's watchdog reports a CPU stuck: L1 ended then, not at the limit, status 125 naming the report" \
		'[[ $rc == "$EXIT_BED" ]] && grep -q "bed failure: L1 stalled after 0 of 1 runs: .*watchdog: BUG: soft lockup - CPU#1 stuck for 999s" "$p.err"' \
		"status $rc" "$(tail_of "$p.err" 2)"
	check "L1 stalled: where L1's CPUs were when the report came, kept in --diag-dir" \
		'grep -Eq "^  L1 CPUs when L1.s watchdog reported it" "$p.err" && grep -Eq "^  L1 CPU#1 RIP=[0-9a-f]{16} " "$p.err" &&
		grep -q "^CPU#0" "$p.diag/l1-cpus.txt"' "$(grep -A2 "L1 CPUs" "$p.err" | tr '\n' ' ')"
}

# --l0-qemu runs L1 on another QEMU binary (here a wrapper of the host's
# that says a version of its own); the env JSON names that version.
test_l0_qemu() {
	case_begin "${FUNCNAME[0]}"
	local p=$SCRATCH/l0qemu rc wrapper=$SCRATCH/l0-wrapper version=0.0.0-pvspin-l0-test
	cat >"$wrapper" <<EOF
#!/bin/sh
[ "\$1" = --version ] && { echo "QEMU emulator version $version"; exit 0; }
: >"$wrapper.used"
exec qemu-system-x86_64 "\$@"
EOF
	chmod +x "$wrapper"
	nested "$p" --quiet --l0-qemu "$wrapper" --env-file "$p.env" --status-file "$p.status" \
		--image "$TINY" "$SCRATCH/tiny1.jobs"
	rc=$(rc_of "$p")
	check "--l0-qemu: L1 runs on that binary, the env JSON's l0 names its version, the run passes" \
		'[[ $rc == 0 && -e $wrapper.used && $(cat "$p.status") == "$DEBUG_EXIT_OK" ]] &&
		grep -q "\"l0\":\"qemu $version tcg -cpu max\"" "$p.env"' \
		"status $rc" "$(grep -o '"l0":"[^"]*"' "$p.env" 2>&1)" "$(tail_of "$p.err")"
}

# The bed's output through a pipe, as run-qemu.sh reads it: the pipe must
# close when the bed is done. A background child that kept the bed's stdout
# (the L1 register dump's timer, which sleeps until just before the limit)
# held run-qemu.sh for the whole limit after every nested call.
test_pipe_closes() {
	case_begin "${FUNCNAME[0]}"
	local p=$SCRATCH/pipe rc=0
	timeout "$PIPE_CLOSE_WITHIN_S" bash -c '"$1" --quiet --timeout "$2" --image "$3" "$4" | cat >"$5"' _ \
		"$NESTED_RUN" "$PIPE_L1_LIMIT_S" "$TINY" "$SCRATCH/tiny1.jobs" "$p.out" 2>"$p.err" || rc=$?
	check "the bed's output pipe closes when it is done (not at the L1 limit)" '[[ $rc == 0 ]]' \
		"status $rc (124: the pipe stayed open $PIPE_CLOSE_WITHIN_S s of a $PIPE_L1_LIMIT_S s limit)" "$(tail_of "$p.err")"
}

# expected_tiny_output: what tiny prints under KVM, without the "# l1:" line
expected_tiny_output() {
	printf 'tiny: hello\ntiny: hv=KVMKVMKVM\0\0\0 feat=%s\n' "$1" | tr -d '\0'
	printf 'tiny: raw\t\0\001\033\177\377\r\r\nok 1 tiny\n'
}

test_tiny_batch() {
	case_begin "${FUNCNAME[0]}"
	local p=$SCRATCH/batch rc name="batch of 3 L2 runs in one L1 boot"
	{
		job - "$JOB_TIMEOUT_S" "$L2_COMMON -m 64 -smp 1 -kernel @IMAGE@"
		job 0 "$JOB_TIMEOUT_S" "$L2_COMMON -m 64 -smp 4 -kernel @IMAGE@ -append 'exit=$TINY_EXIT_VALUE'"
		job - "$TINY_HANG_TIMEOUT_S" "$L2_COMMON -m 64 -kernel @IMAGE@ -append hang"
	} >"$SCRATCH/batch.jobs"
	nested "$p" --status-file "$p.status" --env-file "$p.env" --diag-dir "$p.diag" \
		--image "$TINY" "$SCRATCH/batch.jobs"
	rc=$(rc_of "$p")
	check "$name: status 0" '[[ $rc == 0 ]]' "status $rc" "$(tail_of "$p.err")"
	[[ $rc == 0 ]] || return 0

	local want_status
	want_status=$(printf '%s\n' "$DEBUG_EXIT_OK" "$TINY_EXIT_STATUS" "$STATUS_TIMEOUT")
	check "status file: 1, 7, 124 (timeout)" '[[ $(cat "$p.status") == "$want_status" ]]' \
		"got: $(tr '\n' ' ' <"$p.status")"

	local env l1_lines
	env=$(cat "$p.env")
	l1_lines=$(grep -c '^# l1: ' "$p.out" || true)
	check "one '# l1:' line per run, same JSON as --env-file" \
		'[[ $l1_lines == 3 ]] && grep -qxF "# l1: $env" "$p.out"' "l1 lines: $l1_lines"
	local key missing=()
	for key in '"kernel":' '"package":"linux-image-' '"halt_poll_ns":' '"npt":' '"avic":' \
		'"cpu_vendor":"AuthenticAMD"' '"svm_flags":\[[^]]*"svm"' '"cpus":' '"mem_kb":' '"kvm_anchor":true' '"l1_boot":1}'; do
		grep -q "$key" <<<"$env" || missing+=("$key")
	done
	check "L1 JSON has kernel, package, kvm parameters, CPU and SVM flags, kvm-anchor held" '[[ ${#missing[@]} == 0 ]]' \
		"lacks ${missing[*]-}" "$env"

	# byte-exact: stdout == for each run "# l1:" line + tiny's output
	local feat
	feat=$(sed -n 's/^tiny: hv=KVMKVMKVM feat=\([0-9a-f]*\)$/\1/p' "$p.out" | head -n 1)
	{
		for _ in 1 2 3; do
			printf '# l1: %s\n' "$env"
			expected_tiny_output "${feat:-unknown}"
		done
	} >"$p.expected"
	check "stdout byte-exact: only the L2 serial output and '# l1:' lines" 'cmp -s "$p.expected" "$p.out"' \
		"$(cmp "$p.expected" "$p.out" 2>&1 || true)"
	# Runs 2 (exit=3) and 3 (timeout) did not pass: their L2 QEMU log
	# (-d guest_errors,cpu_reset: a register dump per vCPU reset) and L1's
	# dmesg came back; run 1 passed and left nothing.
	check "--diag-dir: L2 QEMU log and L1 dmesg of the runs that failed, none of the pass" \
		'grep -q "CPU Reset" "$p.diag/run-2.qemu.log" && grep -q "CPU Reset" "$p.diag/run-3.qemu.log" &&
		 grep -q "kvm" "$p.diag/run-2.l1-dmesg" && [[ ! -e $p.diag/run-1.qemu.log ]]' \
		"$(ls "$p.diag" 2>&1 | tr '\n' ' ')"
	# PV_UNHALT (bit 7) of CPUID 0x40000001: KVM's PV features reach L2
	check "L2 sees KVM with PV_UNHALT (feat=${feat:-none})" '[[ -n $feat ]] && ((0x$feat & (1 << 7)))' "feat=$feat"
}

# smp_run_problems OUTFILE RUN_INDEX CPUS: what is wrong with the smp result
# of one run of the batch, read with tools/pvlog.py; nothing when all is well.
smp_run_problems() {
	PYTHONPATH=$TOP/tools python3 - "$@" <<'PY'
import sys
import pvlog
runs = pvlog.parse(pvlog.read_log(sys.argv[1]))
idx, cpus = int(sys.argv[2]), int(sys.argv[3])
if len(runs) < idx:
    sys.exit(print(f'the output holds {len(runs)} runs'))
run = runs[idx - 1]
bad = list(run.problems)
smp = [r.status for r in run.results if r.description == 'smp']
if smp != ['ok']:
    bad.append(f'smp results: {smp}')
online = [j.get('cpus_online') for j in run.json if j.get('test') == 'smp']
if online != [cpus]:
    bad.append(f'cpus_online: {online}')
if run.exit_status != 0:
    bad.append(f'EXIT: STATUS={run.exit_status}')
print('; '.join(bad), end='')
PY
}

# reset_run_problems OUTFILE RUN_INDEX: what is wrong with a test=smp,reset run
reset_run_problems() {
	PYTHONPATH=$TOP/tools python3 - "$@" <<'PY'
import sys
import pvlog
runs = pvlog.parse(pvlog.read_log(sys.argv[1]))
idx = int(sys.argv[2])
if len(runs) < idx:
    sys.exit(print(f'the output holds {len(runs)} runs'))
run = runs[idx - 1]
bad = list(run.problems)
got = [(r.description, r.status) for r in run.results]
if got != [('smp', 'ok'), ('reset', 'fail')]:
    bad.append(f'results {got}')
if not run.reset:
    bad.append('no "# RESET:" line')
if run.exit_status != 3:
    bad.append(f'EXIT: STATUS={run.exit_status}')
print('; '.join(bad), end='')
PY
}

# check_pvspin_smp OUTFILE RUN_INDEX CPUS STATUS: KTAP of one run of the batch
check_pvspin_smp() {
	local out=$1 idx=$2 cpus=$3 status=$4 problems
	problems=$(smp_run_problems "$out" "$idx" "$cpus" 2>&1) || true
	check "pvspin test=smp at $cpus vCPUs under nested KVM" '[[ $status == "$DEBUG_EXIT_OK" && -z $problems ]]' \
		"status $status" "$problems"
}

test_pvspin() {
	case_begin "${FUNCNAME[0]}"
	if [[ ! -f $PVSPIN_IMAGE ]]; then
		case_begin "pvspin under nested KVM"
		skip "no image $PVSPIN_IMAGE (run make)"
		return 0
	fi
	local p=$SCRATCH/pvspin rc n i=0
	: >"$SCRATCH/pvspin.jobs"
	for n in "${PVSPIN_CPU_COUNTS[@]}"; do
		job - "$JOB_TIMEOUT_S" "$L2_COMMON -bios qboot.rom -m 128 -smp $n -kernel @IMAGE@ -append 'test=smp'" \
			>>"$SCRATCH/pvspin.jobs"
	done
	# A triple fault on an AP, with resets allowed (as run-qemu.sh sends
	# every L2 run): the restarted guest ends the run, and QEMU's reset
	# log, with the faulting CPU's IDT of limit 0, comes back.
	job - "$JOB_TIMEOUT_S" "${L2_COMMON/ -no-reboot/} -bios qboot.rom -m 128 -smp 2 -kernel @IMAGE@ -append 'test=smp,reset'" \
		>>"$SCRATCH/pvspin.jobs"
	local reset_run=$((${#PVSPIN_CPU_COUNTS[@]} + 1))
	if [[ ${NESTED_TEST_288:-0} == 1 ]]; then
		job - "$PVSPIN_MANY_CPUS_TIMEOUT_S" "$L2_COMMON -bios qboot.rom -m 256 -smp $PVSPIN_MANY_CPUS -kernel @IMAGE@ -append 'test=smp'" \
			>>"$SCRATCH/pvspin.jobs"
	fi
	nested "$p" --status-file "$p.status" --diag-dir "$p.diag" --image "$PVSPIN_IMAGE" "$SCRATCH/pvspin.jobs"
	rc=$(rc_of "$p")
	if [[ $rc != 0 ]]; then
		check "pvspin batch under nested KVM" false "status $rc" "$(tail_of "$p.err")"
		return 0
	fi
	local -a statuses
	mapfile -t statuses <"$p.status"
	for n in "${PVSPIN_CPU_COUNTS[@]}"; do
		check_pvspin_smp "$p.out" $((i + 1)) "$n" "${statuses[i]:-none}"
		i=$((i + 1))
	done
	local reset_problems
	reset_problems=$(reset_run_problems "$p.out" "$reset_run" 2>&1) || true
	check "a triple fault in L2: the restarted guest keeps the plan (not ok ... machine reset), status 3" \
		'[[ ${statuses[i]:-none} == "$RESET_EXIT_STATUS" && -z $reset_problems ]]' \
		"status ${statuses[i]:-none}" "$reset_problems"
	# The last dump of each vCPU: CPU 0 in long mode (RIP=, the state of the
	# moment), CPU 1, which shut down, with its IDT of limit 0 or, as KVM on
	# AMD re-initialises a vCPU that shuts down, in the reset state.
	local last
	last=$(awk '/^CPU Reset \(CPU [0-9]+\)/ { c = $4 + 0 } /^(RIP|EIP)=/ { ip[c] = $1 }
		/^IDT=/ { idt[c] = $3 } END { print ip[0], ip[1], idt[1] }' "$p.diag/run-$reset_run.qemu.log" 2>/dev/null)
	check "a triple fault in L2: QEMU's reset log comes back with each vCPU's state of the moment" \
		'[[ $last =~ ^RIP=[0-9a-f]{16}\ (EIP=0000fff0|RIP=[0-9a-f]{16}\ 00000000$) ]]' \
		"last dumps (CPU 0 ip, CPU 1 ip, CPU 1 IDT limit): ${last:-none}; $(ls "$p.diag" 2>&1 | tr '\n' ' ')"
	# L1's KVM saw the shutdown: its kprobe names the vCPU thread.
	check "a triple fault in L2: L1's trace names the vCPU that shut down (CPU 1/KVM)" \
		'grep -q "CPU 1/KVM.*svm_shutdown" "$p.diag/run-$reset_run.l1-trace"' \
		"$(head -n 3 "$p.diag/run-$reset_run.l1-trace" 2>&1 | tr '\n' ' ')"
	i=$((i + 1))
	if [[ ${NESTED_TEST_288:-0} == 1 ]]; then
		check_pvspin_smp "$p.out" $((i + 1)) "$PVSPIN_MANY_CPUS" "${statuses[i]:-none}"
	fi
	grep -E '^nested-run.sh: (L1 ready|run [0-9]+: status|L1 exited)' "$p.err" | sed 's/^/# /' || true
}

main() {
	case_begin main
	if ! command -v nasm >/dev/null; then
		check "nasm builds tests/nested/tiny.asm" false "nasm missing (apt-get install nasm)"
		summary
		exit 1
	fi
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/pvspin-nested-test.XXXXXX")
	trap cleanup EXIT
	TINY=$SCRATCH/tiny.elf
	nasm -f bin -o "$TINY" "$TINY_SRC"
	: >"$SCRATCH/empty.jobs"
	job - "$JOB_TIMEOUT_S" "$L2_COMMON -m 64 -kernel @IMAGE@" >"$SCRATCH/tiny1.jobs"

	test_usage
	test_no_apt_lists_offline
	if test_prepare; then
		test_l1_timeout
		test_anchor_build_fails
		test_broken_module
		test_panic
		test_l1_hang
		test_l1_boot_stall
		test_l0_qemu
		test_l1_soft_lockup
		test_pipe_closes
		test_tiny_batch
		test_pvspin
	else
		case_begin "L1 cases"
		skip "the cache could not be prepared"
	fi
	summary
}

main "$@"
