#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# bench.py: timings of the nested KVM bed: L1 boot, L2 boots at 1, 4 and 16 vCPUs, one more L2 run in a batch.
"""Times the nested KVM bed (tools/nested/nested-run.sh).

usage: tools/nested/bench.py [--reps N] [--image PATH] [--no-doc]

Per repetition: one L1 boot with no runs, one with pvspin test=smp at 1, 4
and 16 vCPUs, and one with 4 runs at 1 vCPU. Median, min and max of --reps
repetitions (default 5) go to build/bench-nested.md and, unless --no-doc,
to the results section of docs/nested.md. --image defaults to
build/pvspin.elf (the tiny test kernel when it is missing). Status: 0 done,
1 the bed failed, 2 bad input.
"""
import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
from pvspin import floors, hostinfo, stats, status  # noqa: E402

PROG = "bench.py"
NESTED_RUN = REPO / "tools" / "nested" / "nested-run.sh"
OUT_MD = REPO / "build" / "bench-nested.md"
DOC = REPO / "docs" / "nested.md"
DOC_BEGIN, DOC_END = "<!-- bench:begin -->", "<!-- bench:end -->"
DEFAULT_REPS = 5
L2_CPU_COUNTS = (1, 4, 16)
EXTRA_RUNS = 4                  # runs in the "many small runs" batch
JOB_TIMEOUT_S = 120
DEBUG_EXIT_PASS = status.debug_exit(status.PASS)
L2_COMMON = ("-M q35 -bios qboot.rom -accel kvm -cpu host -m 128 -nodefaults -no-reboot -display none "
             "-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4")
READY_RE = re.compile(r"L1 ready \(KVM loaded\) after ([0-9.]+) s")
RUN_TIME_RE = re.compile(r"run [0-9]+: status [0-9]+ after ([0-9.]+) s$", re.M)


class BedFailed(Exception):
    pass


def job(cmdline, smp):
    return f"-\t{JOB_TIMEOUT_S}\t{L2_COMMON} -smp {smp} -kernel @IMAGE@ -append '{cmdline}'\n"


def bed(scratch, name, jobs, image, tally):
    """Run the bed on JOBS; (wall s, L1 ready s, [each run's s])."""
    jobfile = scratch / f"{name}.jobs"
    jobfile.write_text(jobs)
    status_file = scratch / f"{name}.status"
    t0 = time.monotonic()
    p = subprocess.run([str(NESTED_RUN), "--status-file", str(status_file), "--image", str(image), str(jobfile)],
                       capture_output=True, text=True)
    wall = time.monotonic() - t0
    (scratch / f"{name}.out").write_text(p.stdout)
    if p.returncode != 0:
        raise BedFailed(f"{name}: nested-run.sh failed: {' | '.join(p.stderr.strip().splitlines()[-2:])}")
    ready = READY_RE.search(p.stderr)
    if not ready:
        raise BedFailed(f"{name}: no 'L1 ready' line on the bed's stderr")
    for st in status_file.read_text().split():
        tally["runs"] += 1
        tally["failed"] += st != str(DEBUG_EXIT_PASS)
    return wall, float(ready.group(1)), [float(x) for x in RUN_TIME_RE.findall(p.stderr)]


def row(label, values):
    s = stats.summary(values)
    return f"| {label} | {s.median:.2f} | {s.lo:.2f} | {s.hi:.2f} |"


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=DEFAULT_REPS)
    p.add_argument("--image", type=Path, default=REPO / "build" / "pvspin.elf")
    p.add_argument("--no-doc", action="store_true")
    try:
        a = p.parse_args(argv)
    except SystemExit as e:
        sys.exit(status.BAD_INPUT if e.code else 0)
    if a.reps < 1:
        p.error("--reps: a number of repetitions, at least 1")
    return a


def main(argv):
    a = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pvspin-nested-bench.") as d:
        scratch = Path(d)
        image, cmdline = a.image, "test=smp"
        if image.is_file():
            image_desc = f"pvspin ({image.resolve().relative_to(REPO) if REPO in image.resolve().parents else image}, " \
                         "guest cmdline test=smp)"
        else:
            image, cmdline = scratch / "tiny.elf", "exit=0"
            floors.assemble(floors.TINY, image)
            image_desc = "tests/nested/tiny.asm (pvspin image missing)"
        prep = subprocess.run([str(NESTED_RUN), "--prepare"], capture_output=True, text=True)
        if prep.returncode:
            print(f"{PROG}: cache: {prep.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return status.TEST_FAILURE
        tally = {"runs": 0, "failed": 0}
        l1_ready, empty_wall, many_wall, per_extra = [], [], [], []
        l2 = {n: [] for n in L2_CPU_COUNTS}
        sizes = "".join(job(cmdline, n) for n in L2_CPU_COUNTS)
        many = job(cmdline, 1) * EXTRA_RUNS
        try:
            for r in range(1, a.reps + 1):
                print(f"{PROG}: repetition {r} of {a.reps}", file=sys.stderr, flush=True)
                wall, ready, _ = bed(scratch, "empty", "", image, tally)
                l1_ready.append(ready)
                empty_wall.append(wall)
                _, ready, times = bed(scratch, "sizes", sizes, image, tally)
                l1_ready.append(ready)
                for n, t in zip(L2_CPU_COUNTS, times):
                    l2[n].append(t)
                many_w, ready, _ = bed(scratch, "many", many, image, tally)
                l1_ready.append(ready)
                many_wall.append(many_w)
                per_extra.append((many_w - wall) / EXTRA_RUNS)
        except BedFailed as e:
            print(f"{PROG}: {e}", file=sys.stderr)
            return status.TEST_FAILURE
        l1 = re.search(r'"package":"[^"]*","package_version":"[^"]*"', (scratch / "sizes.out").read_text())
        lines = [f"Command: `tools/nested/bench.py --reps {a.reps}` ({time.strftime('%Y-%m-%d', time.gmtime())}, "
                 f"{hostinfo.describe()};",
                 f"L1: {l1.group(0) if l1 else 'unknown'}).",
                 f"Guest: {image_desc}, L2 `{L2_COMMON}`.",
                 f"Seconds; median, min, max of {a.reps} repetitions (L1 ready: of {a.reps * 3} L1 boots).",
                 f"L2 runs that did not pass (status other than 1): {tally['failed']} of {tally['runs']}.", "",
                 "| what | median | min | max |", "|---|---|---|---|",
                 row("L1 boot: host start of L1 QEMU to KVM ready in L1", l1_ready),
                 row("whole nested-run.sh with no L2 run (boot + shutdown)", empty_wall),
                 *[row(f"L2 run at {n} vCPUs (its QEMU process, start to exit, in L1)", l2[n])
                   for n in L2_CPU_COUNTS],
                 row(f"whole nested-run.sh with {EXTRA_RUNS} runs at 1 vCPU", many_wall),
                 row("cost of one more L2 run (1 vCPU) in a batch", per_extra)]
        text = "\n".join(lines) + "\n"
    OUT_MD.parent.mkdir(parents=True, exist_ok=True)
    OUT_MD.write_text(text)
    print(text, end="")
    if not a.no_doc and DOC.is_file() and DOC_BEGIN in DOC.read_text():
        doc = DOC.read_text()
        head, rest = doc.split(DOC_BEGIN, 1)
        _, tail = rest.split(DOC_END, 1)
        DOC.write_text(head + DOC_BEGIN + "\n" + text + DOC_END + tail)
        print(f"{PROG}: updated {DOC}", file=sys.stderr)
    return status.PASS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
