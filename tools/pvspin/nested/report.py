# SPDX-License-Identifier: MIT
# report.py: the bed's messages on stderr and its two ways to fail (bad usage, bed failure).
"""Every stderr line of the bed starts with PROG, the entry point's name
that callers match ('nested-run.sh: bed failure: ...'). log() is progress
(silenced by --quiet); say() is always printed."""
import re
import sys

from .. import status

PROG = "nested-run.sh"
EXIT_OK = 0
EXIT_USAGE = status.BAD_INPUT  # bad options or a malformed job file
EXIT_BED = status.NO_VMM       # the bed failed: no L2 run could be judged


# A failed bed's one line, f"{PROG}: {BED_FAILURE}: REASON"; a reason of
# L1's own failure says how far the batch got as RUNS_DONE.
BED_FAILURE = "bed failure"
RUNS_DONE = "after {done} of {total} runs"
_BED_FAILURE_LINE = re.compile(rf"^{re.escape(PROG)}: {BED_FAILURE}: (.*)$", re.M)
_RUNS_DONE = re.compile(RUNS_DONE.format(done=r"(\d+)", total=r"\d+"))


def bed_failure(text):
    """The REASON of the bed's failure line in TEXT (its stderr, as is or
    passed through run-qemu.sh), or ''."""
    m = _BED_FAILURE_LINE.search(text)
    return m.group(1).strip() if m else ""


def runs_done(reason):
    """The runs L1 finished by a bed failure's REASON (RUNS_DONE), 0 when it
    does not say."""
    m = _RUNS_DONE.search(reason)
    return int(m.group(1)) if m else 0


class UsageError(Exception):
    """Bad usage: the message, then the usage text, status EXIT_USAGE."""


class BedFailure(Exception):
    """The bed failed: one 'bed failure: REASON' line, status EXIT_BED."""


class Reporter:
    def __init__(self, stream=None):
        self.quiet = False
        self.stream = stream

    def _out(self):
        return self.stream or sys.stderr

    def say(self, text):
        out = self._out()
        out.write(f"{PROG}: {text}\n")
        out.flush()

    def raw(self, text):
        """Lines that carry their own prefix (console tails, register summaries)."""
        out = self._out()
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()

    def log(self, text):
        if not self.quiet:
            self.say(text)


REPORT = Reporter()
log = REPORT.log
say = REPORT.say
raw = REPORT.raw
