# SPDX-License-Identifier: MIT
# stats.py: the results grouped per (config, lock), medians, number formats.
"""Statistics over result records, and how the reports print numbers.

build_cells(records) -> {(config label, lock): Cell}; a Cell counts every
record and keeps the measured values of the ok ones. ordered_configs()
sorts by overcommit. fmt_*() return '-' for None.
"""
import statistics
from dataclasses import dataclass, field


@dataclass
class Cell:
    """Every VM run of one lock at one config."""
    total: int = 0
    ok: int = 0
    tput: list = field(default_factory=list)
    fairness: list = field(default_factory=list)
    p50: list = field(default_factory=list)
    p99: list = field(default_factory=list)
    p999: list = field(default_factory=list)

    def median(self, name):
        values = getattr(self, name)
        return statistics.median(values) if values else None


def build_cells(records):
    cells = {}
    for r in records:
        cell = cells.setdefault((r["config"], r["lock"]), Cell())
        cell.total += 1
        if r["status"] != "ok":
            continue
        cell.ok += 1
        cell.tput.append(r["throughput_per_s"])
        cell.fairness.append(r["fairness"])
        cell.p50.append(r["latency_p50_ns"])
        cell.p99.append(r["latency_p99_ns"])
        cell.p999.append(r["latency_p999_ns"])
    return cells


def ordered_configs(configs):
    """By overcommit ratio, then as given."""
    return sorted(configs, key=lambda c: (c.overcommit, configs.index(c)))


def baseline_config(configs, cells, lock):
    """The lowest-overcommit config with a measurement of LOCK."""
    return next((c for c in ordered_configs(configs) if cells.get((c.label, lock), Cell()).tput), None)


# ---- summary.md -------------------------------------------------------------

def fmt_rate(value):
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def fmt_ns(ns):
    if ns is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.0f} ns"


def fmt_times(x):
    if x is None:
        return "-"
    return f"{x:,.0f}x" if x >= 100 else f"{x:.3g}x"
