#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/pvlog/run.sh: tests of tools/pvlog.py on real and hand-made serial logs; ends with "N passed, N failed, N skipped".
#   Real logs (fixtures/, made with ./run-qemu.sh): default.log (2 vCPUs),
#   bad-option.log, fault.log (crash), hang.log (lockup), broken.log
#   (lock=broken), skip.log (nesting at 1 vCPU), batch.log (two nested runs).
#   Hand-made: bad-plan, misnumbered, bad-json, truncated, no-version,
#   crash-backtrace (fault.log with a backtrace as kernel/backtrace.c prints
#   it), and spec.log (ktap.rst's shapes: subtests, directives, unknown lines).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh

readonly PVLOG=tools/pvlog.py
readonly FX=tests/pvlog/fixtures
readonly XSD=tests/pvlog/junit.xsd
readonly REAL_LOGS=(default bad-option fault hang broken skip batch)
readonly GOOD_MADE_LOGS=(crash-backtrace spec)
readonly BROKEN_LOGS=(bad-plan misnumbered bad-json truncated no-version)
OUT=$LOG_DIR/pvlog
mkdir -p "$OUT"

# api_case NAME FIXTURE EXPRESSION: with runs = pvlog.parse(FIXTURE) and
# run = runs[0], the Python EXPRESSION is true.
api_case() {
	local out
	case_begin "$1"
	if out=$(python3 - "$FX/$2.log" "$3" 2>&1 <<'PY'
import sys
sys.path.insert(0, 'tools')
import pvlog
runs = pvlog.parse(pvlog.read_log(sys.argv[1]))
run = runs[0]
if not eval(sys.argv[2]):
    print(f'false: {sys.argv[2]}; run 1: status {run.status}, plan {run.plan}, '
          f'{len(run.results)} results, exit {run.exit_status}, problems {run.problems}')
    sys.exit(1)
PY
	); then pass; else fail "$(head -c 400 <<<"$out")"; fi
}

# cli_case NAME WANT_STATUS PATTERN ARGS...: pvlog.py ARGS exits WANT_STATUS
# and its stdout+stderr match the extended regex PATTERN ("" : say nothing).
cli_case() {
	local name=$1 want=$2 pattern=$3 st
	shift 3
	case_begin "$name"
	python3 "$PVLOG" "$@" >"$OUT/cli.out" 2>&1
	st=$?
	if [ "$st" != "$want" ]; then
		fail "exit status $st, expected $want: $(head -n 2 "$OUT/cli.out" | tr '\n' ' ')"
	elif [ -z "$pattern" ] && [ -s "$OUT/cli.out" ]; then
		fail "said: $(head -n 2 "$OUT/cli.out" | tr '\n' ' ')"
	elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" "$OUT/cli.out"; then
		fail "output lacks /$pattern/: $(head -n 2 "$OUT/cli.out" | tr '\n' ' ')"
	else
		pass
	fi
}

