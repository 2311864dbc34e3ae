# SPDX-License-Identifier: MIT
# report.py: every report of a run, from its directory (also `matrix.py report DIR`).
"""The reports: results.csv, runs.csv, summary.md and the plots.

write_reports(bench, png_terminal) writes them from a loaded Bench. A run
stores itself (store.save) and then calls rebuild(), the very path that
`matrix.py report DIR` takes, so a report rebuilt from a finished run's
directory is the same as the one the run wrote. main(argv) is the report
subcommand: status 0 when the reports are written, 2 for a bad DIR.
"""
import sys
from pathlib import Path

from .cli import Parser
from .common import EXIT_BAD_ARGS, EXIT_OK, GNUPLOT_INSTALL, warn
from .env import gnuplot_png_terminal
from .plots import write_plots
from .results import write_csvs
from .stats import build_cells
from .store import StoreError, load
from .summary import write_summary


def write_reports(bench, png_terminal):
    """(summary.md's text, the files written)."""
    opts = bench.opts
    cells = build_cells(bench.records)
    write_csvs(opts.out, bench.records, bench.runs)
    text = write_summary(bench, cells)
    written = [opts.out / name for name in ("results.csv", "runs.csv", "summary.md")]
    if opts.plot:
        written += write_plots(opts, cells, png_terminal)
    return text, written


def rebuild(out, plot, png_terminal):
    """Load the run stored in OUT and write its reports; StoreError if it cannot."""
    return write_reports(load(out, plot=plot), png_terminal)


def warn_no_gnuplot():
    warn(f"gnuplot is missing: the plots will be skipped (their .dat and .gp files are "
         f"still written); install it with: {GNUPLOT_INSTALL}")


def print_outcome(summary, written):
    print(summary)
    print("written:")
    for path in written:
        print(f"  {path}")


def build_report_parser():
    p = Parser(prog="tools/bench/matrix.py report",
               description="Rebuild the reports of a finished run (results.csv, runs.csv,\n"
                           "summary.md, plots) from DIR/matrix.json and DIR/results.jsonl,\n"
                           "booting nothing.",
               epilog="exit status: 0 written, 2 bad arguments or a DIR they cannot be built from.")
    p.add_argument("dir", metavar="DIR", help="the run's --out directory")
    p.add_argument("--no-plot", action="store_true", help="no gnuplot plots")
    return p


def main(argv):
    a = build_report_parser().parse_args(argv)
    try:
        bench = load(Path(a.dir).resolve(), plot=not a.no_plot)
    except StoreError as e:
        warn(f"report: {e}")
        sys.exit(EXIT_BAD_ARGS)
    png_terminal = None if a.no_plot else gnuplot_png_terminal()
    if not a.no_plot and png_terminal is None:
        warn_no_gnuplot()
    print_outcome(*write_reports(bench, png_terminal))
    return EXIT_OK
