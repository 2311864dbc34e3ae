# SPDX-License-Identifier: MIT
# Smoke test of the overcommit benchmark runner, tools/bench/matrix.py
# (sourced by tests/run.sh; the full matrix is `make bench`, docs/bench.md).

BENCH_MATRIX=$TESTS_TOP/tools/bench/matrix.py
. "$TESTS_TOP/tests/bench_interference.sh"

# bench_bad_args "description" /message regex/ [matrix.py args]: status 2 and
# the message on stderr, before anything runs.
bench_bad_args() {
	local desc=$1 want=$2
	shift 2
	case_begin "bench runner: $desc: status 2, says what is wrong"
	log=$LOG_DIR/bench-badargs.log
	"$BENCH_MATRIX" "$@" --out "$LOG_DIR/bench-badargs" >"$log" 2>"$log.err"
	status=$?
	expect_status 2 && expect_grep "$want" && pass
}

# bench_check_outputs DIR ROWS: results.jsonl and results.csv parse, have
# ROWS rows, every one measured and sane; summary.md and runs.csv exist.
bench_check_outputs() {
	python3 - "$1" "$2" <<'PY'
import csv, json, sys
out, rows = sys.argv[1], int(sys.argv[2])
jsonl = [json.loads(l) for l in open(f'{out}/results.jsonl')]
table = list(csv.DictReader(open(f'{out}/results.csv')))
bad = []
if len(jsonl) != rows or len(table) != rows:
    bad.append(f'{len(jsonl)} JSON and {len(table)} CSV rows, expected {rows}')
for r in jsonl:
    where = f"{r.get('config')} {r.get('lock')}"
    if r.get('status') != 'ok':
        bad.append(f"{where}: status {r.get('status')} ({r.get('reason')})")
        continue
    if not r['throughput_per_s'] > 0:
        bad.append(f"{where}: throughput_per_s {r['throughput_per_s']}")
    if not 0 < r['fairness'] <= 1:
        bad.append(f"{where}: fairness {r['fairness']}")
    for key in ('accel', 'qemu_version', 'host_cpu_model', 'host_cpus', 'host_cpu_count',
                'vcpus', 'vms', 'vm', 'rep', 'overcommit', 'pv_backend', 'log',
                'slow_handoffs', 'long_holds', 'max_handoff_ns'):
        if r.get(key) in (None, ''):
            bad.append(f'{where}: no {key}')
    if r.get('overcommit') != r['vcpus'] * r['vms'] / r['host_cpu_count']:
        bad.append(f"{where}: overcommit {r.get('overcommit')}")
    if r.get('result', {}).get('test') != 'bench':
        bad.append(f'{where}: no guest result kept')
for r in table:
    if r['status'] == 'ok' and not float(r['throughput_per_s']) > 0:
        bad.append(f"CSV {r['config']} {r['lock']}: throughput_per_s {r['throughput_per_s']}")
if not open(f'{out}/summary.md').read().startswith('# pvspin overcommit benchmark'):
    bad.append('summary.md has no title')
if len(list(csv.DictReader(open(f'{out}/runs.csv')))) == 0:
    bad.append('runs.csv is empty')
for b in bad[:5]:
    print(b)
sys.exit(1 if bad else 0)
PY
}

# bench_report_bad "description" /message regex/ DIR: matrix.py report DIR
# exits 2 and says what is wrong.
bench_report_bad() {
	case_begin "bench runner: report on $1: status 2, says what is wrong"
	log=$LOG_DIR/bench-report-bad.log
	"$BENCH_MATRIX" report "$3" >"$log" 2>"$log.err"
	status=$?
	expect_status 2 && expect_grep "$2" && pass
}

# bench_report DIR: `matrix.py report DIR` on a finished run's directory
# writes its summary.md, results.csv and runs.csv again, byte for byte; a
# missing directory, a missing or malformed results.jsonl give status 2.
bench_report() {
	local out=$1 kept=$LOG_DIR/bench-report-kept bad=$LOG_DIR/bench-report-bad f differ=
	case_begin "bench runner: report DIR rebuilds summary.md, results.csv, runs.csv byte for byte"
	rm -rf "$kept" "$bad"
	mkdir -p "$kept"
	cp "$out"/summary.md "$out"/results.csv "$out"/runs.csv "$kept"/ 2>/dev/null
	rm -f "$out"/summary.md "$out"/results.csv "$out"/runs.csv
	log=$LOG_DIR/bench-report.log
	"$BENCH_MATRIX" report --no-plot "$out" >"$log" 2>"$log.err"
	status=$?
	if expect_status 0; then
		for f in summary.md results.csv runs.csv; do
			cmp -s "$kept/$f" "$out/$f" || differ="$differ $f"
		done
		if [ -z "$differ" ]; then
			pass
		else
			fail "rebuilt files differ from the run's:$differ (kept: $kept, rebuilt: $out)"
		fi
	fi

	bench_report_bad "a missing directory" "no such directory" "$LOG_DIR/bench-no-such-dir"
	cp -r "$out" "$bad"
	echo '{"config": "2@0", "lock": "tic' >>"$bad/results.jsonl"
	bench_report_bad "a malformed results.jsonl line" "results\.jsonl line 5: not JSON" "$bad"
	rm -f "$bad/results.jsonl"
	bench_report_bad "a directory without results.jsonl" "results\.jsonl: no such file" "$bad"
}

