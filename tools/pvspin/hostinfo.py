# SPDX-License-Identifier: MIT
# hostinfo.py: the machine a benchmark ran on, in the one line its report states.
"""The host a measurement ran on, for the benchmarks' reports.

    describe() -> 'Intel(R) Xeon(R) ..., 2 host CPUs, Linux 6.18.44, QEMU emulator version 7.2.22 (...)'
    cpu_model() -> /proc/cpuinfo's first "model name", or 'unknown'
    first_line(argv) -> the first line a command prints on stdout, or 'unknown'

Only the standard library; nothing here fails: what cannot be read is
'unknown'.
"""
import os
import platform
import subprocess
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
QEMU = "qemu-system-x86_64"


def first_line(argv):
    """The first line ARGV prints on stdout, stripped; 'unknown' when it
    cannot run or prints nothing."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    except OSError:
        return "unknown"
    return out.splitlines()[0].strip() if out.strip() else "unknown"


def cpu_model():
    """The host CPU's model name (the first CPU's), or 'unknown'."""
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def qemu_version():
    return first_line([QEMU, "--version"])


def describe():
    """The machine in one line: CPU model, host CPUs, kernel, QEMU."""
    return f"{cpu_model()}, {os.cpu_count()} host CPUs, Linux {platform.release()}, {qemu_version()}"