test_api() {
	api_case "default run: plan 8, 8 ok results, 8 JSON objects, EXIT 0" default \
		'len(runs) == 1 and run.plan == 8 and [r.status for r in run.results] == ["ok"] * 8 and len(run.json) == 8 and run.exit_status == 0 and not run.problems and run.status == "ok"'
	api_case "each result carries the JSON printed before it" default \
		'run.results[0].json[0]["test"] == "smp" and run.results[7].json[0]["lock"] == "pvqspinlock"'
	api_case "tables and options: pv-table rows, summary lines, test=default" default \
		'len(run.tables["pv-table"]) == 7 and run.tables["summary"][-1].startswith("8 passed") and run.options.startswith("test=default")'
	api_case "bad option: one failed result with the reason, EXIT 2" bad-option \
		'run.results[0].status == "fail" and run.results[0].reason.startswith("bad option") and run.results[0].directive is None and run.exit_status == 2'
	api_case "crash: the CRASH line and its 5 register lines, EXIT 3" fault \
		'len(run.crash) == 6 and run.crash[0].startswith("# CRASH: #PF") and run.crash[-1].startswith("# r13=") and run.lockup is None and run.exit_status == 3 and run.results[0].reason.startswith("crash:")'
	api_case "crash with a backtrace: the backtrace lines belong to the report" crash-backtrace \
		'len(run.crash) == 10 and run.crash[6] == "# backtrace: #0 0x00000000001067c5" and run.crash[-1] == "# backtrace: end (chain corrupt)" and not run.problems'
	api_case "lockup: the watchdog's LOCKUP lines, EXIT 4" hang \
		'len(run.lockup) == 3 and "NMI watchdog" in run.lockup[0] and run.crash is None and run.exit_status == 4 and run.status == "fail"'
	api_case "lock=broken: a failed result with violations in its JSON" broken \
		'run.results[0].status == "fail" and run.results[0].json[0]["violations"] > 0 and run.exit_status == 1'
	api_case "skips: SKIP directive and reason; a run of skips is skip" skip \
		'[(r.status, r.directive, r.reason) for r in run.results] == [("skip", "SKIP", "needs 8 CPUs, 1 online")] * 2 and run.status == "skip"'
	api_case "batch: two runs, each with its l1 host and its own results" batch \
		'len(runs) == 2 and all(r.l1["kernel"] for r in runs) and runs[0].results[0].description == "smp" and runs[1].status == "skip" and runs[0].json[0]["env"]["accel"] == "nested" and all(r.exit_status == 0 and not r.problems for r in runs)'
	api_case "bad plan: a problem names the count" bad-plan \
		'run.problems == ["plan says 3 results, log has 2"] and run.missing == [3] and run.status == "error"'
	api_case "misnumbered result: a problem" misnumbered \
		'any("numbered 3, expected 2" in p for p in run.problems)'
	api_case "bad JSON: a problem, the result still read" bad-json \
		'any(p.startswith("bad JSON") for p in run.problems) and run.results[0].status == "ok" and run.json == []'
	api_case "truncated: missing results 5..8, no EXIT, status error" truncated \
		'run.missing == [5, 6, 7, 8] and run.exit_status is None and run.status == "error"'
	api_case "no version line: one run, a problem, status error" no-version \
		'len(runs) == 1 and run.problems == ["no \"KTAP version 1\" line"] and run.status == "error" and len(run.outside) == 2'
	api_case "ktap.rst shapes: TAP version 14, nested subtests, multi-word descriptions" spec \
		'run.version == "TAP version 14" and not run.problems and run.results[0].description == "first group of tests" and [s.description for s in run.results[0].subtests] == ["middle group", "middle skipped"] and [(t.status, t.directive, t.reason) for t in run.results[0].subtests[0].subtests] == [("ok", None, None), ("error", "TIMEOUT", "30 seconds")]'
	api_case "ktap.rst directives: XFAIL/TODO/KNOWN_FAILURE skip, ERROR error, other text a reason" spec \
		'[r.status for r in run.results] == ["fail", "skip", "skip", "ok", "error", "skip"] and run.results[3].reason == "rcode=0" and run.results[3].directive is None and run.status == "error"'
	api_case "ktap.rst unknown lines: recorded, not problems" spec \
		'run.unknown == ["a kernel message, an unknown line"] and run.outside == ["firmware noise before the document"]'
}

test_cli() {
	local f
	for f in "${REAL_LOGS[@]}" "${GOOD_MADE_LOGS[@]}"; do
		cli_case "check $f.log: well formed, says nothing" 0 '' check "$FX/$f.log"
	done
	cli_case "check bad-plan.log: status 1, the problem on stderr" 1 'plan says 3 results, log has 2' check "$FX/bad-plan.log"
	cli_case "check misnumbered.log: status 1" 1 'numbered 3, expected 2' check "$FX/misnumbered.log"
	cli_case "check bad-json.log: status 1" 1 'bad JSON on a result line' check "$FX/bad-json.log"
	cli_case "check truncated.log: status 1" 1 'plan says 8 results, log has 4' check "$FX/truncated.log"
	cli_case "check no-version.log: status 1" 1 'no "KTAP version 1" line' check "$FX/no-version.log"
	cli_case "check from stdin (-)" 0 '' check - <"$FX/default.log"
	cli_case "no command: status 2 with usage" 2 'usage:' 
	cli_case "unknown command: status 2" 2 "unknown command 'frob'" frob "$FX/default.log"
	cli_case "two logs: status 2" 2 'takes one LOG' check "$FX/default.log" "$FX/skip.log"
	cli_case "junit -o without a file: status 2" 2 '-o needs a file name' junit "$FX/default.log" -o
	cli_case "unknown option: status 2" 2 'takes one LOG' jsonl --frob
	cli_case "unreadable log: status 2" 2 'cannot read' summary "$OUT/no-such.log"
	cli_case "summary: one line per result, totals" 0 '8 ok, 0 fail, 0 skip, 0 error' summary "$FX/default.log"
	cli_case "summary of a crash names it" 0 '# CRASH: #PF' summary "$FX/fault.log"
	cli_case "--help: status 0" 0 'junit LOG' --help
}

