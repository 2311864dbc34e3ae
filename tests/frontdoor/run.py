#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/frontdoor/run.py: run-qemu.sh's command line: bad input is status 2 before any boot, a reset keeps the plan.
"""run-qemu.sh's own handling of its command line and of a run's end.

usage: tests/frontdoor/run.py [--no-boots]

Every option that takes a value (read from run-qemu.sh's parser, so a new
option is covered without a new line here) is status 2 with its name on
stderr when the value is missing, empty or another option; a --log or
--reset-log that cannot be written is status 2. With boots: a triple
fault without --reset-log keeps its KTAP document's plan (the guest's
restart on q35, run-qemu.sh's completion on microvm). Plain make with
nasm missing, not as root, prints the apt-get line and compiles nothing.
Ends with
"N passed, N failed, N skipped".
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
from pvspin import status  # noqa: E402

RUN_QEMU = REPO / "run-qemu.sh"
counts = {"passed": 0, "failed": 0, "skipped": 0}


def check(name, ok, detail=""):
    counts["passed" if ok else "failed"] += 1
    print(f"ok {name}" if ok else f"FAIL {name}: {detail}", flush=True)


def run(*argv, timeout=120):
    return subprocess.run([str(RUN_QEMU), *argv], capture_output=True, text=True, timeout=timeout)


def value_options():
    """The options run-qemu.sh's parser reads a value for (need_value)."""
    text = RUN_QEMU.read_text()
    return re.findall(r"^\t\t(--[a-z0-9-]+)\) need_value ", text, re.M)


def missing_values():
    opts = value_options()
    check("the parser names its value options (at least --boot, --pin, --log, --smp)",
          {"--boot", "--pin", "--log", "--smp", "--reset-log"} <= set(opts), opts)
    for opt in opts:
        # truly last (the old parser then ran the default boot: bounded by
        # --timeout 20 given first), before another option, and empty
        for argv, how in ((["--timeout", "20", opt], "at the end"),
                          ([opt, "--smp", "2", "--dry-run", "--", "test=smp"], "followed by another option"),
                          ([opt, "", "--dry-run", "--", "test=smp"], "empty")):
            if opt == "--timeout" and how == "at the end":
                argv = ["--smp", "1", opt]
            p = run(*argv)
            check(f"run-qemu.sh {opt} {how}: status 2 naming it",
                  p.returncode == status.BAD_INPUT and f"option {opt} needs a value" in p.stderr,
                  f"status {p.returncode}; stderr {p.stderr.strip()[-200:]!r}")


def unwritable_files():
    with tempfile.TemporaryDirectory() as d:
        for opt in ("--log", "--reset-log"):
            for path, what in ((f"{d}/no/such/dir/x.log", "a missing directory"), (d, "a directory")):
                p = run(opt, path, "--dry-run", "--", "test=smp")
                check(f"run-qemu.sh {opt} in {what}: status 2 naming it",
                      p.returncode == status.BAD_INPUT and f"{opt} '{path}'" in p.stderr,
                      f"status {p.returncode}; stderr {p.stderr.strip()[-200:]!r}")


def batch_l1_options():
    """A --batch line may not change L1 (one L1 boot per batch): its --l1-*
    and --l0-tcg go on the command line."""
    with tempfile.TemporaryDirectory() as d:
        for opt in (["--l1-param", "kvm_amd.npt=0"], ["--l1-smp", "3"], ["--l0-tcg", "single"]):
            batch = f"{d}/batch"
            with open(batch, "w") as f:
                f.write("--smp 2 -- test=smp\n" + " ".join(opt) + " --smp 2 -- test=smp\n")
            p = run("--accel", "nested", "--batch", batch, "--dry-run")
            check(f"run-qemu.sh --batch: a line with {opt[0]} is status 2",
                  p.returncode == status.BAD_INPUT and "L1's options go on the command line" in p.stderr,
                  f"status {p.returncode}; stderr {p.stderr.strip()[-200:]!r}")
        with open(batch, "w") as f:
            f.write("--smp 2 -- test=smp\n--smp 4 -- test=smp\n")
        p = run("--accel", "nested", "--l1-param", "kvm_amd.npt=0", "--batch", batch, "--dry-run")
        check("run-qemu.sh --batch: --l1-param on the command line, for the batch's L1, is fine",
              p.returncode == 0, f"status {p.returncode}; stderr {p.stderr.strip()[-200:]!r}")


def make_without_a_tool():
    """Plain make on a machine without nasm, not as root: the apt-get line
    that installs it, and nothing compiled (a PATH of every command but
    nasm, and an id that says uid 1000)."""
    with tempfile.TemporaryDirectory() as d:
        farm = Path(d) / "bin"
        farm.mkdir()
        for top in (Path(t) for t in ("/usr/local/bin", "/usr/bin", "/bin") if Path(t).is_dir()):
            for tool in top.iterdir():
                if tool.name not in ("nasm", "id") and not (farm / tool.name).exists():
                    (farm / tool.name).symlink_to(tool)
        (farm / "id").write_text("#!/bin/sh\necho 1000\n")
        (farm / "id").chmod(0o755)
        build = Path(d) / "build"
        p = subprocess.run(["make", "-C", str(REPO), f"BUILD={build}"], capture_output=True, text=True,
                           env={"PATH": str(farm), "HOME": d}, timeout=120)
        objects = list(build.rglob("*.o")) if build.exists() else []
        check("make without nasm, not root: fails, prints the apt-get line, compiles nothing",
              p.returncode != 0 and "apt-get install -y --no-install-recommends nasm" in p.stderr and not objects,
              f"status {p.returncode}; {len(objects)} objects; stderr {p.stderr.strip()[-300:]!r}")


def ktap_results(stdout):
    plan = re.search(r"^1\.\.(\d+)$", stdout, re.M)
    results = re.findall(r"^((?:not )?ok) (\d+)(.*)$", stdout, re.M)
    exits = re.findall(r"^EXIT: STATUS=(\d+)$", stdout, re.M)
    return (int(plan.group(1)) if plan else None), results, exits


def reset_keeps_plan():
    for machine, want_line in (("q35", "not ok 2 reset # crash: the machine reset"),
                               ("microvm", "not ok 2 # ERROR not run: machine reset")):
        p = run("--machine", machine, "--smp", "2", "--timeout", "60", "--", "test=smp,reset")
        plan, results, exits = ktap_results(p.stdout)
        problems = []
        if p.returncode != status.GUEST_CRASH:
            problems.append(f"status {p.returncode}, want {status.GUEST_CRASH}")
        if plan != 2 or [int(n) for _, n, _ in results] != [1, 2]:
            problems.append(f"plan {plan}, results {[n for _, n, _ in results]}: the plan does not hold")
        if want_line not in p.stdout.splitlines():
            problems.append(f"no line {want_line!r}")
        if exits != [str(status.GUEST_CRASH)]:
            problems.append(f"EXIT lines {exits}")
        check(f"a triple fault without --reset-log ({machine}): status 3, the plan holds", not problems,
              "; ".join(problems))


def main(argv):
    if any(a not in ("--no-boots",) for a in argv):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    missing_values()
    unwritable_files()
    batch_l1_options()
    make_without_a_tool()
    if "--no-boots" in argv:
        counts["skipped"] += 1
        print("skip a triple fault keeps the plan: --no-boots")
    else:
        reset_keeps_plan()
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
