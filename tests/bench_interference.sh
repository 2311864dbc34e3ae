# SPDX-License-Identifier: MIT
# Tests of the bench runner's interference modes and --accel check (sourced by tests/bench.sh).

# bench_intf_check DIR MODE: the results of a one-lock, 2-vCPU run under
# MODE (quota or stall) show the interference measured on the host, within
# 30% of what was asked (the one timing-dependent check, as issue 11 asks).
bench_intf_check() {
	python3 - "$1" "$2" <<'PY'
import json, sys
out, mode = sys.argv[1], sys.argv[2]
TOLERANCE = 0.3
bad = []
records = [json.loads(l) for l in open(f'{out}/results.jsonl')]
if not records:
    bad.append('no records')
for r in records:
    where = f"{r['config']} {r['lock']}"
    i = r.get('interference') or {}
    m = i.get('measured') or {}
    if r['status'] != 'ok':
        bad.append(f"{where}: status {r['status']} ({r.get('reason')})")
        continue
    if i.get('mode') != mode or not i.get('mechanism'):
        bad.append(f"{where}: interference {json.dumps(i)[:200]}")
        continue
    if r.get('accel') != 'tcg' or r.get('env', {}).get('accel') != 'tcg':
        bad.append(f"{where}: accel {r.get('accel')}, expected tcg")
    if not (r.get('host_cpu_ns') or 0) > 0 or not (r.get('acquisitions_per_cpu_s') or 0) > 0:
        bad.append(f"{where}: host_cpu_ns {r.get('host_cpu_ns')}, "
                   f"acquisitions_per_cpu_s {r.get('acquisitions_per_cpu_s')}")
    for key in ('host_scheduler', 'host_slice', 'host_cgroup', 'host_smt', 'vcpu_pinning'):
        if not r.get('env', {}).get(key):
            bad.append(f'{where}: env has no {key}')
    for v in m.get('per_vcpu', []):
        w = m['window_ns']
        if mode == 'quota':
            want = i['pct'] / 100
            # A quota is a ceiling: a loaded host may give less, never more
            # (a vCPU starved by other work is never throttled: see below).
            if v['run_ns'] / w > want * (1 + TOLERANCE):
                bad.append(f"{where} vCPU {v['vcpu']}: ran {v['run_ns'] / w:.1%} of the window, "
                           f"quota {want:.0%}")
        else:
            want = i['len_ms'] / i['every_ms'] / len(m['per_vcpu'])
            got = v['frozen_ns'] / w
            if not abs(got - want) <= want * TOLERANCE:
                bad.append(f"{where} vCPU {v['vcpu']}: frozen {got:.1%} of the window, "
                           f"asked {want:.1%}")
    vcpus = m.get('per_vcpu', [])
    if mode == 'quota' and not (sum(v['throttled_ns'] or 0 for v in vcpus) > 0 and
                                sum(v['nr_throttled'] or 0 for v in vcpus) > 0):
        bad.append(f"{where}: no vCPU throttled: " +
                   ", ".join(f"{v['throttled_ns']} ns in {v['nr_throttled']} periods" for v in vcpus))
    if mode == 'stall' and not abs(m.get('stall_ms_mean', 0) - i['len_ms']) <= i['len_ms'] * TOLERANCE:
        bad.append(f"{where}: stalls of {m.get('stall_ms_mean')} ms on average, asked {i['len_ms']}")
for b in bad[:5]:
    print(b)
sys.exit(1 if bad else 0)
PY
}

