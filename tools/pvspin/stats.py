# SPDX-License-Identifier: MIT
# stats.py: medians and spreads of repeated measurements, stated once.
"""How every host tool summarises repetitions: the median with its spread
(min, max, and the quartiles when there are enough values).

    summary([3.0, 1.0, 2.0]) -> Summary(n=3, median=2.0, lo=1.0, hi=3.0, q1=1.5, q3=2.5)
    fmt(s, "{:.1f}") -> "2.0 [1.0-3.0]"
"""
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    lo: float
    hi: float
    q1: float
    q3: float

    def as_dict(self):
        return {"n": self.n, "median": self.median, "min": self.lo, "max": self.hi,
                "q1": self.q1, "q3": self.q3}


def median(values):
    """The median of VALUES, or None when there are none."""
    values = list(values)
    return statistics.median(values) if values else None


def summary(values):
    """Median, min, max and quartiles of VALUES (None when empty)."""
    v = sorted(values)
    if not v:
        return None
    if len(v) == 1:
        q1 = q3 = v[0]
    else:
        q1, _, q3 = statistics.quantiles(v, n=4, method="inclusive")
    return Summary(len(v), statistics.median(v), v[0], v[-1], q1, q3)


def fmt(s, spec="{:g}"):
    """'median [min-max]', or '-' for no values."""
    if s is None:
        return "-"
    if s.n == 1:
        return spec.format(s.median)
    return f"{spec.format(s.median)} [{spec.format(s.lo)}-{spec.format(s.hi)}]"
