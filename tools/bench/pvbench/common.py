# SPDX-License-Identifier: MIT
# common.py: paths, exit statuses and messages shared by the whole runner.
"""Constants and helpers with no dependencies inside the package.

UsageError carries a bad-input message; die_usage() prints it and exits
with EXIT_BAD_ARGS. read_text() never raises (a missing file reads empty).
"""
import sys
from pathlib import Path

PROG = "matrix.py"
REPO = Path(__file__).resolve().parents[3]
DEFAULT_RUN_QEMU = REPO / "run-qemu.sh"
BENCH_DIR = REPO / "build" / "bench"
LATEST_LINK = BENCH_DIR / "latest"

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_ARGS = 0, 1, 2

# run-qemu.sh exit statuses (README "Exit statuses").
ST_PASS, ST_BAD_INPUT, ST_TIMEOUT, ST_NO_QEMU = 0, 2, 124, 125
STATUS_MEANING = {
    0: "pass", 1: "test failure", 2: "bad input", 3: "guest crash",
    4: "lockup", 124: "timeout", 125: "QEMU could not run",
}

GNUPLOT_INSTALL = "apt-get install -y gnuplot-nox"


class UsageError(Exception):
    """A bad command line: exit status 2 with this message."""


def die_usage(message):
    print(f"{PROG}: {message} (see --help)", file=sys.stderr)
    sys.exit(EXIT_BAD_ARGS)


def warn(message):
    print(f"{PROG}: {message}", file=sys.stderr)


def meaning(status):
    """What a run-qemu.sh exit status means."""
    return STATUS_MEANING.get(status, "unknown")


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