# bench_intf_run NAME MODE MECHANISM ARGS...: a short run under MODE, its
# mechanism matching /MECHANISM/, checked.
bench_intf_run() {
	local name=$1 mode=$2 mech=$3 out=$LOG_DIR/bench-$1 why
	shift 3
	case_begin "bench runner: $* (2 vCPUs, tas): interference measured on the host within 30%"
	rm -rf "$out"
	log=$LOG_DIR/bench-$name.log
	"$BENCH_MATRIX" --configs 2@0-1 --locks tas --reps 1 --duration-ms 300 --warmup-ms 30 \
		--accel tcg --no-plot --out "$out" "$@" >"$log" 2>"$log.err"
	status=$?
	if expect_status 0; then
		if ! grep -q 'run-qemu.sh: accel=tcg (forced)' "$out"/logs/*.err; then
			fail "run-qemu.sh was not given --accel tcg (outputs: $out)"
		elif ! grep -qE "\"mechanism\": \"$mech" "$out/results.jsonl"; then
			fail "the mechanism is not /$mech/ (outputs: $out)"
		elif why=$(bench_intf_check "$out" "$mode" 2>&1); then
			pass
		else
			fail "$(echo "$why" | tr '\n' ';') (outputs: $out)"
		fi
	fi
}

# bench_leftovers: what an ended runner left behind (cgroups, frozen groups, hogs).
bench_leftovers() {
	local d
	for d in /sys/fs/cgroup/cpu/pvspin-bench-* /sys/fs/cgroup/freezer/pvspin-bench-* \
		/sys/fs/cgroup/unified/pvspin-bench-*; do
		[ -e "$d" ] && echo "cgroup $d"
	done
	grep -l FROZEN /sys/fs/cgroup/freezer/*/freezer.state 2>/dev/null | sed 's/^/frozen /'
	grep -l '^frozen 1' /sys/fs/cgroup/unified/*/cgroup.events /sys/fs/cgroup/unified/*/*/cgroup.events \
		2>/dev/null | sed 's/^/frozen /'
	pgrep -f 'pvbench/hog.py' | sed 's/^/hog process /'
}

# bench_interrupt SIGNAL MODE [ARGS...]: a runner stopped by SIGNAL mid-run leaves nothing behind.
bench_interrupt() {
	local sig=$1 mode=$2 out=$LOG_DIR/bench-interrupt-$1 pid i left
	shift 2
	case_begin "bench runner: SIG$sig mid-run under $mode $*: every cgroup removed, nothing frozen, no hog left"
	rm -rf "$out"
	log=$LOG_DIR/bench-interrupt-$sig.log
	"$BENCH_MATRIX" --configs "2@0-1~$mode" --locks tas --reps 3 --duration-ms 3000 --warmup-ms 30 \
		--no-plot --out "$out" "$@" >"$log" 2>"$log.err" &
	pid=$!
	# Wait until the VM runs under its interference (its result lines come later).
	for i in $(seq 1 150); do
		[ -n "$(ls -d /sys/fs/cgroup/freezer/pvspin-bench-* /sys/fs/cgroup/cpu/pvspin-bench-* \
			/sys/fs/cgroup/unified/pvspin-bench-* 2>/dev/null)$(pgrep -f 'pvbench/hog.py')" ] && break
		sleep 0.1
	done
	sleep 0.5
	kill -"$sig" "$pid"
	wait "$pid"
	status=$?
	left=$(bench_leftovers)
	if [ -n "$left" ]; then
		fail "left behind: $(echo "$left" | tr '\n' ' ')"
	elif [ "$i" = 150 ]; then
		fail "the run never started its interference (log: $log)"
	elif ! grep -q 'interrupted' "$log.err"; then
		fail "status $status, no 'interrupted' message (log: $log)"
	else
		pass
	fi
}

