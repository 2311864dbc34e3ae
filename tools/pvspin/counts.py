# SPDX-License-Identifier: MIT
# counts.py: a test runner's totals, "N passed, N failed[, N skipped]": the one reader and writer; and its line for a case run once more.
"""Every runner of the project ends with one line of totals:

    N passed, N failed            or    N passed, N failed, N skipped

Counts.line() writes it; parse(output) reads it back from a runner's whole
output: the totals are the LAST line of that form, and it must be the last
line with text (make's own "make: *** ..." error lines may follow it), so a
runner that died after printing a nested runner's totals is not taken at
its word. `python3 tools/pvspin/counts.py < output` prints the normalized
line and exits 0, or exits 1 naming what is wrong.
"""
import re
import sys
from dataclasses import dataclass

LINE_RE = re.compile(r'^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$')
# What may follow the totals: make's report of a failed recipe.
TRAILER_RE = re.compile(r'^make(\[\d+\])?: \*\*\* ')


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other):
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped
        return self

    def line(self):
        return f'{self.passed} passed, {self.failed} failed, {self.skipped} skipped'

    @property
    def total(self):
        return self.passed + self.failed + self.skipped


def retry_line(name, why, first):
    """What a runner prints when case NAME failed for WHY, a cause its
    retry rule names, and runs once more, its first logs kept in FIRST
    (docs/output.md)."""
    return f'# {name}: {why}; ran once more (first run: {first})'


class NoTotals(ValueError):
    """A runner's output that does not end with its totals."""


def parse_line(line):
    """Counts of one totals line, or None when it is not one."""
    m = LINE_RE.match(line.strip())
    if not m:
        return None
    return Counts(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def parse(output):
    """The Counts of a runner's final totals line; NoTotals when there is none."""
    lines = [l.strip() for l in output.splitlines() if l.strip()]
    while lines and TRAILER_RE.match(lines[-1]):
        lines.pop()
    if not lines:
        raise NoTotals('no output')
    counts = parse_line(lines[-1])
    if counts is None:
        raise NoTotals(f'no final "N passed, N failed" line (last line: {lines[-1][:120]!r})')
    return counts


def main():
    try:
        print(parse(sys.stdin.read()).line())
    except NoTotals as e:
        print(f'counts.py: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
