# SPDX-License-Identifier: MIT
# compare.py: two result sets side by side, each change judged with a confidence interval (matrix.py compare).
"""matrix.py compare [--threshold PCT] [--metric M] BASE NEW

BASE and NEW are run directories (a run's --out, or import-lava's). For
every lock (series) and configuration both have, it prints both medians of
the ok throughputs and NEW/BASE: the Hodges-Lehmann estimate of the ratio
with its 95% Mann-Whitney interval (tools/pvspin/stats.py ratio_interval,
which states the method and the arithmetic). A change is significant only
when the interval excludes 1 and the estimate is more than PCT% (default
10) away from 1: a regression when NEW's throughput is lower.

--metric vs_tas judges each lock's throughput over tas's in the same boot
instead (stats.Cell.vs_tas): a host that got slower between the two sets
slows tas as much, so what is left is the lock's own change. Sets run one
after another on a shared host differ by such drift; tas, which no pv=
setting touches, shows it.

Exit status: 1 when any significant regression is found; else 2 when a
cell cannot be decided (too few ok repetitions on a side: 95% needs
C(m+n, m) >= 40, at least 4 a side) or the sets share no configuration,
or for bad arguments; else 0. A regression outranks an undecided cell: it
is a verdict on its own.
"""
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from pvspin import stats as pvstats

from .cli import Parser
from .common import EXIT_BAD_ARGS, EXIT_OK, EXIT_RUN_FAILED, UsageError, die_usage
from .stats import build_cells, fmt_rate, ordered_configs
from .store import StoreError, load
from .variants import all_series

DEFAULT_THRESHOLD_PCT = 10.0
# --metric: the Cell list compared, and what the header calls it.
METRICS = {"throughput": ("tput", "throughput (acquisitions/s)"),
           "vs_tas": ("vs_tas", "throughput over tas's in the same boot")}
MAX_THRESHOLD_PCT = 1000.0
REGRESSION, IMPROVEMENT, UNCHANGED, UNDECIDED = "REGRESSION", "improvement", "~", "undecided"


@dataclass
class Row:
    series: str
    config: str
    base: list
    new: list
    ratio: pvstats.Ratio = None
    verdict: str = UNDECIDED
    why: str = ""


def judge(row, threshold_pct, level=pvstats.CONFIDENCE):
    """Set ROW's ratio and verdict from its values."""
    if not row.base or not row.new:
        row.why = f"no ok result in {'BASE' if not row.base else 'NEW'}"
        return row
    try:
        row.ratio = pvstats.ratio_interval(row.base, row.new, level)
    except pvstats.TooFew as e:
        row.why = (f"{e.m} and {e.n} ok repetitions: a {level:.0%} interval needs "
                   f"C(m+n, m) >= {pvstats.min_orderings(level)} (here {math.comb(e.m + e.n, e.m)}), "
                   f"e.g. {e.needed} a side")
        return row
    except ValueError:
        row.why = "a throughput of 0: no ratio"
        return row
    change = abs(row.ratio.ratio - 1) * 100
    if not row.ratio.excludes_one():
        row.verdict, row.why = UNCHANGED, "the interval includes 1"
    elif change <= threshold_pct:
        row.verdict, row.why = UNCHANGED, f"within {threshold_pct:g}%"
    else:
        row.verdict = REGRESSION if row.ratio.ratio < 1 else IMPROVEMENT
    return row


def common_rows(base, new, metric="throughput"):
    """Rows of every (series, config) both BENCHes measured, in BASE's order;
    the cells only one of them has."""
    values = METRICS[metric][0]
    bcells, ncells = build_cells(base.records), build_cells(new.records)
    series = list(dict.fromkeys(all_series(base.opts) + [s for _, s in bcells]))
    configs = [c.label for c in ordered_configs(base.opts.configs)]
    rows = [Row(s, c, getattr(bcells[(c, s)], values), getattr(ncells[(c, s)], values))
            for s in series for c in configs if (c, s) in bcells and (c, s) in ncells]
    only_base = sorted(k for k in bcells if k not in ncells)
    only_new = sorted(k for k in ncells if k not in bcells)
    return rows, only_base, only_new


def fmt_ratio(r):
    if r is None:
        return "-"
    return f"{r.ratio:.3g} [{r.lo:.3g}-{r.hi:.3g}]"


def fmt_value(value):
    """A median: a rate, or a ratio (vs_tas) with three digits."""
    return fmt_rate(value) if value is None or value >= 100 else f"{value:.3g}"


