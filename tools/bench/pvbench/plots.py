# SPDX-License-Identifier: MIT
# plots.py: the gnuplot data, scripts and images of a run.
"""Throughput and latency plots.

write_plots(opts, cells, png_terminal) writes throughput.dat/.gp and
latency.dat/.gp into opts.out (and stall.dat/.gp when the matrix has two or
more stall fractions of one config, --stall-sweep) and, when png_terminal
is not None, runs gnuplot for the .png and .svg; it returns the files
written. A lock is a series (variants.all_series): pvspin's other shape
and the Linux peer get lines of their own.
"""
import subprocess

from .common import warn
from .config import SCHED_MODE, fmt_ratio, format_cpuset
from .interference import NONE, parse_mode
from .stats import Cell, fmt_ns, ordered_configs
from .summary import cpus_word
from .variants import all_series

LATENCY_PANEL_COLUMNS = 3
LATENCY_PANEL_HEIGHT = 440      # pixels per row of lock panels
LATENCY_Y_MARGIN = 3            # y range: below the least value, above the greatest (cubed: room for the key)


def series_groups(configs):
    """(cpuset, VMs, Xen scheduler) groups: each is one line per lock in the throughput plot."""
    return list(dict.fromkeys((c.cpus, c.vms, c.sched) for c in configs))


def write_throughput_data(opts, cells):
    """throughput.dat: one block per lock and group; returns (title, lock index) per block."""
    groups = series_groups(opts.configs)
    blocks, text = [], []
    for li, lock in enumerate(all_series(opts)):
        for cpus, vms, sched in groups:
            rows = [(c, cells.get((c.label, lock), Cell())) for c in ordered_configs(opts.configs)
                    if (c.cpus, c.vms, c.sched) == (cpus, vms, sched)]
            rows = [(c, cell) for c, cell in rows if cell.tput]
            if not rows:
                continue
            title = lock if len(groups) == 1 else (
                f"{lock} on {format_cpuset(cpus)}" + (f" x{vms} VMs" if vms > 1 else "")
                + (f", {SCHED_MODE}{sched}" if sched else ""))
            text.append(f"# {title}: overcommit median min max")
            text += [f"{c.overcommit:g} {cell.median('tput')} {min(cell.tput)} {max(cell.tput)}"
                     for c, cell in rows]
            text += ["", ""]
            blocks.append((title, li))
    (opts.out / "throughput.dat").write_text("\n".join(text))
    return blocks


def gnuplot_script(png_terminal, name, size, body):
    width, height = size
    return (f"# {name}: written by tools/bench/matrix.py; run 'gnuplot {name}.gp' in this directory\n"
            f"do for [fmt in \"png svg\"] {{\n"
            f"  if (fmt eq \"png\") {{ set terminal {png_terminal} size {width},{height} noenhanced }} "
            f"else {{ set terminal svg size {width},{height} dynamic noenhanced }}\n"
            f"  set output \"{name}.\" . fmt\n"
            + "".join(f"  {line}\n" for line in body) +
            "  set output\n}\n")


def throughput_plot(opts, cells, png_terminal):
    blocks = write_throughput_data(opts, cells)
    ratios = sorted({c.overcommit for c in opts.configs})
    plots = [f"'throughput.dat' index {i} using 1:2:3:4 with yerrorlines lc {li + 1} "
             f"pt {6 + i % 8} title \"{title}\"" for i, (title, li) in enumerate(blocks)]
    body = [f"set title \"lock throughput under overcommit ({cpus_word(opts)}, {opts.accel})\"",
            "set xlabel \"overcommit ratio (vCPUs x VMs / CPUs in the cpuset)\"",
            "set ylabel \"acquisitions per second (median, bars min-max)\"",
            "set logscale y", "set grid", "set key outside right",
            "set xtics (" + ", ".join(f"\"{fmt_ratio(r)}\" {r:g}" for r in ratios) + ")",
            f"set xrange [{min(ratios) * 0.8:g}:{max(ratios) * 1.1:g}]",
            "plot " + ", \\\n    ".join(plots)]
    return gnuplot_script(png_terminal, "throughput", (1000, 600), body) if plots else None


def write_latency_data(opts, cells, configs):
    """latency.dat: one block per lock, x = index of the config; returns
    the locks with a block and every latency value written."""
    text, locks, values = [], [], []
    for lock in all_series(opts):
        rows = [(x, cells.get((c.label, lock), Cell())) for x, c in enumerate(configs)]
        rows = [(x, cell) for x, cell in rows if cell.p99]
        if not rows:
            continue
        text.append(f"# {lock}: config_index p50 p99 p999 (ns)")
        for x, cell in rows:
            medians = [cell.median(name) for name in ("p50", "p99", "p999")]
            text.append(f"{x} " + " ".join(str(v) for v in medians))
            values += medians
        text += ["", ""]
        locks.append(lock)
    (opts.out / "latency.dat").write_text("\n".join(text))
    return locks, values


