# SPDX-License-Identifier: MIT
# main.py: one call of the nested bed: options, cache, L1 boots (again when one stalls), results.
"""main(argv) -> exit status: 0 the bed worked (every run's status
recorded), report.EXIT_BED the bed failed (one 'bed failure:' line),
report.EXIT_USAGE bad usage. stdout carries only '# l1:' lines and L2's
serial output; everything else goes to stderr or --diag-dir."""
import os
import shutil
import signal
import sys
import tempfile
import time

from .. import deps
from . import cache, jobcpio, options, results
from .l1 import L1Run
from .options import L1_BOOT_ALLOWANCE_S, L1_READY_BASE_S, L1_READY_PER_CPU_S, PER_RUN_ALLOWANCE_S
from .report import BED_FAILURE, EXIT_BED, EXIT_OK, EXIT_USAGE, PROG, REPORT, BedFailure, UsageError, log, say

DEPS_PURPOSE = "nested"


class Interrupted(Exception):
    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)


def _interrupt(signum, _frame):
    raise Interrupted(signum)


def check_host_tools():
    tools, packages = deps.missing(DEPS_PURPOSE)
    if tools:
        raise BedFailure(f"host tools missing: {' '.join(tools)} ({deps.install_line(packages)})")


def stalled_boot(o, diag, boot, ready_limit_s):
    """Boot BOOT stalled before KVM was ready. The last allowed boot is a bed
    failure; an earlier one is reported (console tail, where its CPUs
    were), its logs kept, and the caller boots L1 again."""
    when = f"at the ready limit ({ready_limit_s} s after the start)"
    what = f"L1 not ready (KVM loaded) within {ready_limit_s} s of its start"
    if boot >= o.boots:
        diag.l1_log_dump(when)
        raise BedFailure(f"{what}, in each of {boot} boot(s): its boot stalls below the guest "
                         "(--l1-ready-limit, --l1-boots)")
    # Said even with --quiet: the run's results come from another boot.
    say(f"L1 boot {boot} of at most {o.boots} stalled: {what}; it was stopped")
    diag.console_tail(results.STALLED_BOOT_CONSOLE_TAIL)
    diag.cpus_summary(when)
    diag.keep_stalled_boot(boot)
    say(f"booting L1 again (boot {boot + 1} of at most {o.boots})")


def run(o, clock=time.monotonic):
    jobs = [] if o.prepare else options.read_jobs(o)
    if not shutil.which(o.host_qemu):
        raise BedFailure(f"{o.host_qemu} not found on the host")
    check_host_tools()
    prep = cache.prepare(o)
    if o.prepare:
        log(f"cache ready: {prep.kernel_dir}, {prep.base_initrd}")
        return EXIT_OK
    timeout_used = (int(o.timeout) if o.timeout else
                    sum(j.timeout_s for j in jobs) + L1_BOOT_ALLOWANCE_S + PER_RUN_ALLOWANCE_S * len(jobs))
    ready_limit = int(o.l1_ready_limit) if o.l1_ready_limit else L1_READY_BASE_S + L1_READY_PER_CPU_S * o.smp
    work = tempfile.mkdtemp(prefix="pvspin-nested.", dir=os.environ.get("TMPDIR") or "/tmp")
    try:
        diag = results.Diag(work, o.diag_dir)
        diag.prepare_dir()
        jobcpio.write(work, o, prep, jobs)
        boot, t0, left = 1, clock(), timeout_used
        while True:
            l1 = L1Run(o, prep, work, boot, left, ready_limit, clock)
            try:
                l1_status = l1.run()
            finally:
                l1.stop()
            if not os.path.exists(os.path.join(work, "stalled")):
                break
            stalled_boot(o, diag, boot, ready_limit)
            # --timeout bounds the whole call: the next boot gets what is left.
            left = timeout_used - int(clock() - t0)
            if left <= 0:
                raise BedFailure(f"no time left for another L1 boot within the limit of {timeout_used} s")
            boot += 1
        results.collect(work, o, len(jobs), l1_status, timeout_used)
        return EXIT_OK
    finally:
        if o.keep_work:
            say(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        o = options.parse(argv)
    except options.HelpRequested:
        sys.stdout.write(options.usage())
        return EXIT_OK
    except UsageError as e:
        say(str(e))
        sys.stderr.write(options.usage())
        return EXIT_USAGE
    REPORT.quiet = o.quiet
    old = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run(o)
    except UsageError as e:
        say(str(e))
        sys.stderr.write(options.usage())
        return EXIT_USAGE
    except BedFailure as e:
        say(f"{BED_FAILURE}: {e}")
        return EXIT_BED
    except Interrupted as e:
        say(f"{BED_FAILURE}: interrupted by {e}")
        return EXIT_BED
    except Exception as e:  # noqa: BLE001 - any other failure is the bed's, said in one line
        say(f"{BED_FAILURE}: unexpected failure: {type(e).__name__}: {e}")
        return EXIT_BED
    finally:
        for s, h in old.items():
            signal.signal(s, h)


if __name__ == "__main__":
    sys.exit(main())
