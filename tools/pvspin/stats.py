# SPDX-License-Identifier: MIT
# stats.py: medians, spreads and comparisons of repeated measurements, stated once.
"""How every host tool summarises repetitions: the median with its spread
(min, max, and the quartiles when there are enough values).

    summary([3.0, 1.0, 2.0]) -> Summary(n=3, median=2.0, lo=1.0, hi=3.0, q1=1.5, q3=2.5)
    fmt(s, "{:.1f}") -> "2.0 [1.0-3.0]"

And how two sets of repetitions compare (matrix.py compare):

    ratio_interval(base, new) -> Ratio(ratio, lo, hi, coverage, m, n): NEW/BASE,
        the Hodges-Lehmann estimate with its 95% Mann-Whitney interval, or
        TooFew (with .needed) when the sets are too small to reach 95%
    shift_interval(base, new) -> Shift(shift, lo, hi, coverage, m, n): NEW - BASE,
        the same for a difference (make bench-boot's ms over the floor)
    at_most(lo, hi, limit) -> "met", "missed" or "not decided": a target
        "at most LIMIT" against an interval (TOO_FEW: none to judge)
"""
import fractions
import math
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


# ---- comparing two sets of repetitions ---------------------------------
# NEW/BASE as a ratio with a confidence interval: the Hodges-Lehmann
# estimate of the shift in log(value) and its distribution-free interval
# from the Mann-Whitney U statistic (Hollander and Wolfe, Nonparametric
# Statistical Methods, 3.2). It assumes only that NEW is BASE scaled by one
# factor, which suits rates such as throughput; the interval is exact (the
# null distribution of U counted, not approximated) up to EXACT_MAX_PAIRS
# pairs, with the normal approximation beyond.
#
# The interval [r_(k), r_(mn+1-k)] over the m*n pairwise ratios new_j/base_i,
# sorted, covers the true ratio with probability 1 - 2*P(U <= k-1). Its
# widest form, k = 1 (the smallest and the largest ratio), reaches level L
# only when 2*P(U = 0) = 2 / C(m+n, m) <= 1 - L: for 95%, C(m+n, m) >= 40.
# Equal sizes: C(6,3) = 20 (3 and 3 reach at most 90%), C(8,4) = 70 (4 and
# 4 reach 97.1%); so at least 4 repetitions a side. One repetition a side
# never decides: C(1+n, 1) = n+1 would need the other side to have 39.

CONFIDENCE = 0.95
EXACT_MAX_PAIRS = 10000


class TooFew(ValueError):
    """Too few values for an interval at the level asked: .needed says how
    many a side (equal sizes) would do."""

    def __init__(self, m, n, level, needed):
        super().__init__(f"{m} and {n} values cannot give a {level:.0%} interval: "
                         f"a Mann-Whitney interval needs C(m+n, m) >= {min_orderings(level)}, "
                         f"i.e. at least {needed} a side")
        self.m, self.n, self.level, self.needed = m, n, level, needed


@dataclass(frozen=True)
class Ratio:
    """NEW/BASE: the Hodges-Lehmann estimate, its interval [lo, hi] and the
    interval's exact coverage (at least the level asked for)."""
    ratio: float
    lo: float
    hi: float
    coverage: float
    m: int
    n: int

    def excludes_one(self):
        return self.hi < 1.0 or self.lo > 1.0


@dataclass(frozen=True)
class Shift:
    """NEW - BASE: the Hodges-Lehmann estimate, its interval [lo, hi] and
    the interval's exact coverage (at least the level asked for)."""
    shift: float
    lo: float
    hi: float
    coverage: float
    m: int
    n: int


def mann_whitney_counts(m, n):
    """counts[u] = how many of the C(m+n, m) orderings of m and n values give
    U = u (u = 0..m*n): the coefficients of the Gaussian binomial
    prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i)."""
    size = m * n + 1
    poly = [0] * size
    poly[0] = 1
    for i in range(1, m + 1):
        # multiply by (1 - q^(n+i)), then divide by (1 - q^i): both exact on integers
        for u in range(size - 1, n + i - 1, -1):
            poly[u] -= poly[u - n - i]
        for u in range(i, size):
            poly[u] += poly[u - i]
    return poly


def decidable(m, n, level=CONFIDENCE):
    """Whether m and n values can give a two-sided interval at LEVEL at all."""
    return m >= 1 and n >= 1 and math.comb(m + n, m) >= min_orderings(level)


def min_orderings(level=CONFIDENCE):
    """The fewest orderings C(m+n, m) that can reach LEVEL: 40 for 95%
    (LEVEL read as the decimal it prints as: 0.95 is 19/20, not 0.9499...)."""
    return math.ceil(2 / (1 - fractions.Fraction(str(level))))


def min_per_side(level=CONFIDENCE):
    """The fewest values a side (equal sizes) that can reach LEVEL: 4 for 95%."""
    n = 1
    while not decidable(n, n, level):
        n += 1
    return n


def _rank_k(m, n, level):
    """The largest k with 2 * P(U <= k-1) <= 1 - LEVEL, and the coverage 1 - 2 * P(U <= k-1)."""
    alpha_half = (1 - level) / 2
    pairs = m * n
    if pairs <= EXACT_MAX_PAIRS:
        counts = mann_whitney_counts(m, n)
        total = math.comb(m + n, m)
        k, below = 0, 0
        while k < len(counts) and (below + counts[k]) / total <= alpha_half:
            below += counts[k]
            k += 1
        return k, 1 - 2 * below / total
    z = statistics.NormalDist().inv_cdf(1 - alpha_half)
    k = int(pairs / 2 - z * math.sqrt(pairs * (m + n + 1) / 12))
    return max(k, 0), level


def shift_interval(base, new, level=CONFIDENCE):
    """Shift for NEW - BASE; TooFew when they cannot reach LEVEL."""
    base, new = list(base), list(new)
    m, n = len(base), len(new)
    if not decidable(m, n, level):
        raise TooFew(m, n, level, min_per_side(level))
    diffs = sorted(y - x for x in base for y in new)
    k, coverage = _rank_k(m, n, level)
    k = max(k, 1)
    return Shift(statistics.median(diffs), diffs[k - 1], diffs[len(diffs) - k], coverage, m, n)


def ratio_interval(base, new, level=CONFIDENCE):
    """Ratio for NEW/BASE (positive values): the shift of their logarithms;
    TooFew when they cannot reach LEVEL, ValueError for a value that is not
    positive."""
    base, new = list(base), list(new)
    if any(v <= 0 for v in base + new):
        raise ValueError("a ratio needs positive values")
    s = shift_interval([math.log(x) for x in base], [math.log(y) for y in new], level)
    return Ratio(math.exp(s.shift), math.exp(s.lo), math.exp(s.hi), s.coverage, s.m, s.n)


MET, MISSED, UNDECIDED = "met", "missed", "not decided"
TOO_FEW = "too few repetitions"         # no interval at the level: no verdict


def at_most(lo, hi, limit):
    """A target "at most LIMIT" against the interval [LO, HI]: met when all
    of it is at most LIMIT, missed when all of it is above, else not decided
    (more repetitions, or a quieter host, may decide it)."""
    if hi <= limit:
        return MET
    if lo > limit:
        return MISSED
    return UNDECIDED