test_bench_interference() {
	bench_bad_args "--quota 0" "--quota '0': PCT: 0 is out of range; accepted: PCT" --quota 0
	bench_bad_args "--quota 150" "--quota '150': PCT: 150 is out of range" --quota 150
	bench_bad_args "--quota 25/0.5 (period)" "--quota '25/0.5': PERIOD_MS: 0.5 is out of range" --quota 25/0.5
	bench_bad_args "--quota 5 (below the kernel's 1 ms quota)" "below the kernel's minimum quota" --quota 5
	bench_bad_args "--quota with more vCPUs than CPUs" \
		"--quota on config 4@0-1: 4 vCPU threads for 2 CPUs.*accepted: at most 2" --configs 4@0-1 --quota 25
	bench_bad_args "--stall 20/10" "--stall '20/10': LEN_MS 20 must be above 0 and below EVERY_MS 10" --stall 20/10
	bench_bad_args "--stall 5 (malformed)" "--stall '5': accepted: LEN_MS/EVERY_MS" --stall 5
	bench_bad_args "--stall 5/10:sometimes" "--stall '5/10:sometimes': order 'sometimes'; accepted: rr, random" \
		--stall 5/10:sometimes
	bench_bad_args "--hog on a CPU outside the machine" "--hog '99999:50/10': CPU 99999 is not a CPU of this machine" \
		--hog 99999:50/10
	bench_bad_args "--hog 0:50 (malformed)" "--hog '0:50': accepted: CPUSET:DUTY%/PERIOD_MS" --hog 0:50
	bench_bad_args "--hog 0:0/10" "--hog '0:0/10': DUTY: 0 is out of range" --hog 0:0/10
	bench_bad_args "a --configs item's bad mode" "--configs '2@0-1~stall=9/3' '9/3': LEN_MS 9 must be above 0" --configs '2@0-1~stall=9/3'
	bench_bad_args "--stall-sweep 0,100" "--stall-sweep '100': accepted: percentages" --stall-sweep 0,100
	bench_bad_args "--stall-mechanism magic" "--stall-mechanism 'magic': accepted: auto, freezer-v1" \
		--stall 5/10 --stall-mechanism magic
	bench_bad_args "--stall with --accel nested" "under --accel nested the vCPU threads belong to L1" \
		--stall 5/10 --accel nested
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	   setpriv --reuid 65534 --regid 65534 --clear-groups "$BENCH_MATRIX" --help >/dev/null 2>&1; then
		case_begin "bench runner: --stall as uid 65534: status 2, names what is missing"
		log=$LOG_DIR/bench-nonroot.log
		setpriv --reuid 65534 --regid 65534 --clear-groups "$BENCH_MATRIX" --stall 5/10 \
			--out /tmp/pvspin-bench-nonroot.$$ >"$log" 2>"$log.err"
		status=$?
		expect_status 2 && expect_grep "--stall: needs root to make cgroups" && pass
	fi

	if [ "$(id -u)" != 0 ] || [ ! -w /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] || [ ! -w /sys/fs/cgroup/freezer/tasks ]; then
		case_begin "bench runner: --quota, --stall runs and their cleanup"
		skip "needs root and writable cgroup v1 cpu and freezer hierarchies"
	else
		bench_intf_run quota quota "cgroup v1 cpu.cfs_quota_us" --quota 25
		bench_intf_run stall stall "cgroup v1 freezer" --stall 5/10:rr
		bench_intf_run stall-bandwidth stall "cgroup v1 CPU bandwidth" --stall 5/10:rr \
			--stall-mechanism bandwidth
		bench_interrupt INT stall=5/10:rr
		bench_interrupt TERM hog=0:50/10
		if [ -w /sys/fs/cgroup/unified/cgroup.procs ]; then
			bench_intf_run stall-v2 stall "cgroup v2 freezer" --stall 5/10:rr \
				--stall-mechanism freezer-v2
			bench_interrupt INT stall=5/10:rr --stall-mechanism freezer-v2
		else
			case_begin "bench runner: --stall-mechanism freezer-v2"
			skip "no writable cgroup v2 at /sys/fs/cgroup/unified"
		fi
	fi

	# --accel: a run-qemu.sh that runs another accelerator than asked is refused.
	local fake=$LOG_DIR/bench-fake-run-qemu.sh
	printf '#!/bin/sh\necho "run-qemu.sh: accel=kvm (fake: a runner that ignores --accel)" >&2\nexec %s "$@"\n' \
		"$TESTS_TOP/run-qemu.sh" >"$fake"
	chmod +x "$fake"
	case_begin "bench runner: --accel tcg, but run-qemu.sh runs kvm: refused, status 2, names both"
	rm -rf "$LOG_DIR/bench-accel"
	log=$LOG_DIR/bench-accel.log
	"$BENCH_MATRIX" --configs 2@0-1 --locks tas --reps 2 --duration-ms 50 --warmup-ms 10 --no-plot \
		--accel tcg --run-qemu "$fake" --out "$LOG_DIR/bench-accel" >"$log" 2>"$log.err"
	status=$?
	expect_status 2 && expect_grep "requested --accel tcg, but run-qemu.sh ran kvm" &&
		expect_grep "1 of 2 runs were not run" && pass
}
