# SPDX-License-Identifier: MIT
# common.py: paths, exit statuses and messages shared by the whole runner.
"""Constants and helpers with no dependencies inside the package.

UsageError carries a bad-input message; die_usage() prints it and exits
with EXIT_BAD_ARGS. read_text() never raises (a missing file reads empty).
run-qemu.sh's exit statuses and their meanings are tools/pvspin/status.py's.
"""
import sys
from pathlib import Path

from pvspin import status

PROG = "matrix.py"
REPO = Path(__file__).resolve().parents[3]
DEFAULT_RUN_QEMU = REPO / "run-qemu.sh"
BENCH_DIR = REPO / "build" / "bench"
LATEST_LINK = BENCH_DIR / "latest"

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


def relative(path, base):
    try:
        return str(Path(path).relative_to(base))
    except ValueError:
        return str(path)
