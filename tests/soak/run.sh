#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/soak/run.sh - tests of tools/soak.py: its plan, its stop at the first
# failure, its totals and Ctrl-C. Ends with "N passed, N failed, N skipped".
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP" || exit 2
. tests/lib.sh
readonly SOAK=tools/soak.py
readonly PLAN_N=400
readonly EXIT_FAILED=1 EXIT_USAGE=2 EXIT_INTERRUPTED=130
readonly INT_AFTER_S=3

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/pvspin-soak-test.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

case_begin "the same SEED gives the same plan, another SEED another"
a=$(python3 "$SOAK" --plan 20 --seed 5) b=$(python3 "$SOAK" --plan 20 --seed 5)
c=$(SEED=6 python3 "$SOAK" --plan 20)
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$c" ] && pass || fail "plans: equal=$([ "$a" = "$b" ] && echo y) differ=$([ "$a" != "$c" ] && echo y)"

case_begin "the plan keeps to its rules ($PLAN_N iterations)"
why=$(python3 "$SOAK" --plan "$PLAN_N" --seed 9 | python3 -c '
import re, sys
bad, smps, pvs, irqs, kinds, nested, r8, durations = [], set(), set(), set(), set(), 0, 0, set()
for line in sys.stdin:
    i, kind, cmd = line.rstrip("\n").split("\t")
    opt = dict(re.findall(r"(\w+)=(\S+)", cmd))
    if kind == "nested":
        nested += 1
        if opt["test"] == "bench":
            r8 += "--smp 32 --pin 0-3 " in cmd and "lock=tas,ticket,qspinlock,pvqspinlock" in cmd
        elif opt["pv"] != "kvm" or opt["inject"].startswith("drop_kick"):
            bad.append(line)
        continue
    inj = opt["inject"].split(":")[0]
    durations.add(int(opt["duration_ms"]))
    smp = int(re.search(r"--smp (\d+)", cmd).group(1))
    smps.add(smp); pvs.add(opt["pv"]); irqs.add(opt["irq_lock"]); kinds.add(inj)
    if not 2 <= smp <= 255 or opt["pv"] not in ("ipi", "off"):
        bad.append(line)
    if inj == "drop_kick" and (opt["pv"] != "ipi" or opt["irq_lock"] != "0"):
        bad.append(line)
    if inj != "none" and opt["pv"] != "ipi":
        bad.append(line)
if bad:
    print("breaks a rule:", bad[0].strip())
elif not (2 in smps and 255 in smps and pvs == {"ipi", "off"} and len(irqs) == 5 and len(kinds) == 4 and nested and r8):
    print(f"does not rotate: smp {sorted(smps)} pv {pvs} irq {irqs} inject {kinds} nested {nested} r8 bench {r8}")
elif not (min(durations) <= 300 and max(durations) >= 10000):
    print(f"durations {sorted(durations)}: no long small runs or no short big ones")
')
[ -z "$why" ] && pass || fail "$why"

case_begin "bad usage: status 2"
python3 "$SOAK" --minutes 0 >/dev/null 2>&1
st=$?
python3 "$SOAK" --max-duration-ms 0 --plan 1 >/dev/null 2>&1
st3=$?
python3 "$SOAK" --locks nosuchlock --plan 1 >/dev/null 2>&1
st2=$?
[ "$st" = $EXIT_USAGE ] && [ "$st2" = $EXIT_USAGE ] && [ "$st3" = $EXIT_USAGE ] && pass || fail "statuses $st, $st2, $st3"

case_begin "lock=broken: stops at once, keeps the log, says how to repeat it"
out=$SCRATCH/broken
python3 "$SOAK" --minutes 5 --no-nested --locks broken --max-duration-ms 300 --out "$out" >"$out.stdout" 2>"$out.stderr"
st=$?
if [ "$st" = $EXIT_FAILED ] && [ "$(wc -l <"$out/results.jsonl")" = 1 ] &&
	[ -s "$out/failures/iter00000.log" ] && grep -q '^\./run-qemu.sh .*lock=broken' "$out/failures/iter00000.repro" &&
	grep -Eq '^- violations: [1-9]' "$out/summary.md" && grep -q 'repeat with: ./run-qemu.sh' "$out.stderr"; then
	pass
else
	fail "status $st; $(tail -n 2 "$out.stderr" | tr '\n' ' ')"
fi

case_begin "two passing runs: totals, no failure logs"
out=$SCRATCH/ok
python3 "$SOAK" --minutes 5 --no-nested --max-runs 2 --max-duration-ms 300 --seed 2 --out "$out" >"$out.stdout" 2>"$out.stderr"
st=$?
acq=$(sed -n 's/^- tortured acquisitions: //p' "$out/summary.md")
if [ "$st" = 0 ] && grep -q '^- runs: 2 (guest boots, in 2 iterations' "$out/summary.md" && [ "${acq:-0}" -gt 0 ] &&
	[ -z "$(ls -A "$out/failures")" ] && grep -q '^- violations: 0$' "$out.stdout"; then
	pass
else
	fail "status $st, acquisitions ${acq:-none}; $(tail -n 2 "$out.stderr" | tr '\n' ' ')"
fi

case_begin "SIGINT: the run in progress and its QEMU are stopped, totals printed, status 130"
out=$SCRATCH/int
before=" $(pgrep -d ' ' -f 'qemu-system-x86_64 -M') "
python3 "$SOAK" --minutes 5 --no-nested --max-duration-ms 30000 --seed 4 --out "$out" >"$out.stdout" 2>"$out.stderr" &
pid=$!
sleep "$INT_AFTER_S"
kill -INT "$pid"
wait "$pid"
st=$?
sleep 1
left=()
for q in $(pgrep -f 'qemu-system-x86_64 -M'); do
	[[ $before == *" $q "* ]] || left+=("$q")
done
if [ "$st" = $EXIT_INTERRUPTED ] && grep -q '^Stopped: interrupted' "$out/summary.md" &&
	grep -q '^- runs: ' "$out.stdout" && [ -z "$(find "$out" -name '.*')" ] && [ ${#left[@]} = 0 ]; then
	pass
else
	fail "status $st; QEMU left running: ${left[*]:-none}; $(tail -n 2 "$out.stderr" | tr '\n' ' ')"
	kill "${left[@]}" 2>/dev/null
fi

summary
