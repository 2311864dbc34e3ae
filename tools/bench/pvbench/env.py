# SPDX-License-Identifier: MIT
# env.py: the host and guest a run is made on, described for the results.
"""The environment of a run.

gather_env(opts) returns a dict of JSON values (QEMU version, host CPU model,
CPUs online, kernel, guest revision, host time slice and its source); it is
stored in matrix.json and shown in summary.md. gnuplot_png_terminal() says
which PNG terminal gnuplot has, or None without gnuplot.
"""
import os
import platform
import shutil
import subprocess
from pathlib import Path

from .common import REPO

def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    except OSError:
        return "unknown"
    return out.splitlines()[0].strip() if out.strip() else "unknown"


def host_cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def guest_revision():
    """Commit of the guest sources, and whether they had local changes."""
    head = first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                            "kernel", "lock", "hypercall", "boot", "lib", "suites",
                            "linker.ld"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return head + (" with uncommitted changes to the guest sources" if dirty else "")


def gather_env(opts):
    return {
        "qemu_version": first_line(["qemu-system-x86_64", "--version"]),
        "host_cpu_model": host_cpu_model(),
        "host_cpus_online": os.cpu_count(),
        "host_kernel": platform.release(),
        "guest_revision": guest_revision(),
        "slice_ns": opts.slice_ns,
        "slice_source": opts.slice_source,
    }


def gnuplot_png_terminal():
    """'pngcairo' or 'png', or None without gnuplot."""
    if not shutil.which("gnuplot"):
        return None
    probe = subprocess.run(["gnuplot", "-e", "set terminal pngcairo"],
                           capture_output=True, check=False)
    return "pngcairo" if probe.returncode == 0 else "png"
