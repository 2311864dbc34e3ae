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
                'vcpus', 'vms', 'vm', 'rep', 'overcommit', 'pv_backend', 'log'):
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

test_bench() {
	bench_unit

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
