# SPDX-License-Identifier: MIT
# deps.py: the host tools pvspin needs, per purpose, read from tools/deps.txt.
"""tools/deps.txt is the one list of host tools (tools/deps.sh installs from
it). need(purpose) -> [(tool, package)]; missing(purposes) -> the tools not
found and the Debian packages that bring them; install_line(packages) -> the
exact apt-get line to print."""
import shutil
from pathlib import Path

DEPS_FILE = Path(__file__).resolve().parents[1] / "deps.txt"


def table():
    """{purpose: [(tool, package), ...]} in the file's order."""
    out = {}
    for line in DEPS_FILE.read_text().splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        purpose, tool, package = fields
        out.setdefault(purpose, []).append((tool, package))
    return out


def need(purpose):
    t = table()
    if purpose not in t:
        raise KeyError(f"unknown purpose {purpose!r} (accepted: {' '.join(sorted(t))})")
    return t[purpose]


def present(tool):
    return Path(tool).exists() if tool.startswith("/") else shutil.which(tool) is not None


def missing(*purposes):
    """(tools missing, their packages), each in order, without repeats."""
    tools, packages = [], []
    for purpose in purposes:
        for tool, package in need(purpose):
            if not present(tool) and tool not in tools:
                tools.append(tool)
                if package not in packages:
                    packages.append(package)
    return tools, packages


def install_line(packages):
    return "apt-get install -y --no-install-recommends " + " ".join(packages)
