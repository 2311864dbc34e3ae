# SPDX-License-Identifier: MIT
# nested.py: every VM run of the matrix in one L1 boot (--accel nested).
"""Runs under --accel nested: one run-qemu.sh --batch call, one L1 boot.

run_nested(opts, runs) writes DIR/nested.batch, splits the batch's stdout
into one log per run at the '# l1:' lines, and sets every Run's status from
run-qemu.sh's 'nested run I of N: status S' lines (or the guest's verdict
when the L1 bed itself failed).
"""
import re
import shlex
import subprocess
import time

from .common import REPO, ST_NO_QEMU, ST_PASS, meaning, read_text
from .config import fmt_ratio
from .logs import L1_PREFIX, guest_verdict
from .runs import Progress, guest_cmdline, run_qemu_options, stop

NESTED_STATUS_RE = re.compile(r"^run-qemu\.sh: nested run (\d+) of \d+: status (\d+)")


def nested_batch_line(opts, run):
    return shlex.join([*run_qemu_options(opts, run), "--", *guest_cmdline(opts, run.rep)])


class RunSplitter:
    """Copies a nested batch's stdout into one log per run: each run starts
    with its '# l1:' line. Times a run from its first line to the next run's
    (the L1 channel delivers output in bursts: approximate)."""

    def __init__(self, runs, progress):
        self.runs, self.progress = runs, progress
        self.index, self.current, self.t0 = -1, None, time.monotonic()

    def feed(self, line):
        if line.startswith(L1_PREFIX.encode()):
            self.finish()
            self.index, self.t0 = self.index + 1, time.monotonic()
            if self.index < len(self.runs):
                self.current = open(self.runs[self.index].log, "wb")
        if self.current:
            self.current.write(line)

    def finish(self):
        if not self.current:
            return
        self.current.close()
        self.current = None
        run = self.runs[self.index]
        run.seconds = time.monotonic() - self.t0
        status = guest_verdict(run.log)
        outcome = ("done" if status == ST_PASS else "FAILED: no guest verdict" if status is None
                   else f"FAILED: guest status {status} ({meaning(status)})")
        self.progress.step(f"{run.config.label} ({fmt_ratio(run.config.overcommit)}) rep {run.rep}",
                           run.seconds, outcome)

    @property
    def started(self):
        return self.index + 1


def run_nested(opts, runs):
    """Every run in one L1 boot (one run-qemu.sh --batch call)."""
    batch = opts.out / "nested.batch"
    batch.write_text("".join(nested_batch_line(opts, r) + "\n" for r in runs))
    whole_log, whole_err = opts.out / "logs" / "nested-batch.log", opts.out / "logs" / "nested-batch.err"
    argv = [str(opts.run_qemu), "--accel", "nested", "--l1-smp", str(opts.l1_smp),
            "--batch", str(batch)]
    splitter = RunSplitter(runs, Progress(len(runs), opts.quiet))
    with open(whole_log, "wb") as whole, open(whole_err, "wb") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=REPO, start_new_session=True)
        try:
            for line in proc.stdout:
                whole.write(line)
                splitter.feed(line)
            splitter.finish()
            status = proc.wait()
        finally:
            stop(proc)
    assign_nested_statuses(runs, splitter.started, status, whole_err)


def assign_nested_statuses(runs, started, batch_status, err_path):
    """run-qemu.sh names each failed run on stderr once the bed has finished.
    When the bed itself failed (no such lines and a nonzero status), a run
    that got as far as the guest's verdict line has that verdict; the others
    get the batch status."""
    failed = {}
    for line in read_text(err_path).splitlines():
        m = NESTED_STATUS_RE.match(line)
        if m:
            failed[int(m.group(1))] = int(m.group(2))
    bed_finished = batch_status == ST_PASS or bool(failed)
    for i, run in enumerate(runs, start=1):
        run.err, run.accel = err_path, "nested"
        if i > started:
            run.log.write_bytes(b"")
            run.status = batch_status if batch_status != ST_PASS else ST_NO_QEMU
        elif bed_finished:
            run.status = failed.get(i, ST_PASS)
        else:
            guest = guest_verdict(run.log)
            run.status = batch_status if guest is None else guest
