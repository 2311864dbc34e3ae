# SPDX-License-Identifier: MIT
# hostinfo.py: the machine a benchmark ran on, in the one line its report states.
"""The host a measurement ran on, for the benchmarks' reports.

    describe() -> 'Intel(R) Xeon(R) ..., 2 host CPUs, Linux 6.18.44, QEMU emulator version 7.2.22 (...)'
    cpu_model() -> /proc/cpuinfo's first "model name", or 'unknown'
    qemu_version(binary) -> its --version line ('QEMU emulator version ...'), or 'unknown'
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
UNKNOWN = "unknown"


def first_line(argv):
    """The first line ARGV prints on stdout, stripped; UNKNOWN when it
    cannot run or prints nothing. Its stdin is /dev/null."""
    try:
        out = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             check=False).stdout
    except OSError:
        return UNKNOWN
    return out.splitlines()[0].strip() if out.strip() else UNKNOWN


def cpu_model():
    """The host CPU's model name (the first CPU's), or UNKNOWN."""
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return UNKNOWN


def qemu_version(binary=QEMU):
    """BINARY's --version line ('QEMU emulator version 7.2.22 (...)'), or UNKNOWN."""
    return first_line([binary, "--version"])


def describe():
    """The machine in one line: CPU model, host CPUs, kernel, QEMU."""
    return f"{cpu_model()}, {os.cpu_count()} host CPUs, Linux {platform.release()}, {qemu_version()}"