# bench_unit: tests/bench_unit.py (the runner's pure pieces), its cases counted.
bench_unit() {
	local out last
	out=$(python3 "$TESTS_TOP/tests/bench_unit.py" 2>&1)
	echo "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed'
	last=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	if [ -z "$last" ]; then
		case_begin "bench runner: unit tests (tests/bench_unit.py)"
		fail "no result line: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
	else
		add_counts "$last"
	fi
}

# bench_handoff_check LOG MIN_SLOW [MAX_HANDOFFS]: every bench result of the
# guest log has the handoff fields, consistent (slow <= handoffs <=
# acquisitions; a slow handoff iff the largest gap is over the limit), at
# least MIN_SLOW slow handoffs and at most MAX_HANDOFFS handoffs per lock;
# the bench-table has the three columns, filled as the JSON.
bench_handoff_check() {
	python3 - "$@" <<'PY'
import json, sys
log, min_slow = sys.argv[1], int(sys.argv[2])
max_handoffs = int(sys.argv[3]) if len(sys.argv) > 3 else None
lines = open(log, errors='replace').read().splitlines()
results = [json.loads(l[10:]) for l in lines if l.startswith('# result: ')]
results = [r for r in results if r.get('test') == 'bench']
table = [l.split()[2:] for l in lines if l.startswith('# bench-table: ')]
bad = [] if results else ['no bench result']
for r in results:
    lock = r.get('lock')
    keys = ('slow_limit_ns', 'handoffs', 'slow_handoffs', 'max_handoff_ns', 'long_holds')
    if any(not isinstance(r.get(k), int) or r[k] < 0 for k in keys):
        bad.append(f'{lock}: handoff fields missing: ' + str({k: r.get(k) for k in keys}))
        continue
    print(f"#   {lock}: acquisitions {r['acquisitions']}, handoffs {r['handoffs']}, "
          f"slow {r['slow_handoffs']}, max {r['max_handoff_ns']} ns, long holds {r['long_holds']}")
    if not r['slow_handoffs'] <= r['handoffs'] <= r['acquisitions']:
        bad.append(f'{lock}: not slow <= handoffs <= acquisitions')
    if r['long_holds'] > r['acquisitions']:
        bad.append(f'{lock}: more long holds than acquisitions')
    if (r['slow_handoffs'] > 0) != (r['max_handoff_ns'] > r['slow_limit_ns']):
        bad.append(f"{lock}: slow_handoffs {r['slow_handoffs']} but max_handoff_ns {r['max_handoff_ns']}")
    if r['slow_handoffs'] < min_slow:
        bad.append(f"{lock}: slow_handoffs {r['slow_handoffs']}, expected at least {min_slow}")
    if max_handoffs is not None and r['handoffs'] > max_handoffs:
        bad.append(f"{lock}: handoffs {r['handoffs']}, expected at most {max_handoffs}")
if not table or table[0][-3:] != ['slow_hoff', 'long_hold', 'max_hoff_us']:
    bad.append(f'bench-table header lacks the handoff columns: {table[:1]}')
elif len(table) != len(results) + 1 or any(len(row) != len(table[0]) for row in table):
    bad.append('bench-table rows do not match its header and the results')
else:
    for row, r in zip(table[1:], results):
        if row[-3:] != [str(r['slow_handoffs']), str(r['long_holds']), str(r['max_handoff_ns'] // 1000)]:
            bad.append(f"bench-table row of {r['lock']} differs from its JSON: {row[-3:]}")
for b in bad[:5]:
    print(b)
sys.exit(1 if bad else 0)
PY
}

# bench_handoffs LOGNAME "description" MIN_SLOW MAX_HANDOFFS|- run-qemu args -- guest args
bench_handoffs() {
	local logname=$1 desc=$2 limits=("$3") out
	[ "$4" = - ] || limits+=("$4")
	shift 4
	case_begin "$desc"
	run_guest "$logname" "$@"
	expect_status 0 || return
	if out=$(bench_handoff_check "$log" "${limits[@]}"); then
		pass
		echo "$out"
	else
		fail "$(echo "$out" | grep -v '^#' | tr '\n' ';') (log: $log)"
	fi
}

# long_hold_ms=1 at 2 CPUs: a 1 ms hold one time in 4000 acquisitions, a
# 2 us delay one time in 800. tas made 1.1 million acquisitions a second at
# 2 vCPUs in this shape here, so 1 s expects about 280 long holds. The
# warm-up, half the window, would add half as many again if its draws were
# counted: the counts must be the measured acquisitions'.
bench_locktorture_rates_case() {
	case_begin "guest bench, shape=locktorture long_hold_ms=1, tas at 2 vCPUs: the measured acquisitions' long holds and short delays at locktorture's rates"
	run_guest bench-locktorture-hold --smp 2 -- test=bench shape=locktorture long_hold_ms=1 lock=tas \
		duration_ms=1000 warmup_ms=500
	expect_status 0 && expect_ktap --expect bench.violations=0 --expect bench.long_hold_ms=1 \
		--expect bench.long_hold_one_in=4000 --expect bench.short_delay_one_in=800 || return
	"$TESTS_TOP/tests/locktorture_rates.py" "$log" bench && pass ||
		fail "delays not at locktorture's rates (log: $log)"
}

# shape=locktorture in the guest's bench (docs/bench.md "shape=locktorture"):
# the locks at 4 vCPUs, the delays at locktorture's rates in the measured
# window, the option rules; and the default shape named in LOG (a default
# bench run's log).
test_bench_shape() {
	local default_log=$1 bad
	case_begin "guest bench, default shape: shape=default, hold_ns and think_ns in every result and on the # bench: line"
	log=$default_log
	expect_ktap --expect bench.shape=default --expect bench.hold_ns=200 --expect bench.think_ns=500 &&
		expect_grep '^# bench: shape=default lock=.* hold_ns=200 think_ns=500 ' && pass

	# qspinlock at 4 vCPUs under TCG made 300-600 acquisitions a second
	# here: 500 ms, so that the window holds some.
	case_begin "guest bench, shape=locktorture, tas/qspinlock/pvqspinlock at 4 vCPUs: ok, shape and locktorture's parameters in the JSON, no hold_ns/think_ns, nonzero throughput"
	run_guest bench-locktorture --smp 4 -- test=bench shape=locktorture lock=tas,qspinlock,pvqspinlock \
		duration_ms=500
	expect_status 0 && expect_ktap --result bench:tas=ok --result bench:qspinlock=ok \
		--result bench:pvqspinlock=ok --expect bench.shape=locktorture \
		--expect bench.throughput_per_s='>0' --expect bench.violations=0 \
		--expect bench.long_hold_ms=100 --expect bench.long_hold_one_in=800000 \
		--expect bench.short_delay_one_in=1600 --expect bench.hold_ns=null \
		--expect bench.think_ns=null &&
		expect_grep '^# bench: shape=locktorture lock=tas,qspinlock,pvqspinlock cpus=4 warmup_ms=100 duration_ms=500 long_hold_ms=100 long_hold_one_in=800000 short_delay_one_in=1600 jiffy_sleep_one_in=1048576 pv=' &&
		pass

	bench_locktorture_rates_case

	for bad in hold_ns=100 think_ns=0 long_hold=0; do
		case_begin "guest bench, shape=locktorture $bad: status 2, names the conflict"
		run_guest "bench-locktorture-${bad%%=*}" --smp 2 -- test=bench shape=locktorture "$bad"
		expect_status 2 &&
			expect_grep "^not ok 1 cmdline # bad option '$bad': has no meaning with shape=locktorture" &&
			pass
	done
	case_begin "guest bench, long_hold_ms=5 without shape=locktorture: status 2"
	run_guest bench-long-hold-ms --smp 2 -- test=bench long_hold_ms=5
	expect_status 2 && expect_grep "^not ok 1 cmdline # bad option 'long_hold_ms=5': only with shape=locktorture" &&
		pass
}

# bench_peer_check DIR CONFIGS LOCKS IMPL HV: a --peer linux run's results.jsonl
# has, per config of CONFIGS, every lock of LOCKS under pvspin's default and
# locktorture shapes and one Linux row that ran IMPL, all measured (the
# Linux window too, on the host); every pvspin log shows CPUID's hypervisor
# bit HV (on or off); results.csv has the columns; summary.md has the
# side-by-side table per config, its rows filled and a ratio to 1x where a
# 1x config is on the cpuset.
bench_peer_check() {
	python3 - "$@" <<'PY'
import csv, json, re, sys
out, configs, locks, impl, hv = sys.argv[1], sys.argv[2].split(','), sys.argv[3].split(','), sys.argv[4], sys.argv[5]
records = [json.loads(l) for l in open(f'{out}/results.jsonl')]
bad = []
for config in configs:
    for shape in ('default', 'locktorture'):
        for lock in locks:
            mine = [r for r in records if (r['config'], r['guest'], r['shape'], r['lock']) ==
                    (config, 'pvspin', shape, lock)]
            if len(mine) != 1:
                bad.append(f'{config} pvspin {shape} {lock}: {len(mine)} records')
            elif mine[0]['status'] != 'ok' or mine[0]['result'].get('shape') != shape:
                bad.append(f"{config} pvspin {shape} {lock}: {mine[0]['status']} {mine[0]['reason']}, "
                           f"result shape {mine[0]['result'].get('shape')}")
    linux = [r for r in records if r['config'] == config and r['guest'] == 'linux']
    if len(linux) != 1:
        bad.append(f'{config}: {len(linux)} Linux records')
        continue
    r = linux[0]
    if (r['lock'], r['shape'], r['status'], r['lock_impl']) != ('spin_lock', 'locktorture', 'ok', impl):
        bad.append(f"{config} linux: {r['lock']} {r['shape']} {r['status']} ({r['reason']}) "
                   f"lock_impl {r['lock_impl']}, expected {impl}")
    if not (r['throughput_per_s'] or 0) > 0 or not (r['host_cpu_ns'] or 0) > 0:
        bad.append(f"{config} linux: throughput_per_s {r['throughput_per_s']}, host_cpu_ns {r['host_cpu_ns']}")
    if r['long_hold_ms'] != 0 or r['hypervisor_bit'] != hv:
        bad.append(f"{config} linux: long_hold_ms {r['long_hold_ms']}, hypervisor_bit {r['hypervisor_bit']}")
for r in records:
    if r['guest'] == 'pvspin':
        want = 'hypervisor="none"' if hv == 'off' else 'hypervisor="TCG'
        if want not in open(f"{out}/{r['log']}").read():
            bad.append(f"{r['log']}: no {want} in its # cpu: line")
            break
header = next(csv.reader(open(f'{out}/results.csv')))
for column in ('guest', 'shape', 'lock_impl', 'long_hold_ms', 'long_holds_taken', 'hypervisor_bit'):
    if column not in header:
        bad.append(f'results.csv has no {column} column')
summary = open(f'{out}/summary.md').read()
if '## Linux peer side by side' not in summary:
    bad.append('summary.md has no Linux peer section')
else:
    section = summary[summary.index('## Linux peer side by side'):]
    for config in configs:
        m = re.search(rf'^### {re.escape(config)} \((.*?)x.*?\n\n(.*?)\n\n', section, re.M | re.S)
        if not m:
            bad.append(f'summary.md: no side-by-side table for {config}')
            continue
        rows = [row.split(' | ') for row in m.group(2).splitlines()[2:]]
        want = 1 + 2 * len([l for l in locks if l in ('tas', 'qspinlock', 'pvqspinlock')])
        if len(rows) != want:
            bad.append(f'summary.md {config}: {len(rows)} rows, expected {want}')
        if not rows or rows[0][:2] != ['| linux', 'spin_lock'] or rows[0][3] != impl:
            bad.append(f'summary.md {config}: the first row is not Linux spin_lock with {impl}: {rows[:1]}')
        for row in rows:
            if row[4] != '1/1' or not re.match(r'^[0-9.,]+$', row[5]) or not row[8].endswith('x'):
                bad.append(f'summary.md {config}: row {row}')
for b in bad[:6]:
    print(b)
sys.exit(1 if bad else 0)
PY
}

# bench_peer NAME "description" HV CONFIGS LOCKS IMPL [matrix.py args]: a
# --peer linux run, checked by bench_peer_check; skipped where the peer's
# build tools cannot be had (the matrix builds the peer when it is not cached).
bench_peer() {
	local name=$1 desc=$2 hv=$3 configs=$4 locks=$5 impl=$6 out=$LOG_DIR/bench-$1 why
	shift 6
	case_begin "bench runner: --peer linux $desc"
	if ! "$TESTS_TOP/tools/deps.sh" peer >/dev/null 2>&1; then
		skip "the Linux peer cannot be built here (tools/deps.sh peer fails)"
		return
	fi
	rm -rf "$out"
	log=$LOG_DIR/bench-$name.log
	"$BENCH_MATRIX" --peer linux --configs "$configs" --locks "$locks" --reps 1 --duration-ms 1000 \
		--hypervisor-bit "$hv" --no-plot --out "$out" "$@" >"$log" 2>"$log.err"
	status=$?
	if expect_status 0; then
		if why=$(bench_peer_check "$out" "$configs" "$locks" "$impl" "$hv" 2>&1); then
			pass
		else
			fail "$(echo "$why" | tr '\n' ';') (outputs: $out)"
		fi
	fi
}

test_bench() {
	bench_unit

	# A ticket waiter's turn comes while it is preempted: 4 vCPUs on one
	# host CPU had slow handoffs in every run (16 of 16 on a loaded 2-CPU
	# host), mostly one per acquisition. Short runs of the slow locks on a
	# loaded host can end with no acquisition at all: 300 ms at least.
	bench_handoffs bench-handoff-pin0 \
		"guest bench, ticket, 4 vCPUs on 1 host CPU: preempted waiters counted as slow handoffs (> 1 ms)" 1 - \
		--smp 4 --pin 0 -- test=bench lock=ticket duration_ms=500 warmup_ms=50
	bench_handoffs bench-handoff-2 \
		"guest bench, every lock, 2 vCPUs on 2 host CPUs: handoff fields and table columns present, consistent" 0 - \
		--smp 2 --pin 0-1 -- test=bench lock=all duration_ms=300 warmup_ms=20
	test_bench_shape "$LOG_DIR/bench-handoff-2.log"
	# One CPU takes the lock only after its own release: never a handoff,
	# however long it is preempted between.
	bench_handoffs bench-handoff-1cpu \
		"guest bench, ticket and tas on 1 CPU: a lock taken after an idle spell is no handoff (handoffs 0)" 0 0 \
		--smp 2 --pin 0 -- test=bench lock=ticket,tas cpus=1 duration_ms=300 warmup_ms=20

	local out=$LOG_DIR/bench-smoke why
	case_begin "bench runner: 2 configs x 2 locks, 1 rep: exit 0, results.jsonl/csv and summary.md check out"
	rm -rf "$out"
	log=$LOG_DIR/bench-smoke.log
	"$BENCH_MATRIX" --configs 2@0,2@0-1 --locks ticket,pvqspinlock --reps 1 \
		--duration-ms 100 --warmup-ms 20 --no-plot --out "$out" >"$log" 2>"$log.err"
	status=$?
	if expect_status 0; then
		if why=$(bench_check_outputs "$out" 4 2>&1); then
			pass
		else
			fail "$(echo "$why" | tr '\n' ';') (outputs: $out)"
		fi
	fi

	bench_report "$out"

	# The Linux peer beside pvspin: every config gets pvspin's two shapes
	# and Linux's locktorture (about 6 boots of 4-8 s); under TCG with the
	# hypervisor bit Linux runs virt_spin_lock, without it native qspinlock.
	bench_peer peer "2@0-1,4@0-1, tas,qspinlock,pvqspinlock: Linux and pvspin rows for both configs, side-by-side tables" \
		on 2@0-1,4@0-1 tas,qspinlock,pvqspinlock virt_spin_lock
	bench_peer peer-hv-off "--hypervisor-bit off, 2@0-1, tas: every boot without the bit, Linux runs qspinlock" \
		off 2@0-1 tas qspinlock
	bench_bad_args "--peer bsd" "--peer 'bsd': accepted: linux" --peer bsd
	bench_bad_args "--peer-lock frob" "--peer-lock 'frob': not a lock type of the Linux peer's locktorture" \
		--peer linux --peer-lock frob

	bench_bad_args "unknown option" "unknown option '--frobnicate'" --frobnicate
	bench_bad_args "--vcpus 0" "--vcpus '0': accepted: an integer 1\.\." --vcpus 0
	bench_bad_args "--host-cpus naming a CPU this host lacks" "CPU 99999 is not available on this host" \
		--host-cpus 99999
	bench_bad_args "--reps 0" "--reps '0': accepted: an integer 1\.\." --reps 0
	bench_bad_args "--vms 2 under --accel nested" "--accel nested runs its batch one run after another" \
		--vms 2 --accel nested

	case_begin "bench runner: --help: status 0, usage"
	log=$LOG_DIR/bench-help.log
	"$BENCH_MATRIX" --help >"$log" 2>"$log.err"
	status=$?
	expect_status 0 && expect_grep '^usage: tools/bench/matrix.py' && expect_grep 'overcommit' && pass

	test_bench_interference
}
