# SPDX-License-Identifier: MIT
# env.py: the host and guest a run is made on, described for the results.
"""The environment of a run.

gather_env(opts, support) returns a dict of JSON values (QEMU version, host
CPU model, CPUs online, SMT, kernel, scheduler class, time slice, cgroup
version used, vCPU pinning, guest revision); it is stored in matrix.json,
copied into every result (host_env()) and shown at the top of summary.md. gnuplot_png_terminal() says
which PNG terminal gnuplot has, or None without gnuplot.
"""
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

from pvspin.hostinfo import cpu_model as host_cpu_model, first_line, qemu_version

from .common import REPO

CPUS_ONLINE = Path("/sys/devices/system/cpu/online")
SMT_ACTIVE = Path("/sys/devices/system/cpu/smt/active")
EEVDF_SINCE = (6, 6)            # Linux 6.6 replaced CFS's pick with EEVDF
# The keys of the host's description in every result's "env".
HOST_ENV_KEYS = ("host_cpu_model", "host_cpus_online", "host_cpus_online_list", "host_smt",
                 "host_kernel", "host_scheduler", "host_slice", "host_cgroup", "qemu_version",
                 "vcpu_pinning")


def guest_revision():
    """Commit of the guest sources, and whether they had local changes."""
    head = first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                            "kernel", "lock", "hypercall", "boot", "lib", "suites",
                            "linker.ld"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return head + (" with uncommitted changes to the guest sources" if dirty else "")


def read_first(path, default="unknown"):
    try:
        return Path(path).read_text().strip() or default
    except OSError:
        return default


def smt_state():
    value = read_first(SMT_ACTIVE)
    return {"1": "on", "0": "off"}.get(value, f"unknown ({SMT_ACTIVE}: {value})")


def scheduler_class(release):
    """EEVDF or CFS, decided from the kernel version (and saying so)."""
    m = re.match(r"^(\d+)\.(\d+)", release)
    if not m:
        return f"unknown (kernel version '{release}' not understood)"
    version = (int(m.group(1)), int(m.group(2)))
    if version >= EEVDF_SINCE:
        return "EEVDF (from the kernel version: Linux 6.6 and later)"
    return "CFS (from the kernel version: before Linux 6.6)"


def slice_text(opts):
    if opts.slice_source.startswith("/"):
        return f"{opts.slice_ns} ns ({opts.slice_source})"
    if opts.slice_source == "--slice-ms":
        return f"unknown from the host; {opts.slice_ns} ns given with --slice-ms"
    return "unknown (debugfs not readable)"


def pinning_text(opts):
    if opts.accel == "nested":
        return "L1's scheduler places L2's vCPU threads (not visible from the host)"
    modes = {c.interference.split("=")[0] for c in opts.configs if c.interference}
    if opts.pin_vcpus:
        return "every vCPU thread pinned to one CPU of its cpuset, round-robin (QMP thread ids)"
    if modes & {"quota", "stall"}:
        return ("--quota/--stall configs: each vCPU thread pinned to one CPU of the cpuset, "
                "round-robin (QMP thread ids); "
                "others: taskset to the cpuset, threads free within it")
    return "taskset to the cpuset, threads free within it"


def gather_env(opts, support=None):
    kernel = platform.release()
    return {
        "qemu_version": qemu_version(),
        "host_cpu_model": host_cpu_model(),
        "host_cpus_online": os.cpu_count(),
        "host_cpus_online_list": read_first(CPUS_ONLINE),
        "host_smt": smt_state(),
        "host_kernel": kernel,
        "host_scheduler": scheduler_class(kernel),
        "host_slice": slice_text(opts),
        "host_cgroup": (support or {}).get("cgroup", "not used"),
        "vcpu_pinning": pinning_text(opts),
        "guest_revision": guest_revision(),
        "slice_ns": opts.slice_ns,
        "slice_source": opts.slice_source,
    }


def host_env(env, accel):
    """The host's description for one result: ENV's host keys and the accelerator that ran."""
    return {**{k: env.get(k) for k in HOST_ENV_KEYS}, "accel": accel}


def gnuplot_png_terminal():
    """'pngcairo' or 'png', or None without gnuplot."""
    if not shutil.which("gnuplot"):
        return None
    probe = subprocess.run(["gnuplot", "-e", "set terminal pngcairo"],
                           capture_output=True, check=False)
    return "pngcairo" if probe.returncode == 0 else "png"