def fmt_change(r):
    return "-" if r is None else f"{(r.ratio - 1) * 100:+.1f}%"


def describe(bench):
    env = bench.env
    return (f"{bench.opts.out} ({env.get('host_cpu_model')}; Linux {env.get('host_kernel')}; "
            f"guest {env.get('guest_revision')})")


def report_text(base, new, rows, only_base, only_new, threshold_pct, metric="throughput"):
    lines = [f"BASE: {describe(base)}", f"NEW:  {describe(new)}",
             f"{METRICS[metric][1]}: median of the ok repetitions; NEW/BASE: the "
             "Hodges-Lehmann estimate with its 95% Mann-Whitney interval; significant: the "
             f"interval excludes 1 and the change exceeds {threshold_pct:g}%", ""]
    header = ("lock", "config", "BASE median (n)", "NEW median (n)", "NEW/BASE [95% CI]", "change",
              "verdict")
    table = [header] + [(r.series, r.config, f"{fmt_value(pvstats.median(r.base))} ({len(r.base)})",
                         f"{fmt_value(pvstats.median(r.new))} ({len(r.new)})", fmt_ratio(r.ratio),
                         fmt_change(r.ratio), r.verdict + (f" ({r.why})" if r.why else ""))
                        for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    for what, keys in (("only in BASE", only_base), ("only in NEW", only_new)):
        if keys:
            lines.append(f"{what}: " + ", ".join(f"{s} at {c}" for c, s in keys))
    counts = {v: sum(1 for r in rows if r.verdict == v)
              for v in (REGRESSION, IMPROVEMENT, UNCHANGED, UNDECIDED)}
    lines.append(f"{counts[REGRESSION]} significant regression(s), {counts[IMPROVEMENT]} "
                 f"significant improvement(s), {counts[UNCHANGED]} without a significant change, "
                 f"{counts[UNDECIDED]} undecided")
    return "\n".join(lines) + "\n"


def parse_threshold(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_THRESHOLD_PCT:
        raise UsageError(f"--threshold '{text}': accepted: a percentage 0..{MAX_THRESHOLD_PCT:g}")
    return value


def build_parser():
    p = Parser(prog="tools/bench/matrix.py compare",
               description="Compare two run directories, lock by lock and config by config:\n"
                           "both medians, NEW/BASE with a 95% interval, and a verdict.",
               epilog="exit status: 1 a significant regression (NEW's throughput lower), 2 bad\n"
                      "input (no common configuration, too few repetitions to decide: at least\n"
                      f"{pvstats.min_per_side()} ok a side), 0 otherwise. docs/bench.md "
                      "\"Merging and comparing\".")
    p.add_argument("base", metavar="BASE", help="the run directory to compare against")
    p.add_argument("new", metavar="NEW", help="the run directory judged")
    p.add_argument("--threshold", default=str(DEFAULT_THRESHOLD_PCT), metavar="PCT",
                   help=f"smallest change that counts, in percent (default {DEFAULT_THRESHOLD_PCT:g})")
    p.add_argument("--metric", default="throughput", metavar="M",
                   help=f"{'|'.join(METRICS)}: throughput, or over tas's in the same boot "
                        "(default throughput)")
    return p


def main(argv):
    a = build_parser().parse_args(argv)
    try:
        threshold = parse_threshold(a.threshold)
        if a.metric not in METRICS:
            raise UsageError(f"--metric '{a.metric}': accepted: {', '.join(METRICS)}")
        base, new = (load(Path(d).resolve(), plot=False, quiet=True) for d in (a.base, a.new))
    except (UsageError, StoreError) as e:
        die_usage(f"compare: {e}")
    rows, only_base, only_new = common_rows(base, new, a.metric)
    if not rows:
        die_usage(f"compare: {a.base} and {a.new} share no lock at any configuration "
                  f"(BASE has {', '.join(sorted({c for c, _ in only_base})) or 'none'}, NEW has "
                  f"{', '.join(sorted({c for c, _ in only_new})) or 'none'})")
    for row in rows:
        judge(row, threshold)
    sys.stdout.write(report_text(base, new, rows, only_base, only_new, threshold, a.metric))
    if any(r.verdict == REGRESSION for r in rows):
        return EXIT_RUN_FAILED
    undecided = [r for r in rows if r.verdict == UNDECIDED]
    if undecided:
        print(f"matrix.py: compare: no verdict for {len(undecided)} cell(s): "
              + "; ".join(f"{r.series} at {r.config}: {r.why}" for r in undecided),
              file=sys.stderr)
        return EXIT_BAD_ARGS
    return EXIT_OK
