# SPDX-License-Identifier: MIT
# main.py: a benchmark run from the command line to the reports.
"""main(argv): the runner (tools/bench/matrix.py calls it).

`report DIR ...`, `import-lava`, `merge` and `compare` go to their
modules' main(); --lava-jobs DIR writes jobs instead of running. Otherwise: parse the options
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

from pvspin import status

from . import compare, importlava, merge, report
from .cli import parse_args
from .cgroups import REGISTRY, HostError, host_support, remove_stale
from .common import (EXIT_BAD_ARGS, EXIT_OK, EXIT_RUN_FAILED, LATEST_NAME, REPO, UsageError,
                     die_usage, update_latest_link, warn)
from .env import gather_env, gnuplot_png_terminal
from .lavajobs import write_jobs
from .nested import run_nested
from .results import explain_failures, first_l1, make_records
from .runs import ACCEL_MISMATCH, plan_runs, run_direct
from .store import MATRIX_JSON, RESULTS_JSONL, Bench, save
from .variants import PEER_BUILD, plan_variants


def build_guest():
    done = subprocess.run(["make", "-s", "-C", str(REPO), "all"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        warn("the guest build failed; nothing was run")
        sys.exit(EXIT_RUN_FAILED)


def build_peer(opts):
    """The Linux peer's kernel, built now if this machine has none cached (a
    build takes minutes, longer than a run waits for QEMU); its path."""
    if not opts.quiet and subprocess.run([sys.executable, str(PEER_BUILD), "--cached"],
                                         capture_output=True).returncode != 0:
        warn("building the Linux peer's kernel (once per machine, a few minutes)")
    done = subprocess.run([sys.executable, str(PEER_BUILD), "--quiet"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        warn(f"the Linux peer's build failed (status {done.returncode}); nothing was run")
        sys.exit(EXIT_RUN_FAILED)
    image = done.stdout.strip()
    # Every boot of the matrix runs this image (run-qemu.sh reads it), even
    # if the peer's sources change while the matrix runs.
    os.environ["PVSPIN_PEER_IMAGE"] = image
    return image


def announce(opts, runs, variants, png_terminal):
    if opts.plot and png_terminal is None:
        report.warn_no_gnuplot()
    if opts.quiet:
        return
    boots = len({(r.rep, r.config, r.variant) for r in runs})
    kinds = "" if len(variants) == 1 else f" x {len(variants)} boots ({', '.join(v.text for v in variants)})"
    warn(f"{len(runs)} VM run(s): {len(opts.configs)} config(s) x {opts.reps} rep(s){kinds} "
         f"({boots} step(s)), {len(opts.locks)} lock(s) each, {opts.accel}; output in {opts.out}")


def interrupt(signum, frame):
    """SIGTERM ends a run like Ctrl-C: every group removed, thread thawed, hog killed."""
    raise KeyboardInterrupt


SUBCOMMANDS = {"report": report.main, "import-lava": importlava.main, "merge": merge.main,
               "compare": compare.main}


def now():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def lava_jobs(opts, argv):
    """--lava-jobs DIR: the guest built (the jobs carry its checksum), the jobs written."""
    build_guest()
    try:
        written = write_jobs(opts, [sys.argv[0], *argv], now())
    except UsageError as e:
        die_usage(str(e))
    print(f"{len(written) - 1} LAVA job(s) and {written[-1].name} in {opts.lava_jobs}; run each "
          "(tools/lava/run-local.sh --output-dir DIR/NAME DIR/NAME.yaml, or lavacli jobs submit), "
          f"then: tools/bench/matrix.py import-lava -o OUT {opts.lava_jobs}")
    return EXIT_OK


def main(argv):
    if argv[:1] and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
    opts = parse_args(argv)
    if opts.lava_jobs:
        return lava_jobs(opts, argv)
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
        update_latest_link(opts.out, LATEST_NAME)
    variants = plan_variants(opts.shapes, opts.peer, opts.peer_lock)
    runs = plan_runs(opts, opts.out / "logs", variants)
    announce(opts, runs, variants, png_terminal)
    env = gather_env(opts, support)
    build_guest()
    if opts.peer:
        env["peer_image"] = build_peer(opts)
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
    date = now()
    records = make_records(opts, env, runs)
    save(Bench(opts, env, [sys.argv[0], *argv], date, first_l1(runs), runs, records))
    summary, written = report.rebuild(opts.out, opts.plot, png_terminal)
    report.print_outcome(summary, [opts.out / RESULTS_JSONL, opts.out / MATRIX_JSON, *written,
                                   opts.out / "logs"])
    refused = next((r for r in runs if ACCEL_MISMATCH in r.reason), None)
    if refused:
        warn(f"run {refused.name} refused: {refused.reason}")
        return EXIT_BAD_ARGS
    # A record can fail in a boot that passed: a guest that ran another
    # shape than the one asked for (results.shape_mismatch).
    all_passed = all(r.status == status.PASS for r in runs) and all(r["status"] == "ok" for r in records)
    return EXIT_OK if all_passed else EXIT_RUN_FAILED