def latency_plot(opts, cells, png_terminal):
    """One panel per lock, the same log y range in all of them."""
    configs = ordered_configs(opts.configs)
    locks, values = write_latency_data(opts, cells, configs)
    if not locks:
        return None
    positive = [v for v in values + [opts.slice_ns] if v > 0]
    rows_n = (len(locks) + LATENCY_PANEL_COLUMNS - 1) // LATENCY_PANEL_COLUMNS
    cols_n = min(len(locks), LATENCY_PANEL_COLUMNS)
    body = [f"set multiplot layout {rows_n},{cols_n} title \"acquire latency, medians over runs "
            f"(dashed: host time slice {fmt_ns(opts.slice_ns)})\"",
            "set logscale y", "set grid", "set key top center horizontal samplen 1 font \",9\"",
            "set ylabel \"ns\"", "set bmargin 4",
            f"set yrange [{min(positive) / LATENCY_Y_MARGIN:g}:{max(positive) * LATENCY_Y_MARGIN ** 3:g}]",
            "set xtics (" + ", ".join(f"\"{c.label}\\n{fmt_ratio(c.overcommit)}\" {x}"
                                      for x, c in enumerate(configs)) + ")",
            f"set xrange [-0.5:{len(configs) - 0.5}]",
            f"slice = {opts.slice_ns}"]
    for i, lock in enumerate(locks):
        body += [f"set title \"{lock}\"",
                 f"plot 'latency.dat' index {i} using 1:2 with linespoints title \"p50\", "
                 f"'' index {i} using 1:3 with linespoints title \"p99\", "
                 f"'' index {i} using 1:4 with linespoints title \"p99.9\", "
                 "slice with lines dt 2 lc rgb \"gray40\" notitle"]
    body.append("unset multiplot")
    return gnuplot_script(png_terminal, "latency", (1200, LATENCY_PANEL_HEIGHT * rows_n), body)


def stall_share(config):
    """The share of time each vCPU is frozen (LEN/EVERY / vCPUs), 0 without
    interference, None under another mode."""
    spec = parse_mode(config.interference) if config.interference else NONE
    if spec.mode not in ("", "stall"):
        return None
    return spec.stall_duty / config.vcpus


def stall_series(opts):
    """{base label: [(share, config)]} for the configs with two or more stall shares."""
    series = {}
    for c in opts.configs:
        share = stall_share(c)
        if share is not None:
            series.setdefault(c.base_label, []).append((share, c))
    return {base: sorted(rows, key=lambda r: r[0]) for base, rows in series.items()
            if len({share for share, _ in rows}) > 1}


def write_stall_data(opts, cells, series):
    """stall.dat: one block per lock and base config; returns (title, lock index) per block."""
    text, blocks = [], []
    for li, lock in enumerate(all_series(opts)):
        for base, rows in series.items():
            rows = [(share, cells.get((c.label, lock), Cell())) for share, c in rows]
            rows = [(share, cell) for share, cell in rows if cell.tput]
            if not rows:
                continue
            title = lock if len(series) == 1 else f"{lock} at {base}"
            text.append(f"# {title}: frozen_share tput_median tput_min tput_max p99_ns")
            text += [f"{share:g} {cell.median('tput')} {min(cell.tput)} {max(cell.tput)} "
                     f"{cell.median('p99')}" for share, cell in rows]
            text += ["", ""]
            blocks.append((title, li))
    (opts.out / "stall.dat").write_text("\n".join(text))
    return blocks


def stall_plot(opts, cells, png_terminal):
    """Throughput and p99 of every lock against the share of time each vCPU is frozen."""
    series = stall_series(opts)
    if not series:
        return None
    blocks = write_stall_data(opts, cells, series)
    if not blocks:
        return None
    def lines(using, bars):
        style = "yerrorlines" if bars else "linespoints"
        return "plot " + ", \\\n    ".join(
            f"'stall.dat' index {i} using {using} with {style} lc {li + 1} pt {6 + i % 8} title \"{title}\""
            for i, (title, li) in enumerate(blocks))
    body = ["set multiplot layout 1,2 title \"locks under --stall: one vCPU frozen at a time "
            f"(cgroup freezer), {opts.accel}\"",
            "set xlabel \"share of time each vCPU is frozen (LEN/EVERY / vCPUs)\"",
            "set logscale y", "set grid", "set key bottom left font \",9\"", "set format x \"%.0f%%\"",
            "set title \"throughput\"", "set ylabel \"acquisitions per second (median, bars min-max)\"",
            lines("($1*100):2:3:4", True),
            "set title \"p99 acquire latency\"", "set ylabel \"ns (median over runs)\"",
            lines("($1*100):5", False),
            "unset multiplot"]
    return gnuplot_script(png_terminal, "stall", (1400, 560), body)


def write_plots(opts, cells, png_terminal):
    """Writes the .dat and .gp files; runs gnuplot when there is one. Returns the files."""
    written = []
    for name, make in (("throughput", throughput_plot), ("latency", latency_plot),
                       ("stall", stall_plot)):
        script = make(opts, cells, png_terminal or "pngcairo")
        if name == "stall" and not (opts.out / "stall.dat").exists():
            continue        # no sweep in this matrix: nothing to say
        written.append(opts.out / f"{name}.dat")
        if script is None:
            warn(f"no {name} plot: no lock was measured")
            continue
        (opts.out / f"{name}.gp").write_text(script)
        written.append(opts.out / f"{name}.gp")
        if png_terminal is None:
            continue
        done = subprocess.run(["gnuplot", f"{name}.gp"], cwd=opts.out, capture_output=True, text=True)
        if done.returncode != 0:
            warn(f"gnuplot {name}.gp failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        written += [opts.out / f"{name}.png", opts.out / f"{name}.svg"]
    return written
