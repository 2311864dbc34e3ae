# SPDX-License-Identifier: MIT
# stats.py: the results grouped per (config, lock), medians, number formats.
"""Statistics over result records, and how the reports print numbers.

build_cells(records) -> {(config label, series): Cell}; a Cell counts every
record and keeps the measured values of the ok ones. A series is the lock
for pvspin's default shape, else it names the shape or guest too
(variants.record_series). ordered_configs() sorts by overcommit. fmt_*()
return '-' for None. Medians are tools/pvspin/stats.py's.
"""
from dataclasses import dataclass, field

from pvspin.stats import median

from .variants import record_series


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
    per_cpu_s: list = field(default_factory=list)     # acquisitions per host CPU-second
    vs_tas: list = field(default_factory=list)        # throughput / tas's in the same boot
    run_fraction: list = field(default_factory=list)
    throttled_fraction: list = field(default_factory=list)
    frozen_fraction: list = field(default_factory=list)
    slow_handoffs: list = field(default_factory=list)
    long_holds: list = field(default_factory=list)
    lock_impls: list = field(default_factory=list)    # the Linux peer's lock, each named once
    interference: dict = None                         # one record's, as an example of the cell

    def median(self, name):
        values = getattr(self, name)
        return median(values)


TAS_LOCK = "tas"
# Record fields kept per cell when present (numbers only: the Linux peer
# has no fairness and no latencies).
MEASURED_NUMBERS = (("fairness", "fairness"), ("p50", "latency_p50_ns"), ("p99", "latency_p99_ns"),
                    ("p999", "latency_p999_ns"),
                    ("per_cpu_s", "acquisitions_per_cpu_s"), ("run_fraction", "run_fraction"),
                    ("throttled_fraction", "throttled_fraction"),
                    ("frozen_fraction", "frozen_fraction"), ("slow_handoffs", "slow_handoffs"),
                    ("long_holds", "long_holds"))


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def boot_of(record):
    """The boot a record came from: a config, rep and VM of one guest and shape."""
    return (record["config"], record.get("rep"), record.get("vm"), record.get("guest"),
            record.get("shape"))


def same_boot_tas(records):
    """boot_of() -> tas's throughput in that boot."""
    return {boot_of(r): r["throughput_per_s"] for r in records
            if r["lock"] == TAS_LOCK and r["status"] == "ok" and r["throughput_per_s"]}


def build_cells(records):
    cells = {}
    tas = same_boot_tas(records)
    for r in records:
        cell = cells.setdefault((r["config"], record_series(r)), Cell())
        cell.total += 1
        if r["status"] != "ok":
            continue
        cell.ok += 1
        cell.tput.append(r["throughput_per_s"])
        for name, key in MEASURED_NUMBERS:
            if is_number(r.get(key)):
                getattr(cell, name).append(r[key])
        if r.get("lock_impl") and r["lock_impl"] not in cell.lock_impls:
            cell.lock_impls.append(r["lock_impl"])
        boot_tas = tas.get(boot_of(r))
        if boot_tas:
            cell.vs_tas.append(r["throughput_per_s"] / boot_tas)
        if isinstance(r.get("interference"), dict) and cell.interference is None:
            cell.interference = r["interference"]
    return cells


def ordered_configs(configs):
    """By overcommit ratio, then as given."""
    return sorted(configs, key=lambda c: (c.overcommit, configs.index(c)))


def baseline_config(configs, cells, lock):
    """The lowest-overcommit config with a measurement of LOCK, one without
    interference if there is one."""
    measured = [c for c in ordered_configs(configs) if cells.get((c.label, lock), Cell()).tput]
    return next((c for c in measured if not c.interference), measured[0] if measured else None)


# ---- summary.md -------------------------------------------------------------

def fmt_rate(value):
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def fmt_spread(values):
    """('min-max', '(max - min) / median') of a cell's values, '-' for none."""
    if not values:
        return "-", "-"
    med = median(values)
    return (f"{fmt_rate(min(values))}-{fmt_rate(max(values))}",
            f"{(max(values) - min(values)) / med:.0%}" if med else "-")


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
