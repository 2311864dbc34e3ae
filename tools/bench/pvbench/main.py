# SPDX-License-Identifier: MIT
# main.py: a benchmark run from the command line to the reports.
"""main(argv): the runner (tools/bench/matrix.py calls it).

`report DIR ...` goes to report.main(). Otherwise: parse the options
(status 2 if bad), build the guest, run the matrix, store the run
(matrix.json, results.jsonl), write the reports from what was stored, print
summary.md and the files. Status 0 when every run passed, else 1.
"""
import atexit
import datetime
import os
import signal
import subprocess
import sys

from . import report
from .cli import parse_args
from .cgroups import REGISTRY, HostError, host_support, remove_stale
from .common import EXIT_BAD_ARGS, EXIT_OK, EXIT_RUN_FAILED, LATEST_LINK, REPO, ST_PASS, die_usage, warn
from .env import gather_env, gnuplot_png_terminal
from .nested import run_nested
from .results import explain_failures, first_l1, make_records
from .runs import ACCEL_MISMATCH, plan_runs, run_direct
from .store import MATRIX_JSON, RESULTS_JSONL, Bench, save


def update_latest_link(out):
    tmp = LATEST_LINK.with_name(f".latest.{os.getpid()}")
    tmp.symlink_to(out.name)
    os.replace(tmp, LATEST_LINK)


def build_guest():
    done = subprocess.run(["make", "-s", "-C", str(REPO), "all"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        warn("the guest build failed; nothing was run")
        sys.exit(EXIT_RUN_FAILED)


def announce(opts, runs, png_terminal):
    if opts.plot and png_terminal is None:
        report.warn_no_gnuplot()
    if opts.quiet:
        return
    boots = len({(r.rep, r.config) for r in runs})
    warn(f"{len(runs)} VM run(s): {len(opts.configs)} config(s) x {opts.reps} rep(s) "
         f"({boots} step(s)), {len(opts.locks)} lock(s) each, {opts.accel}; output in {opts.out}")


def interrupt(signum, frame):
    """SIGTERM ends a run like Ctrl-C: every group removed, thread thawed, hog killed."""
    raise KeyboardInterrupt


def main(argv):
    if argv[:1] == ["report"]:
        return report.main(argv[1:])
    opts = parse_args(argv)
    try:
        support = host_support({c.interference.split("=")[0] for c in opts.configs if c.interference},
                               opts.stall_mechanism)
    except HostError as e:
        die_usage(str(e))
    if support.get("cgroup", "not used") != "not used":
        for path in remove_stale():
            warn(f"removed {path}, left by a runner that was killed")
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)    # even when started with it ignored (&)
    atexit.register(REGISTRY.cleanup)
    png_terminal = gnuplot_png_terminal() if opts.plot else None
    (opts.out / "logs").mkdir(parents=True, exist_ok=True)
    if opts.default_out:
        update_latest_link(opts.out)
    runs = plan_runs(opts, opts.out / "logs")
    announce(opts, runs, png_terminal)
    env = gather_env(opts, support)
    build_guest()
    try:
        if opts.accel == "nested":
            run_nested(opts, runs)
        else:
            run_direct(opts, runs, support)
    except KeyboardInterrupt:
        warn("interrupted; writing what was measured")
    finally:
        REGISTRY.cleanup()
    explain_failures(runs)
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    save(Bench(opts, env, [sys.argv[0], *argv], date, first_l1(runs), runs,
               make_records(opts, env, runs)))
    summary, written = report.rebuild(opts.out, opts.plot, png_terminal)
    report.print_outcome(summary, [opts.out / RESULTS_JSONL, opts.out / MATRIX_JSON, *written,
                                   opts.out / "logs"])
    refused = next((r for r in runs if ACCEL_MISMATCH in r.reason), None)
    if refused:
        warn(f"run {refused.name} refused: {refused.reason}")
        return EXIT_BAD_ARGS
    all_passed = all(r.status == ST_PASS for r in runs)
    return EXIT_OK if all_passed else EXIT_RUN_FAILED
