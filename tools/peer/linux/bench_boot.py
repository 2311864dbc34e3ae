#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# bench_boot.py: boot to first result, pvspin and the Linux peer side by side (make bench-peer-boot).
"""Time from QEMU's start to each guest's first result, interleaved.

usage: bench_boot.py [--smp "4 64 255"] [--reps N] [--accel tcg] [--timeout S] [--out DIR]

For each vCPU count, repetitions alternate pvspin (`test=smp`) and the
Linux peer, with the QEMU command lines run-qemu.sh gives (--dry-run), and
time from the start of QEMU to:
  pvspin   its first result line (`ok 1 smp`: every CPU online and checked)
  Linux    `Start of test` (every CPU online, the kernel booted, locktorture
           loaded and started) and its first stats line (its first result:
           one stats interval, 1 s, later)
QEMU is stopped once the last of these is seen. Medians with min-max go to
DIR/results.md (machine named) and DIR/results.jsonl; DIR defaults to
build/bench-peer-boot. Repetitions: --reps N (default 5; 3 at 255 vCPUs or
more). Status: 0 done, 1 a guest did not reach its marks, 2 bad input.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path[:0] = [str(REPO / "tools"), str(REPO / "tools" / "bench"), str(HERE)]
from pvspin import facts, hostinfo, procs, runner, stats, status  # noqa: E402
from console import START_RE, STATS_RE, printk_split  # noqa: E402
from vmm import console_lines  # noqa: E402

PROG = "bench_boot.py"
RUN_QEMU = REPO / "run-qemu.sh"
MANY_CPUS = facts.TCG_MAX_VCPUS        # from here on, fewer repetitions
MAX_VCPUS = {"tcg": facts.TCG_MAX_VCPUS, "kvm": facts.KVM_MAX_VCPUS}
KILL_GRACE_S = 0                        # the boot is measured; QEMU needs no clean end
MARKS = {   # (name, does a console line, its printk timestamp removed, mark it)
    "pvspin": [("first result", re.compile(r"^(not )?ok 1 ").match)],
    "linux": [("start of test", START_RE.match), ("first stats line", STATS_RE.match)],
}


def qemu_command(guest, smp, accel, timeout):
    """The QEMU argv run-qemu.sh would run for GUEST."""
    argv = [str(RUN_QEMU), "--dry-run", "--accel", accel, "--smp", str(smp),
            "--timeout", str(timeout)]
    if guest == "linux":
        argv += ["--guest", "linux", "--", "lock=spin_lock", "duration_ms=1000", "long_hold_ms=0"]
    else:
        argv += ["--", "test=smp"]
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"{PROG}: {' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
    return runner.dry_run_command(p.stdout)


def boot(cmd, marks, timeout):
    """Seconds from QEMU's start to each mark, or None for a mark not seen
    within TIMEOUT seconds (a silent guest too: reads wait at most 1 s)."""
    reached = {}
    qemu = procs.Group(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        for now, line in console_lines(qemu.proc, timeout):
            text = printk_split(line)[1]
            for name, match in marks:
                if name not in reached and match(text):
                    reached[name] = now
            if len(reached) == len(marks):
                break
    finally:
        qemu.stop(KILL_GRACE_S)
    return {name: reached.get(name) for name, _ in marks}


def summarize(values):
    """Median, min and max in ms of the boots that reached the mark (None: none did)."""
    s = stats.summary(v for v in values if v is not None)
    if s is None:
        return None
    return {"median_ms": round(s.median * 1000), "min_ms": round(s.lo * 1000),
            "max_ms": round(s.hi * 1000), "n": s.n}


def fmt(s):
    return "-" if s is None else f"{s['median_ms']} [{s['min_ms']}-{s['max_ms']}]"


def main(argv):
    ap = argparse.ArgumentParser(prog=PROG)
    ap.add_argument("--smp", default="4 64 255")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--accel", default="tcg", choices=("tcg", "kvm"))
    ap.add_argument("--timeout", type=int, default=900, help="seconds a boot may take to reach its marks")
    ap.add_argument("--out", default=str(REPO / "build" / "bench-peer-boot"))
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return status.BAD_INPUT if e.code else 0
    try:
        counts = [int(x) for x in a.smp.split()]
    except ValueError:
        counts = []
    limit = MAX_VCPUS[a.accel]
    if not counts or any(not 1 <= n <= limit for n in counts):
        print(f"{PROG}: --smp '{a.smp}': vCPU counts 1..{limit} under {a.accel}", file=sys.stderr)
        return status.BAD_INPUT
    if a.timeout < 1:
        print(f"{PROG}: --timeout {a.timeout}: seconds, at least 1", file=sys.stderr)
        return status.BAD_INPUT
    if a.reps is not None and a.reps < 1:
        print(f"{PROG}: --reps {a.reps}: at least 1", file=sys.stderr)
        return status.BAD_INPUT
    for step in ([sys.executable, str(HERE / "build.py")], ["make", "-s", "-C", str(REPO), "all"]):
        if subprocess.run(step, stdout=subprocess.DEVNULL).returncode:
            print(f"{PROG}: {' '.join(step)} failed; nothing was measured", file=sys.stderr)
            return status.NO_VMM
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    host = hostinfo.describe()
    rows, records, failed = [], [], False
    for n in counts:
        reps = a.reps or (3 if n >= MANY_CPUS else 5)
        cmds = {g: qemu_command(g, n, a.accel, a.timeout) for g in MARKS}
        times = {g: {m: [] for m, _ in MARKS[g]} for g in MARKS}
        for i in range(reps):
            for g in MARKS:
                got = boot(cmds[g], MARKS[g], a.timeout)
                for m, v in got.items():
                    times[g][m].append(v)
                    failed |= v is None
                print(f"\r{PROG}: {n} vCPUs, run {i + 1}/{reps} {g} "
                      + " ".join(f"{m}={v:.2f}s" if v else f"{m}=-" for m, v in got.items()),
                      file=sys.stderr, flush=True)
        s = {g: {m: summarize(v) for m, v in times[g].items()} for g in MARKS}
        pv, ls, lf = s["pvspin"]["first result"], s["linux"]["start of test"], s["linux"]["first stats line"]
        ratio = f"{ls['median_ms'] / pv['median_ms']:.1f}x" if pv and ls and pv["median_ms"] else "-"
        rows.append(f"| {n} | {reps} | {fmt(pv)} | {fmt(ls)} | {fmt(lf)} | {ratio} |")
        records.append({"vcpus": n, "runs": reps, "accel": a.accel, "pvspin_first_result": pv,
                        "linux_start_of_test": ls, "linux_first_stats": lf,
                        "machine": host, "date": date})
    table = [f"# make bench-peer-boot, {date}", "",
             f"Machine: {host}.",
             f"Whole QEMU process from its start, {a.accel}, q35 + qboot as run-qemu.sh runs it, "
             "interleaved; median [min-max] in ms.", "",
             "| vCPUs | runs | pvspin first result (test=smp) | Linux: locktorture started "
             "| Linux: first stats line | Linux start / pvspin |",
             "|---|---|---|---|---|---|", *rows]
    (out / "results.md").write_text("\n".join(table) + "\n")
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    print("\n".join(table))
    print(f"{PROG}: wrote {out}/results.md and {out}/results.jsonl", file=sys.stderr)
    return status.TEST_FAILURE if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