# jsonl_case NAME FIXTURE EXPRESSION: with recs = the jsonl lines as dicts
jsonl_case() {
	local out
	case_begin "$1"
	if ! python3 "$PVLOG" jsonl "$FX/$2.log" >"$OUT/$2.jsonl" 2>"$OUT/$2.jsonl.err"; then
		fail "pvlog.py jsonl failed: $(head -n 2 "$OUT/$2.jsonl.err")"
		return
	fi
	if out=$(python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
if not eval(sys.argv[2]):
    print("false:", sys.argv[2], [(r["run"], r["number"], r["status"]) for r in recs])
    sys.exit(1)' "$OUT/$2.jsonl" "$3" 2>&1); then pass; else fail "$(head -c 400 <<<"$out")"; fi
}

test_jsonl() {
	jsonl_case "jsonl default: 8 records, KTAP status and the guest's JSON fields merged" default \
		'len(recs) == 8 and all(r["run"] == 1 and r["status"] == "ok" for r in recs) and recs[0]["test"] == "smp" and recs[0]["cpus_online"] == 2 and recs[2]["lock"] == "tas"'
	jsonl_case "jsonl batch: records of both runs, run index 1 and 2" batch \
		'[(r["run"], r["status"]) for r in recs] == [(1, "ok"), (2, "skip"), (2, "skip")] and recs[0]["env"]["accel"] == "nested"'
	jsonl_case "jsonl truncated: the 4 missing results as errors" truncated \
		'[r["status"] for r in recs] == ["ok"] * 4 + ["error"] * 4 and recs[-1]["number"] == 8'
	jsonl_case "jsonl no-version: one error record for the run" no-version \
		'len(recs) == 1 and recs[0]["status"] == "error" and recs[0]["number"] is None'
}

# junit_case FIXTURE EXPRESSION: the JUnit of FIXTURE passes the schema, its
# counts agree with its test cases, and EXPRESSION holds (root = the parsed XML).
junit_case() {
	local f=$1 xml=$OUT/$1.junit.xml out
	case_begin "junit $f.log: valid against junit.xsd, counts agree${2:+, content}"
	if ! python3 "$PVLOG" junit "$FX/$f.log" -o "$xml" 2>"$xml.err"; then
		fail "pvlog.py junit failed: $(head -n 2 "$xml.err")"
		return
	fi
	if ! out=$(xmllint --noout --schema "$XSD" "$xml" 2>&1); then
		fail "schema: $(head -n 2 <<<"$out" | tr '\n' ' ')"
		return
	fi
	if out=$(python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
bad = []
for node in [root] + root.findall("testsuite"):
    cases = node.findall(".//testcase")
    for key, tag in (("tests", None), ("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        n = len(cases) if tag is None else sum(1 for c in cases if c.find(tag) is not None)
        if node.get(key) != str(n):
            name = node.get("name")
            bad.append(f"{node.tag} {name}: {key}={node.get(key)}, counted {n}")
if sys.argv[2] and not eval(sys.argv[2]):
    bad.append("false: " + sys.argv[2])
print("; ".join(bad))
sys.exit(1 if bad else 0)' "$xml" "${2-}" 2>&1); then pass; else fail "$(head -c 400 <<<"$out")"; fi
}

test_junit() {
	if ! command -v xmllint >/dev/null; then
		case_begin "JUnit XML against tests/pvlog/junit.xsd"
		skip "no xmllint (apt-get install libxml2-utils)"
		return
	fi
	local f
	junit_case default 'len(root.findall("testsuite")) == 1 and root.get("tests") == "8" and root.find("testsuite/properties/property").get("value") == "0"'
	junit_case fault '"# CRASH: #PF" in root.find("testsuite/system-out").text and "# rax=" in root.find("testsuite/testcase/failure").text'
	junit_case crash-backtrace '"# backtrace: end (chain corrupt)" in root.find("testsuite/system-out").text'
	junit_case hang '"# LOCKUP:" in root.find("testsuite/system-out").text and root.get("failures") == "1"'
	junit_case skip 'root.get("skipped") == "2" and root.find("testsuite/testcase/skipped").get("message") == "SKIP needs 8 CPUs, 1 online"'
	junit_case batch 'len(root.findall("testsuite")) == 2 and root.get("tests") == "3"'
	junit_case truncated '[c.get("name") for c in root.findall("testsuite/testcase")][4:] == ["result 5", "result 6", "result 7", "result 8"] and root.get("errors") == "4"'
	junit_case no-version 'root.find("testsuite/testcase").get("name") == "log structure" and root.get("errors") == "1"'
	junit_case spec 'root.get("errors") == "1" and root.get("skipped") == "3" and root.get("failures") == "1"'
	for f in bad-option broken bad-plan misnumbered bad-json; do
		junit_case "$f" ''
	done

	# The schema must be able to fail: plant faults in a valid document.
	case_begin "junit.xsd rejects planted faults (no name, a negative count, two outcomes, a stray element)"
	local good=$OUT/default.junit.xml plant rejected=0 accepted=()
	for plant in 's/<testcase name="smp" /<testcase /' \
		's/tests="8" failures/tests="-1" failures/' \
		's|<testcase name="smp" classname="pvspin.run1" />|<testcase name="smp" classname="pvspin.run1"><skipped /><failure /></testcase>|' \
		's|<properties>|<properties><bogus />|'; do
		sed "$plant" "$good" >"$OUT/planted.xml"
		if cmp -s "$good" "$OUT/planted.xml"; then
			accepted+=("plant did not apply: $plant")
		elif xmllint --noout --schema "$XSD" "$OUT/planted.xml" >/dev/null 2>&1; then
			accepted+=("accepted: $plant")
		else
			rejected=$((rejected + 1))
		fi
	done
	if [ ${#accepted[@]} = 0 ] && [ $rejected = 4 ]; then pass; else fail "${accepted[*]}"; fi
}

# ktap_check.py follows ktap.rst; --pvspin adds the narrower form pvspin prints.
test_ktap_check() {
	local f st mode
	for mode in "" --pvspin; do
		case_begin "ktap_check.py${mode:+ $mode} accepts every real log (and a crash with a backtrace)"
		local bad=()
		for f in "${REAL_LOGS[@]}" crash-backtrace; do
			"$KTAP_CHECK" "$FX/$f.log" $mode 2>/dev/null || bad+=("$f")
		done
		[ ${#bad[@]} = 0 ] && pass || fail "rejected: ${bad[*]}"
		case_begin "ktap_check.py${mode:+ $mode} rejects every broken log"
		bad=()
		for f in "${BROKEN_LOGS[@]}"; do
			"$KTAP_CHECK" "$FX/$f.log" $mode 2>/dev/null && bad+=("$f")
		done
		[ ${#bad[@]} = 0 ] && pass || fail "accepted: ${bad[*]}"
	done
	case_begin "ktap_check.py accepts what ktap.rst allows: words, directives, unknown lines, subtests (spec.log)"
	if "$KTAP_CHECK" "$FX/spec.log" --result "first group of tests=fail" --result "check return code=ok" \
		--result "could not run=error" --result "not done yet=skip" 2>"$OUT/spec.ktap_check.err"; then
		pass
	else
		fail "$(head -n 3 "$OUT/spec.ktap_check.err" | tr '\n' ' ')"
	fi
	case_begin "ktap_check.py --pvspin rejects what KTAP allows but pvspin never prints (spec.log)"
	"$KTAP_CHECK" "$FX/spec.log" --pvspin 2>"$OUT/spec.ktap_check.err"
	st=$?
	if [ $st = 1 ] && grep -q 'no "KTAP version 1" line (found "TAP version 14")' "$OUT/spec.ktap_check.err" &&
	   grep -q 'not a KTAP line: a kernel message' "$OUT/spec.ktap_check.err" &&
	   grep -q 'not a KTAP line:   KTAP version 1' "$OUT/spec.ktap_check.err" &&
	   grep -q 'not a KTAP line: not ok 1 first group of tests' "$OUT/spec.ktap_check.err"; then
		pass
	else
		fail "status $st: $(head -n 3 "$OUT/spec.ktap_check.err" | tr '\n' ' ')"
	fi
	case_begin "ktap_check.py --expect and --result on a batch log read both runs"
	if "$KTAP_CHECK" "$FX/batch.log" --result smp=ok --result nesting:qspinlock=skip --expect smp.cpus_online=2 &&
	   ! "$KTAP_CHECK" "$FX/batch.log" --expect smp.cpus_online=3 2>/dev/null; then
		pass
	else
		fail "expectations on $FX/batch.log"
	fi
}

test_api
test_cli
test_jsonl
test_junit
test_ktap_check
summary
