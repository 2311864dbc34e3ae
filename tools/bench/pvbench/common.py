# SPDX-License-Identifier: MIT
# common.py: paths, exit statuses and messages shared by the whole runner.
"""Constants and helpers with no dependencies inside the package.

UsageError carries a bad-input message; die_usage() prints it and exits
with EXIT_BAD_ARGS. read_text() never raises (a missing file reads empty).
update_latest_link(out, name) points the link NAME beside a run directory
at it (in BENCH_DIR: the matrix's "latest", bench-wake's "wake-latest").
run-qemu.sh's exit statuses and their meanings are tools/pvspin/status.py's.
"""
import os
import sys
from pathlib import Path

from pvspin import status

PROG = "matrix.py"
REPO = Path(__file__).resolve().parents[3]
DEFAULT_RUN_QEMU = REPO / "run-qemu.sh"
BENCH_DIR = REPO / "build" / "bench"
LATEST_NAME = "latest"          # the matrix's link to its newest run, in BENCH_DIR

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_ARGS = status.PASS, status.TEST_FAILURE, status.BAD_INPUT

GNUPLOT_INSTALL = "apt-get install -y gnuplot-nox"


class UsageError(Exception):
    """A bad command line: exit status 2 with this message."""


def die_usage(message):
    print(f"{PROG}: {message} (see --help)", file=sys.stderr)
    sys.exit(EXIT_BAD_ARGS)


def warn(message):
    print(f"{PROG}: {message}", file=sys.stderr)


def meaning(code):
    """What a run-qemu.sh exit status means."""
    return status.MEANING.get(code, "unknown")


def read_text(path):
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def update_latest_link(out, name):
    """Make the link NAME beside the run directory OUT point to it (by
    OUT's name), replacing an older link at once (a new link renamed over it)."""
    link = Path(out).parent / name
    tmp = link.with_name(f".{name}.{os.getpid()}")
    tmp.symlink_to(Path(out).name)
    os.replace(tmp, link)


def relative(path, base):
    try:
        return str(Path(path).relative_to(base))
    except ValueError:
        return str(path)
