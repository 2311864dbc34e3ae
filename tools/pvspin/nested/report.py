# SPDX-License-Identifier: MIT
# report.py: the bed's messages on stderr and its two ways to fail (bad usage, bed failure).
"""Every stderr line of the bed starts with PROG, the entry point's name
that callers match ('nested-run.sh: bed failure: ...'). log() is progress
(silenced by --quiet); say() is always printed."""
import sys

from .. import status

PROG = "nested-run.sh"
EXIT_OK = 0
EXIT_USAGE = status.BAD_INPUT  # bad options or a malformed job file
EXIT_BED = status.NO_VMM       # the bed failed: no L2 run could be judged


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
