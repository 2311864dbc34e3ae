# SPDX-License-Identifier: MIT
# unitrun.py: a unittest module run the way every runner reports: one line a test, then the totals.
"""main(module, prefix) runs MODULE's unittest cases and prints 'ok PREFIX:
what' or 'FAIL PREFIX: what: why' a test (what: its docstring's first
line), then the totals line (pvspin.counts); its return value is the exit
status: 0 when none failed."""
import unittest

from .counts import Counts


class _Printed(unittest.TestResult):
    def __init__(self, prefix):
        super().__init__()
        self.prefix = prefix

    def name(self, test):
        return f"{self.prefix}: {test.shortDescription() or test.id()}"

    def addSuccess(self, test):
        super().addSuccess(test)
        print(f"ok {self.name(test)}", flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        print(f"FAIL {self.name(test)}: {str(err[1]).splitlines()[0]}", flush=True)

    def addError(self, test, err):
        super().addError(test, err)
        print(f"FAIL {self.name(test)}: {type(err[1]).__name__}: {err[1]}", flush=True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print(f"skip {self.name(test)}: {reason}", flush=True)


def main(module, prefix):
    result = _Printed(prefix)
    unittest.defaultTestLoader.loadTestsFromModule(module).run(result)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    print(Counts(result.testsRun - failed - skipped, failed, skipped).line())
    return 0 if failed == 0 else 1
