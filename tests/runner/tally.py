# SPDX-License-Identifier: MIT
# tally.py: a small sub-runner's cases, one line each, and its final totals line (tools/pvspin/counts.py).
"""    t = Tally()
    t.check('name', condition, 'why it failed')   # or t.ok / t.fail / t.skip
    sys.exit(t.end())                              # prints "N passed, N failed, N skipped"
"""
import sys
import time

from pvspin import counts


class Tally:
    def __init__(self):
        self.counts = counts.Counts()
        self.t0 = time.monotonic()

    def _took(self):
        took, self.t0 = time.monotonic() - self.t0, time.monotonic()
        return f'{took:.1f}s'

    def ok(self, name):
        self.counts.passed += 1
        print(f'ok {name} ({self._took()})', flush=True)

    def fail(self, name, why):
        self.counts.failed += 1
        print(f'FAIL {name}: {why} ({self._took()})', flush=True)

    def skip(self, name, why):
        self.counts.skipped += 1
        self._took()
        print(f'skip {name}: {why}', flush=True)

    def check(self, name, good, why=''):
        """Passes NAME when GOOD is true, else fails it with WHY."""
        if good:
            self.ok(name)
        else:
            self.fail(name, why)
        return bool(good)

    def end(self):
        print(self.counts.line())
        sys.stdout.flush()
        return 1 if self.counts.failed else 0
