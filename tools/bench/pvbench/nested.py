# SPDX-License-Identifier: MIT
# nested.py: every VM run of the matrix in one L1 boot (--accel nested).
"""Runs under --accel nested: one run-qemu.sh --batch call, one L1 boot, per guest.

run_nested(opts, runs) writes DIR/nested.batch (pvspin's runs, every shape)
and, with --peer linux, DIR/nested-linux.batch (the peer's runs: a batch
cannot mix guests, so the peer gets an L1 boot of its own, after pvspin's).
Each batch's stdout is split into one log per run at the '# l1:' lines, and
every Run's status comes from run-qemu.sh's 'nested run I of N: status S'
lines, else from the guest's verdict (a bed that failed prints no such
lines); tools/pvspin/runner.py reads both kinds of line.
"""
import shlex
import subprocess
import time

from pvspin import procs, runner, status

from .common import REPO, meaning, read_text
from .logs import guest_verdict
from .runs import Progress, guest_cmdline, run_qemu_options, stop
from .variants import LINUX, PVSPIN


def nested_batch_line(opts, run):
    return shlex.join([*run_qemu_options(opts, run), "--", *guest_cmdline(opts, run)])


class RunSplitter:
    """Copies a nested batch's stdout into one log per run: each run starts
    with its '# l1:' line. Times a run from its first line to the next run's
    (the L1 channel delivers output in bursts: approximate)."""

    def __init__(self, runs, progress):
        self.runs, self.progress = runs, progress
        self.index, self.current, self.t0 = -1, None, time.monotonic()

    def feed(self, line):
        if runner.is_l1_line(line):
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
        code = guest_verdict(run.log)
        outcome = ("done" if code == status.PASS else "FAILED: no guest verdict" if code is None
                   else f"FAILED: guest status {code} ({meaning(code)})")
        self.progress.step(run.what, run.seconds, outcome)

    @property
    def started(self):
        return self.index + 1


def run_nested(opts, runs):
    """Every run of a guest in one L1 boot (one run-qemu.sh --batch call):
    pvspin's first, then the peer's."""
    progress = Progress(len(runs), opts.quiet)
    for guest, name in ((PVSPIN, "nested"), (LINUX, "nested-linux")):
        mine = [r for r in runs if r.variant.guest == guest]
        if mine:
            run_batch(opts, mine, guest, name, progress)


def batch_argv(opts, guest, batch):
    """run-qemu.sh's command for one L1 boot running BATCH: the same L1 (CPUs,
    KVM module parameters) for pvspin's boots and the peer's."""
    return [str(opts.run_qemu), *(["--guest", LINUX] if guest == LINUX else []),
            "--accel", "nested", "--l1-smp", str(opts.l1_smp),
            *(w for p in opts.l1_params for w in ("--l1-param", p)), "--batch", str(batch)]


def run_batch(opts, runs, guest, name, progress):
    batch = opts.out / f"{name}.batch"
    batch.write_text("".join(nested_batch_line(opts, r) + "\n" for r in runs))
    whole_log, whole_err = opts.out / "logs" / f"{name}-batch.log", opts.out / "logs" / f"{name}-batch.err"
    argv = batch_argv(opts, guest, batch)
    splitter = RunSplitter(runs, progress)
    with open(whole_log, "wb") as whole, open(whole_err, "wb") as err:
        proc = procs.Group(argv, stdout=subprocess.PIPE, stderr=err, cwd=REPO)
        try:
            for line in proc.proc.stdout:
                whole.write(line)
                splitter.feed(line)
            splitter.finish()
            code = proc.wait()
        finally:
            stop(proc)
    assign_nested_statuses(runs, splitter.started, code, whole_err)


def assign_nested_statuses(runs, started, batch_status, err_path):
    """run-qemu.sh names each failed run on stderr once the bed has finished.
    When the bed itself failed (no such lines and a nonzero status), a run
    that got as far as the guest's verdict line has that verdict; the others
    get the batch status."""
    failed = runner.nested_statuses(read_text(err_path))
    bed_finished = batch_status == status.PASS or bool(failed)
    for i, run in enumerate(runs, start=1):
        run.err, run.accel = err_path, "nested"
        if i > started:
            run.log.write_bytes(b"")
            run.status = batch_status if batch_status != status.PASS else status.NO_VMM
        elif bed_finished:
            run.status = failed.get(i, status.PASS)
        else:
            guest = guest_verdict(run.log)
            run.status = batch_status if guest is None else guest
