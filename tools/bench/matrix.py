#!/usr/bin/env python3
"""Overcommit benchmark matrix for pvspin's test=bench (make bench).

Boots the guest at several vCPU counts on several host cpusets, optionally
several VMs at once on the same cpuset, repeats every configuration, and
writes per-lock results (JSON lines and CSV), a Markdown summary that checks
the overcommit goals, and gnuplot plots. docs/bench.md describes it all.
"""
import argparse
import csv
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PROG = "matrix.py"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_RUN_QEMU = REPO / "run-qemu.sh"
BENCH_DIR = REPO / "build" / "bench"
LATEST_LINK = BENCH_DIR / "latest"

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_ARGS = 0, 1, 2

LOCKS = ("tas", "ttas", "ticket", "mcs", "qspinlock", "pvqspinlock")
ACCELS = ("tcg", "nested", "kvm", "auto")
PV_MODES = ("auto", "kvm", "ipi", "off")
TCG_MAX_VCPUS = 255             # QEMU 7.2's TCG has no x2APIC
MAX_VCPUS = 288                 # QEMU 7.2's q35 limit
DEFAULT_L1_CPUS = 2             # run-qemu.sh --accel nested without --l1-smp
MAX_VMS = 64
MAX_REPS = 1000
MAX_TIMEOUT_S = 1000000
DURATION_MS_MAX = 3600000       # the guest's limits (kernel/options.c)
HOLD_NS_MAX = 1000000000

DEFAULT_REPS = 3
DEFAULT_DURATION_MS = 1000
DEFAULT_WARMUP_MS = 200
DEFAULT_HOLD_NS = 200
DEFAULT_THINK_NS = 500
# Guest options the runner sets itself: --guest may not override them.
RUNNER_GUEST_KEYS = ("test", "lock", "duration_ms", "warmup_ms", "hold_ns", "think_ns", "pv", "seed")

# Default per-run timeout: boot allowance plus this many times the guest's
# own measuring time (every lock's warm-up and duration).
TIMEOUT_BOOT_S = 60
TIMEOUT_SLOWDOWN = 3
WAIT_GRACE_S = 30               # after run-qemu.sh's own timeout, kill it
STOP_GRACE_S = 5
QMP_CONNECT_TIMEOUT_S = 60      # run-qemu.sh checks tools and builds first
QMP_REPLY_TIMEOUT_S = 10
QMP_POLL_S = 0.05

SLICE_SOURCES = (
    "/sys/kernel/debug/sched/base_slice_ns",        # EEVDF (Linux 6.6+)
    "/sys/kernel/debug/sched/min_granularity_ns",   # CFS, debugfs (5.13+)
    "/proc/sys/kernel/sched_min_granularity_ns",    # CFS, older kernels
)
DEFAULT_SLICE_MS = 3.0
NS_PER_MS = 1000000

# run-qemu.sh exit statuses (README "Exit statuses").
ST_PASS, ST_BAD_INPUT, ST_TIMEOUT, ST_NO_QEMU = 0, 2, 124, 125
STATUS_MEANING = {
    0: "pass", 1: "test failure", 2: "bad input", 3: "guest crash",
    4: "lockup", 124: "timeout", 125: "QEMU could not run",
}

# The goals (summary.md "Goals").
GOAL_OVERCOMMIT = 4.0
GOAL_KEEP_FRACTION = 0.5
GOAL_SPEEDUP = 5.0
PV_LOCK, NATIVE_LOCK, TICKET_LOCK = "pvqspinlock", "qspinlock", "ticket"
ANCHORS = (
    "Linux PV qspinlock: kernel builds slowed 1.52-1.62x at 1.5x overcommit "
    "(commit cd0272fab785).",
    "Linux PV qspinlock: ebizzy throughput fell 2.9x at 2x and 7.6x at 3x VM "
    "overcommit before the queue-head boost (commit 266e85a5ec91).",
    "Preemptable ticket locks: 5.3-7.9x over plain ticket locks under "
    "overcommit (Ouyang and Lange, VEE 2013).",
)

GNUPLOT_INSTALL = "apt-get install -y gnuplot-nox"
LATENCY_PANEL_COLUMNS = 3
LATENCY_PANEL_HEIGHT = 440      # pixels per row of lock panels
LATENCY_Y_MARGIN = 3            # y range: below the least value, above the greatest (cubed: room for the key)

RESULT_PREFIX = "# result: "
L1_PREFIX = "# l1: "
KTAP_BENCH_RE = re.compile(r"^(not ok|ok) \d+ bench:(\S+)(?: # (.*))?$")
KTAP_NOT_OK_RE = re.compile(r"^not ok \d+ (.*)$")
EXIT_LINE_RE = re.compile(r"^EXIT: STATUS=(\d+)", re.M)
ACCEL_LINE_RE = re.compile(r"^run-qemu\.sh: accel=(\w+) ")
NESTED_STATUS_RE = re.compile(r"^run-qemu\.sh: nested run (\d+) of \d+: status (\d+)")
CPUSET_RE = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")
CONFIG_RE = re.compile(r"^(\d+)@([0-9,-]+?)(?:x(\d+))?$")
GUEST_OPT_RE = re.compile(r"^([a-z_0-9]+)=(\S+)$")

CSV_FIELDS = (
    "config", "lock", "status", "reason", "rep", "vm", "vms", "vcpus",
    "host_cpus", "host_cpu_count", "overcommit", "accel", "pin_vcpus",
    "pv", "pv_backend", "seed", "duration_ns", "warmup_ns", "hold_ns", "think_ns",
    "acquisitions", "throughput_per_s", "fairness",
    "latency_p50_ns", "latency_p99_ns", "latency_p999_ns", "latency_max_ns",
    "overruns", "halts", "kicks_sent", "kicks_received", "sched_yields",
    "wake_p99_ns", "steal_ns", "run_status", "qemu_version", "host_cpu_model",
    "l1_kernel", "l1_cpus", "l1_cpu_model", "log",
)
RUN_CSV_FIELDS = (
    "config", "rep", "vm", "vms", "vcpus", "host_cpus", "overcommit", "accel",
    "status", "meaning", "seconds", "reason", "log", "err",
)


class UsageError(Exception):
    """A bad command line: exit status 2 with this message."""


def die_usage(message):
    print(f"{PROG}: {message} (see --help)", file=sys.stderr)
    sys.exit(EXIT_BAD_ARGS)


def warn(message):
    print(f"{PROG}: {message}", file=sys.stderr)


# ---- configurations ---------------------------------------------------------

def parse_cpuset(text):
    """'0-1,4' -> (0, 1, 4)."""
    if not CPUSET_RE.match(text):
        raise UsageError(f"'{text}' is not a CPU list; accepted: CPU numbers "
                         "and ranges such as 0, 0-1, 0,2-3")
    cpus = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        low, high = int(low), int(high or low)
        if high < low:
            raise UsageError(f"'{text}': the range {part} runs backwards")
        cpus.update(range(low, high + 1))
    return tuple(sorted(cpus))


def format_cpuset(cpus):
    """(0, 1, 4) -> '0-1,4'."""
    parts, start = [], None
    for i, cpu in enumerate(cpus):
        if start is None:
            start = cpu
        if i + 1 == len(cpus) or cpus[i + 1] != cpu + 1:
            parts.append(str(start) if start == cpu else f"{start}-{cpu}")
            start = None
    return ",".join(parts)


@dataclass(frozen=True)
class Config:
    """VCPUS vCPUs per VM, VMS VMs at once, all on the host CPUs CPUS."""
    vcpus: int
    cpus: tuple
    vms: int = 1

    @property
    def cpuset(self):
        return format_cpuset(self.cpus)

    @property
    def label(self):
        return f"{self.vcpus}@{self.cpuset}" + (f"x{self.vms}" if self.vms > 1 else "")

    @property
    def slug(self):
        return self.label.replace(",", "+")

    @property
    def overcommit(self):
        return self.vcpus * self.vms / len(self.cpus)


def fmt_ratio(ratio):
    return f"{ratio:.3g}x"


def int_in(text, low, high, what):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise UsageError(f"{what} '{text}': accepted: an integer {low}..{high}")
    return value


def parse_list(text, what):
    items = [i for i in re.split(r"[,\s]+", text) if i]
    if not items:
        raise UsageError(f"{what}: an empty list")
    return items


def parse_int_list(text, low, high, what):
    return [int_in(i, low, high, what) for i in parse_list(text, what)]


def parse_locks(text):
    locks = []
    for name in parse_list(text, "--locks"):
        if name == "all":
            locks.extend(LOCKS)
        elif name in LOCKS:
            locks.append(name)
        else:
            raise UsageError(f"--locks: unknown lock '{name}'; accepted: "
                             f"{', '.join(LOCKS)}, all")
    return list(dict.fromkeys(locks))


def parse_host_cpus(text):
    sets = [s for s in re.split(r"[/;\s]+", text) if s]
    if not sets:
        raise UsageError("--host-cpus: an empty list")
    try:
        return [parse_cpuset(s) for s in sets]
    except UsageError as e:
        raise UsageError(f"--host-cpus: {e} (cpusets are separated by / or ;)") from None


def parse_configs(text):
    """'2@0-1,8@0-1,4@0,2x2' -> [Config]. A comma only separates items when
    the next item starts with VCPUS@, so cpusets may hold commas."""
    configs = []
    for item in (i.strip() for i in re.split(r",(?=\s*\d+@)|;", text)):
        m = CONFIG_RE.match(item)
        if not m:
            raise UsageError(f"--configs: bad item '{item}'; accepted: VCPUS@CPUSET "
                             "or VCPUS@CPUSETxVMS, e.g. 2@0-1,8@0-1,4@0x2")
        vcpus = int_in(m.group(1), 1, MAX_VCPUS, f"--configs '{item}': vCPUs")
        try:
            cpus = parse_cpuset(m.group(2))
        except UsageError as e:
            raise UsageError(f"--configs '{item}': {e}") from None
        vms = int_in(m.group(3) or "1", 1, MAX_VMS, f"--configs '{item}': VMs")
        configs.append(Config(vcpus, cpus, vms))
    return configs


def cross_product(vcpus, cpusets, vms_list):
    """Every vCPU count x cpuset x VM count; without --vcpus, 1x, 2x and 4x
    overcommit of each cpuset."""
    configs = []
    for cpus in cpusets:
        counts = vcpus or [len(cpus) * k for k in (1, 2, 4)]
        for n in counts:
            for vms in vms_list:
                configs.append(Config(n, cpus, vms))
    return configs


# ---- command line -----------------------------------------------------------

HELP_EPILOG = f"""\
configurations:
  A configuration is VCPUS vCPUs per VM, VMS VMs booted at once, all pinned
  (taskset) to one host cpuset. Overcommit ratio = VCPUS x VMS / CPUs in the
  cpuset. --configs lists them (2@0-1 = 2 vCPUs on CPUs 0-1, 4@0x2 = two
  4-vCPU VMs on CPU 0); otherwise the cross product of --vcpus, --host-cpus
  and --vms (default: every available host CPU as one cpuset, 1x, 2x and 4x
  its size in vCPUs, one VM). Repetitions are interleaved: every config once,
  then every config again.

outputs (in --out DIR):
  results.jsonl, results.csv  one record per lock per VM run (status ok,
                              not ok or missing), with its environment
  runs.csv                    one row per VM run: exit status, time, logs
  summary.md                  tables per lock, pvqspinlock side by side with
                              qspinlock and ticket, the goals with PASS/MISS
  throughput.*, latency.*     plots (.png, .svg), their .dat and .gp files
  logs/CONFIG-repR-vmV.log    each VM's serial output (.err: its stderr)

  Without gnuplot the plots are skipped (the runner says so before it starts,
  and still writes the .dat and .gp files); install it with:
  {GNUPLOT_INSTALL}

exit status: 0 every run passed, 1 a run failed (all outputs still written),
2 bad arguments. docs/bench.md has the details.
"""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        die_usage(message)


def build_parser():
    p = Parser(prog="tools/bench/matrix.py", allow_abbrev=False,
               formatter_class=argparse.RawDescriptionHelpFormatter,
               description="Run pvspin's test=bench over a matrix of vCPU counts, host\n"
                           "cpusets and VM counts (overcommit), and summarize.",
               epilog=HELP_EPILOG)
    m = p.add_argument_group("matrix")
    m.add_argument("--locks", default="all", metavar="LIST",
                   help=f"locks, comma-separated: {', '.join(LOCKS)}, all (default all)")
    m.add_argument("--configs", metavar="LIST",
                   help="VCPUS@CPUSET[xVMS] items, e.g. 2@0-1,4@0-1,8@0-1,4@0 "
                        "(replaces --vcpus, --host-cpus, --vms)")
    m.add_argument("--vcpus", metavar="LIST", help="vCPUs per VM, e.g. 2,4,8")
    m.add_argument("--host-cpus", metavar="LIST",
                   help="host cpusets separated by / or ;, e.g. 0-1/0 "
                        "(under --accel nested: L1 CPUs)")
    m.add_argument("--vms", metavar="LIST", help="VMs sharing the cpuset at once, e.g. 1,2 (default 1)")
    m.add_argument("--reps", default=str(DEFAULT_REPS), metavar="N",
                   help=f"repetitions of every configuration (default {DEFAULT_REPS})")
    g = p.add_argument_group("guest")
    g.add_argument("--duration-ms", default=str(DEFAULT_DURATION_MS), metavar="MS",
                   help=f"measured time per lock (default {DEFAULT_DURATION_MS})")
    g.add_argument("--warmup-ms", default=str(DEFAULT_WARMUP_MS), metavar="MS",
                   help=f"unmeasured time before it (default {DEFAULT_WARMUP_MS})")
    g.add_argument("--hold-ns", default=str(DEFAULT_HOLD_NS), metavar="NS",
                   help=f"mean critical section (default {DEFAULT_HOLD_NS})")
    g.add_argument("--think-ns", default=str(DEFAULT_THINK_NS), metavar="NS",
                   help=f"mean time between release and acquire (default {DEFAULT_THINK_NS})")
    g.add_argument("--pv", default="auto", metavar="MODE",
                   help=f"pvqspinlock backend: {', '.join(PV_MODES)} (default auto)")
    g.add_argument("--guest", action="append", default=[], metavar="KEY=VALUE",
                   help="another guest option, repeatable (e.g. --guest pv_spin_threshold=64)")
    h = p.add_argument_group("host")
    h.add_argument("--accel", default="tcg", metavar="A",
                   help=f"{'|'.join(ACCELS)} (default tcg); nested runs every run in one "
                        "L1 boot, one after another")
    h.add_argument("--l1-smp", metavar="N",
                   help=f"L1 vCPUs under --accel nested (default {DEFAULT_L1_CPUS})")
    h.add_argument("--pin-vcpus", action="store_true",
                   help="pin each vCPU thread to one CPU of the cpuset, round-robin "
                        "(through QMP; not under nested)")
    h.add_argument("--timeout", metavar="SEC",
                   help=f"per run (default {TIMEOUT_BOOT_S} s + {TIMEOUT_SLOWDOWN}x the "
                        "guest's warm-up and duration over all locks)")
    h.add_argument("--slice-ms", metavar="MS",
                   help="host scheduler time slice for the p99 goal (default: read "
                        f"from {SLICE_SOURCES[0]} or min_granularity_ns, else "
                        f"{DEFAULT_SLICE_MS:g} ms)")
    h.add_argument("--run-qemu", default=str(DEFAULT_RUN_QEMU), metavar="PATH",
                   help="the runner to call (default: run-qemu.sh of this repository)")
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="DIR",
                   help="output directory, new or empty (default build/bench/run-YYYYmmdd-HHMMSS, "
                        "and build/bench/latest points to it)")
    o.add_argument("--no-plot", action="store_true", help="no gnuplot plots")
    o.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    return p


@dataclass
class Options:
    locks: list
    configs: list
    reps: int
    duration_ms: int
    warmup_ms: int
    hold_ns: int
    think_ns: int
    pv: str
    guest: list
    accel: str
    l1_smp: int
    pin_vcpus: bool
    timeout: int
    slice_ns: int
    slice_source: str
    run_qemu: Path
    out: Path
    default_out: bool
    plot: bool
    quiet: bool


def available_cpus(accel, l1_smp):
    if accel == "nested":
        return set(range(l1_smp))
    return os.sched_getaffinity(0)


def check_configs(configs, accel, l1_smp):
    cpus_here = available_cpus(accel, l1_smp)
    where = f"L1 (--l1-smp {l1_smp})" if accel == "nested" else "this host"
    for c in configs:
        missing = [cpu for cpu in c.cpus if cpu not in cpus_here]
        if missing:
            raise UsageError(f"cpuset {c.cpuset} (config {c.label}): CPU {missing[0]} is not "
                             f"available on {where}; "
                             f"accepted: CPUs {format_cpuset(tuple(sorted(cpus_here)))}")
        if accel == "tcg" and c.vcpus > TCG_MAX_VCPUS:
            raise UsageError(f"config {c.label}: {c.vcpus} vCPUs; TCG takes at most "
                             f"{TCG_MAX_VCPUS} (QEMU 7.2's TCG has no x2APIC)")
        if accel == "nested" and c.vms > 1:
            raise UsageError(f"config {c.label}: --vms above 1 needs concurrent VMs, but "
                             "--accel nested runs its batch one run after another")


def parse_guest_opts(items):
    for item in items:
        m = GUEST_OPT_RE.match(item)
        if not m:
            raise UsageError(f"--guest '{item}': accepted: KEY=VALUE (a guest option)")
        if m.group(1) in RUNNER_GUEST_KEYS:
            raise UsageError(f"--guest '{item}': the runner sets {m.group(1)}= itself (seed= "
                             "is the repetition number; the others have their own options)")
    return items


def default_timeout(n_locks, duration_ms, warmup_ms):
    guest_s = n_locks * (duration_ms + warmup_ms) / 1000
    return int(TIMEOUT_BOOT_S + TIMEOUT_SLOWDOWN * guest_s + 0.999)


def host_slice(accel):
    """(slice_ns, where it came from)."""
    if accel == "nested":
        return int(DEFAULT_SLICE_MS * NS_PER_MS), "default: L1's scheduler is not readable from the host"
    for path in SLICE_SOURCES:
        try:
            return int(Path(path).read_text().strip()), path
        except (OSError, ValueError):
            continue
    return int(DEFAULT_SLICE_MS * NS_PER_MS), f"default: {', '.join(SLICE_SOURCES)} not readable"


def parse_slice_ms(text):
    try:
        ms = float(text)
    except ValueError:
        ms = 0.0
    if not ms > 0:
        raise UsageError(f"--slice-ms '{text}': accepted: milliseconds above 0, e.g. 3 or 0.75")
    return int(ms * NS_PER_MS)


def resolve_out(text):
    """(directory, whether it is the default one)."""
    default = text is None
    if default:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        text = str(BENCH_DIR / f"run-{stamp}")
    out = Path(text).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out '{text}': exists and is not an empty directory; "
                         "accepted: a new or empty directory")
    return out, default


def resolve_matrix(a, l1_smp):
    if a.configs is not None:
        if a.vcpus or a.host_cpus or a.vms:
            raise UsageError("--configs replaces --vcpus, --host-cpus and --vms; give one or the other")
        configs = parse_configs(a.configs)
    else:
        vcpus = parse_int_list(a.vcpus, 1, MAX_VCPUS, "--vcpus") if a.vcpus else None
        vms = parse_int_list(a.vms, 1, MAX_VMS, "--vms") if a.vms else [1]
        if a.host_cpus:
            cpusets = parse_host_cpus(a.host_cpus)
        else:
            cpusets = [tuple(sorted(available_cpus(a.accel, l1_smp)))]
        configs = cross_product(vcpus, cpusets, vms)
    return list(dict.fromkeys(configs))


def parse_args(argv):
    a, extra = build_parser().parse_known_args(argv)
    try:
        if extra:
            what = "unknown option" if extra[0].startswith("-") else "unexpected argument"
            raise UsageError(f"{what} '{extra[0]}'")
        if a.accel not in ACCELS:
            raise UsageError(f"--accel '{a.accel}': accepted: {', '.join(ACCELS)}")
        if a.pv not in PV_MODES:
            raise UsageError(f"--pv '{a.pv}': accepted: {', '.join(PV_MODES)}")
        if a.l1_smp is not None and a.accel != "nested":
            raise UsageError("--l1-smp goes with --accel nested")
        if a.pin_vcpus and a.accel == "nested":
            raise UsageError("--pin-vcpus: under --accel nested the vCPU threads belong to "
                             "L1's QEMU, out of reach; use it with tcg, kvm or auto")
        l1_smp = int_in(a.l1_smp, 1, MAX_VCPUS, "--l1-smp") if a.l1_smp else DEFAULT_L1_CPUS
        configs = resolve_matrix(a, l1_smp)
        check_configs(configs, a.accel, l1_smp)
        locks = parse_locks(a.locks)
        duration = int_in(a.duration_ms, 1, DURATION_MS_MAX, "--duration-ms")
        warmup = int_in(a.warmup_ms, 0, DURATION_MS_MAX, "--warmup-ms")
        run_qemu = Path(a.run_qemu)
        if not (run_qemu.is_file() and os.access(run_qemu, os.X_OK)):
            raise UsageError(f"--run-qemu '{a.run_qemu}': not an executable file")
        timeout = (int_in(a.timeout, 1, MAX_TIMEOUT_S, "--timeout") if a.timeout
                   else default_timeout(len(locks), duration, warmup))
        slice_ns, slice_source = ((parse_slice_ms(a.slice_ms), "--slice-ms") if a.slice_ms
                                  else host_slice(a.accel))
        out, default_out = resolve_out(a.out)
        return Options(
            locks=locks, configs=configs,
            reps=int_in(a.reps, 1, MAX_REPS, "--reps"),
            duration_ms=duration, warmup_ms=warmup,
            hold_ns=int_in(a.hold_ns, 0, HOLD_NS_MAX, "--hold-ns"),
            think_ns=int_in(a.think_ns, 0, HOLD_NS_MAX, "--think-ns"),
            pv=a.pv, guest=parse_guest_opts(a.guest), accel=a.accel, l1_smp=l1_smp,
            pin_vcpus=a.pin_vcpus, timeout=timeout,
            slice_ns=slice_ns, slice_source=slice_source, run_qemu=run_qemu.resolve(),
            out=out, default_out=default_out, plot=not a.no_plot, quiet=a.quiet)
    except UsageError as e:
        die_usage(str(e))


# ---- environment ------------------------------------------------------------

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
                            "kernel", "lock", "hypercall", "boot", "linker.ld"],
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


# ---- runs -------------------------------------------------------------------

@dataclass
class Run:
    """One VM boot: a config, a repetition, a VM index (1-based)."""
    config: Config
    rep: int
    vm: int
    log: Path
    err: Path
    status: int = None          # None: not started
    seconds: float = 0.0
    accel: str = ""

    @property
    def name(self):
        return self.log.stem


def plan_runs(opts, logs):
    """Repetitions interleaved: every config once, then every config again."""
    runs = []
    for rep in range(1, opts.reps + 1):
        for config in opts.configs:
            for vm in range(1, config.vms + 1):
                name = f"{config.slug}-rep{rep}-vm{vm}"
                runs.append(Run(config, rep, vm, logs / f"{name}.log", logs / f"{name}.err"))
    return runs


def guest_cmdline(opts, rep):
    return ["test=bench", f"lock={','.join(opts.locks)}",
            f"duration_ms={opts.duration_ms}", f"warmup_ms={opts.warmup_ms}",
            f"hold_ns={opts.hold_ns}", f"think_ns={opts.think_ns}",
            f"pv={opts.pv}", f"seed={rep}", *opts.guest]


def run_qemu_options(opts, run):
    return ["--smp", str(run.config.vcpus), "--pin", run.config.cpuset,
            "--timeout", str(opts.timeout)]


class QmpError(Exception):
    pass


class Qmp:
    """A minimal QMP client over a unix socket."""

    def __init__(self, path, proc):
        deadline = time.monotonic() + QMP_CONNECT_TIMEOUT_S
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if proc.poll() is not None:
                    raise QmpError(f"run-qemu.sh exited (status {proc.returncode}) "
                                   "before QEMU's QMP socket appeared") from None
                if time.monotonic() > deadline:
                    raise QmpError(f"no QMP socket after {QMP_CONNECT_TIMEOUT_S} s") from None
                time.sleep(QMP_POLL_S)
        sock.settimeout(QMP_REPLY_TIMEOUT_S)
        self.sock = sock
        self.file = sock.makefile("rwb")
        if "QMP" not in self._read():
            raise QmpError("no QMP greeting")
        self.command("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise QmpError("QEMU closed the QMP connection")
        return json.loads(line)

    def command(self, name):
        self.file.write(json.dumps({"execute": name}).encode() + b"\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "error" in reply:
                raise QmpError(f"{name}: {reply['error'].get('desc', reply['error'])}")
            if "return" in reply:
                return reply["return"]

    def close(self):
        self.file.close()
        self.sock.close()


def pin_vcpu_threads(qmp, config, vm):
    """vCPU i of VM v runs on CPU ((v-1)*vcpus + i) mod n of the cpuset."""
    vcpus = sorted(qmp.command("query-cpus-fast"), key=lambda c: c["cpu-index"])
    offset = (vm - 1) * config.vcpus
    for cpu in vcpus:
        host_cpu = config.cpus[(offset + cpu["cpu-index"]) % len(config.cpus)]
        os.sched_setaffinity(cpu["thread-id"], {host_cpu})


def launch(argv, run):
    with open(run.log, "wb") as out, open(run.err, "wb") as err:
        return subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=REPO, start_new_session=True)


def stop(proc):
    """End run-qemu.sh and its QEMU (they have their own process group)."""
    if proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(STOP_GRACE_S)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def note(run, message):
    """Add the runner's own message to a run's stderr log."""
    with open(run.err, "a") as f:
        f.write(f"{PROG}: {message}\n")


def start_pinned(runs, procs, sockets):
    """Pin every VM's vCPU threads, then start them all together."""
    clients = []
    try:
        for run, proc, sock in zip(runs, procs, sockets):
            qmp = Qmp(sock, proc)
            clients.append(qmp)
            pin_vcpu_threads(qmp, run.config, run.vm)
        for qmp in clients:
            qmp.command("cont")
    finally:
        for qmp in clients:
            qmp.close()


def wait_run(run, proc, timeout):
    try:
        return proc.wait(timeout + WAIT_GRACE_S)
    except subprocess.TimeoutExpired:
        stop(proc)
        note(run, f"run-qemu.sh did not end {WAIT_GRACE_S} s after its --timeout; killed")
        return ST_TIMEOUT


def vm_argv(opts, run, qmp_socket):
    """run-qemu.sh's command line for one VM; with a QMP socket, QEMU starts paused."""
    argv = [str(opts.run_qemu), *run_qemu_options(opts, run)]
    if qmp_socket:
        argv += ["--qemu", "-qmp", "--qemu", f"unix:{qmp_socket},server=on,wait=off", "--qemu", "-S"]
    return argv + ["--", *guest_cmdline(opts, run.rep)]


def pin_or_stop(runs, procs, sockets):
    try:
        start_pinned(runs, procs, sockets)
    except (QmpError, OSError, ValueError) as e:
        for run, proc in zip(runs, procs):
            stop(proc)
            note(run, f"vCPU pinning failed: {e}")


def run_group(opts, runs):
    """The VMs of one config and rep, at the same time."""
    procs = []
    with tempfile.TemporaryDirectory(prefix="pvspin-bench.") as qmp_dir:
        sockets = [os.path.join(qmp_dir, f"vm{r.vm}.qmp") if opts.pin_vcpus else None for r in runs]
        try:
            t0 = time.monotonic()
            for run, sock in zip(runs, sockets):
                procs.append(launch(vm_argv(opts, run, sock), run))
            if opts.pin_vcpus:
                pin_or_stop(runs, procs, sockets)
            for run, proc in zip(runs, procs):
                status = wait_run(run, proc, opts.timeout)
                run.status = ST_NO_QEMU if status < 0 else status     # < 0: killed by a signal
                run.seconds = time.monotonic() - t0
                run.accel = run_accel(run.err, opts.accel)
        finally:
            for proc in procs:
                stop(proc)


def run_accel(err_path, requested):
    """The accelerator run-qemu.sh chose (it says so on stderr)."""
    for line in read_text(err_path).splitlines():
        m = ACCEL_LINE_RE.match(line)
        if m:
            return m.group(1)
    return requested


class Progress:
    def __init__(self, total, quiet):
        self.total, self.done, self.quiet = total, 0, quiet
        self.t0 = time.monotonic()

    def step(self, what, seconds, outcome):
        self.done += 1
        if self.quiet:
            return
        left = (time.monotonic() - self.t0) / self.done * (self.total - self.done)
        print(f"[{self.done}/{self.total}] {what}: {outcome} in {seconds:.1f} s, "
              f"about {left:.0f} s left", file=sys.stderr, flush=True)


def outcome_text(runs):
    bad = [r for r in runs if r.status != ST_PASS]
    if not bad:
        return "done"
    return "FAILED " + ", ".join(
        f"vm{r.vm} status {r.status} ({STATUS_MEANING.get(r.status, 'unknown')})" for r in bad)


def run_direct(opts, runs):
    groups = {}
    for run in runs:
        groups.setdefault((run.rep, run.config), []).append(run)
    progress = Progress(len(groups), opts.quiet)
    for (rep, config), group in groups.items():
        run_group(opts, group)
        progress.step(f"{config.label} ({fmt_ratio(config.overcommit)}) rep {rep}",
                      max(r.seconds for r in group), outcome_text(group))
        bad_input = next((r for r in group if r.status == ST_BAD_INPUT), None)
        if bad_input:
            left = sum(1 for r in runs if r.status is None)
            warn(f"run {bad_input.name} was rejected as bad input: {failure_reason(bad_input)}; "
                 f"every run would fail the same way, {left} runs not started")
            return


def nested_batch_line(opts, run):
    return shlex.join([*run_qemu_options(opts, run), "--", *guest_cmdline(opts, run.rep)])


class RunSplitter:
    """Copies a nested batch's stdout into one log per run: each run starts
    with its '# l1:' line. Times a run from its first line to the next run's
    (the L1 channel delivers output in bursts: approximate)."""

    def __init__(self, runs, progress):
        self.runs, self.progress = runs, progress
        self.index, self.current, self.t0 = -1, None, time.monotonic()

    def feed(self, line):
        if line.startswith(L1_PREFIX.encode()):
            self.finish()
            self.index, self.t0 = self.index + 1, time.monotonic()
            if self.index < len(self.runs):
                self.current = open(self.runs[self.index].log, "wb")
        if self.current:
            self.current.write(line)

    def finish(self):
        if not self.current:
            return
        self.current.close()
        self.current = None
        run = self.runs[self.index]
        run.seconds = time.monotonic() - self.t0
        status = guest_verdict(run.log)
        outcome = ("done" if status == ST_PASS else "FAILED: no guest verdict" if status is None
                   else f"FAILED: guest status {status} ({STATUS_MEANING.get(status, 'unknown')})")
        self.progress.step(f"{run.config.label} ({fmt_ratio(run.config.overcommit)}) rep {run.rep}",
                           run.seconds, outcome)

    @property
    def started(self):
        return self.index + 1


def run_nested(opts, runs):
    """Every run in one L1 boot (one run-qemu.sh --batch call)."""
    batch = opts.out / "nested.batch"
    batch.write_text("".join(nested_batch_line(opts, r) + "\n" for r in runs))
    whole_log, whole_err = opts.out / "logs" / "nested-batch.log", opts.out / "logs" / "nested-batch.err"
    argv = [str(opts.run_qemu), "--accel", "nested", "--l1-smp", str(opts.l1_smp),
            "--batch", str(batch)]
    splitter = RunSplitter(runs, Progress(len(runs), opts.quiet))
    with open(whole_log, "wb") as whole, open(whole_err, "wb") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=REPO, start_new_session=True)
        try:
            for line in proc.stdout:
                whole.write(line)
                splitter.feed(line)
            splitter.finish()
            status = proc.wait()
        finally:
            stop(proc)
    assign_nested_statuses(runs, splitter.started, status, whole_err)


def guest_verdict(log):
    """n of the guest's last 'EXIT: STATUS=n' line, None without one."""
    found = EXIT_LINE_RE.findall(read_text(log))
    return int(found[-1]) if found else None


def assign_nested_statuses(runs, started, batch_status, err_path):
    """run-qemu.sh names each failed run on stderr once the bed has finished.
    When the bed itself failed (no such lines and a nonzero status), a run
    that got as far as the guest's verdict line has that verdict; the others
    get the batch status."""
    failed = {}
    for line in read_text(err_path).splitlines():
        m = NESTED_STATUS_RE.match(line)
        if m:
            failed[int(m.group(1))] = int(m.group(2))
    bed_finished = batch_status == ST_PASS or bool(failed)
    for i, run in enumerate(runs, start=1):
        run.err, run.accel = err_path, "nested"
        if i > started:
            run.log.write_bytes(b"")
            run.status = batch_status if batch_status != ST_PASS else ST_NO_QEMU
        elif bed_finished:
            run.status = failed.get(i, ST_PASS)
        else:
            guest = guest_verdict(run.log)
            run.status = batch_status if guest is None else guest


# ---- results ----------------------------------------------------------------

@dataclass
class LockOutcome:
    result: dict
    ok: bool
    reason: str


@dataclass
class LogInfo:
    outcomes: dict = field(default_factory=dict)     # lock -> LockOutcome
    l1: dict = None
    first_not_ok: str = ""


def read_text(path):
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def parse_log(path):
    info, pending = LogInfo(), {}
    for line in read_text(path).splitlines():
        if line.startswith(L1_PREFIX) and info.l1 is None:
            try:
                info.l1 = json.loads(line[len(L1_PREFIX):])
            except json.JSONDecodeError:
                info.l1 = {}
        elif line.startswith(RESULT_PREFIX + "{"):
            try:
                result = json.loads(line[len(RESULT_PREFIX):])
            except json.JSONDecodeError:
                continue            # cut short by a crash or a timeout
            if result.get("test") == "bench":
                pending[result.get("lock")] = result
        elif m := KTAP_BENCH_RE.match(line):
            result = pending.pop(m.group(2), None)
            reason = m.group(3) or ("" if result else "no result line before the verdict")
            info.outcomes[m.group(2)] = LockOutcome(result, m.group(1) == "ok" and result is not None,
                                                    reason)
        if not info.first_not_ok and (m := KTAP_NOT_OK_RE.match(line)):
            info.first_not_ok = m.group(1)
    for lock, result in pending.items():
        info.outcomes[lock] = LockOutcome(result, False, "no KTAP verdict after the result")
    return info


def failure_reason(run):
    """The guest's first 'not ok', else run-qemu.sh's or our last message."""
    reason = parse_log(run.log).first_not_ok
    if reason:
        return reason
    messages = [l for l in read_text(run.err).splitlines()
                if l.startswith(("run-qemu.sh:", f"{PROG}:", "nested-run.sh:"))
                and not ACCEL_LINE_RE.match(l)]
    return messages[-1] if messages else f"status {run.status}"


def relative(path, base):
    try:
        return str(Path(path).relative_to(base))
    except ValueError:
        return str(path)


def flat_result(result):
    """The flat fields of one guest result."""
    if result is None:
        return {}
    lat, pv = result.get("latency_ns", {}), result.get("pv", {})
    return {
        "pv_backend": result.get("pv_backend"),
        "duration_ns": result.get("duration_ns"), "warmup_ns": result.get("warmup_ns"),
        "hold_ns": result.get("hold_ns"), "think_ns": result.get("think_ns"),
        "acquisitions": result.get("acquisitions"),
        "throughput_per_s": result.get("throughput_per_s"),
        "fairness": result.get("fairness"),
        "latency_p50_ns": lat.get("p50"), "latency_p99_ns": lat.get("p99"),
        "latency_p999_ns": lat.get("p999"), "latency_max_ns": lat.get("max"),
        "overruns": result.get("overruns"),
        "halts": pv.get("halts"), "kicks_sent": pv.get("kicks_sent"),
        "kicks_received": pv.get("kicks_received"), "sched_yields": pv.get("sched_yields"),
        "wake_p99_ns": pv.get("wake_latency_ns", {}).get("p99"),
        "steal_ns": result.get("steal_ns"),
    }


def make_records(opts, env, runs):
    records = []
    for run in (r for r in runs if r.status is not None):
        info = parse_log(run.log)
        l1 = info.l1 or {}
        c = run.config
        for lock in opts.locks:
            outcome = info.outcomes.get(lock)
            if outcome is None:
                status, reason = "missing", f"run ended with status {run.status} before this lock's result"
            else:
                status, reason = ("ok" if outcome.ok else "not ok"), outcome.reason
            record = dict.fromkeys(CSV_FIELDS)
            record.update({
                "config": c.label, "lock": lock, "status": status, "reason": reason,
                "rep": run.rep, "vm": run.vm, "vms": c.vms, "vcpus": c.vcpus,
                "host_cpus": c.cpuset, "host_cpu_count": len(c.cpus),
                "overcommit": round(c.overcommit, 4), "accel": run.accel,
                "pin_vcpus": int(opts.pin_vcpus), "pv": opts.pv, "seed": run.rep,
                "run_status": run.status,
                "qemu_version": env["qemu_version"], "host_cpu_model": env["host_cpu_model"],
                "l1_kernel": l1.get("kernel"), "l1_cpus": l1.get("cpus"),
                "l1_cpu_model": l1.get("cpu_model_name"),
                "log": relative(run.log, opts.out),
            })
            record.update(flat_result(outcome and outcome.result))
            record["result"] = outcome and outcome.result
            records.append(record)
    return records


def write_results(opts, records, runs):
    with open(opts.out / "results.jsonl", "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    with open(opts.out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(records)
    with open(opts.out / "runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=RUN_CSV_FIELDS)
        w.writeheader()
        for run in runs:
            if run.status is None:
                continue
            c = run.config
            w.writerow({"config": c.label, "rep": run.rep, "vm": run.vm, "vms": c.vms,
                        "vcpus": c.vcpus, "host_cpus": c.cpuset,
                        "overcommit": round(c.overcommit, 4), "accel": run.accel,
                        "status": run.status, "meaning": STATUS_MEANING.get(run.status, "unknown"),
                        "seconds": round(run.seconds, 2),
                        "reason": "" if run.status == ST_PASS else failure_reason(run),
                        "log": relative(run.log, opts.out), "err": relative(run.err, opts.out)})


# ---- statistics -------------------------------------------------------------

@dataclass
class Cell:
    """Every VM run of one lock at one config."""
    total: int = 0
    ok: int = 0
    tput: list = field(default_factory=list)
    fairness: list = field(default_factory=list)
    p50: list = field(default_factory=list)
    p99: list = field(default_factory=list)
    p999: list = field(default_factory=list)

    def median(self, name):
        values = getattr(self, name)
        return statistics.median(values) if values else None


def build_cells(records):
    cells = {}
    for r in records:
        cell = cells.setdefault((r["config"], r["lock"]), Cell())
        cell.total += 1
        if r["status"] != "ok":
            continue
        cell.ok += 1
        cell.tput.append(r["throughput_per_s"])
        cell.fairness.append(r["fairness"])
        cell.p50.append(r["latency_p50_ns"])
        cell.p99.append(r["latency_p99_ns"])
        cell.p999.append(r["latency_p999_ns"])
    return cells


def ordered_configs(configs):
    """By overcommit ratio, then as given."""
    return sorted(configs, key=lambda c: (c.overcommit, configs.index(c)))


def baseline_config(configs, cells, lock):
    """The lowest-overcommit config with a measurement of LOCK."""
    return next((c for c in ordered_configs(configs) if cells.get((c.label, lock), Cell()).tput), None)


# ---- summary.md -------------------------------------------------------------

def fmt_rate(value):
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def fmt_ns(ns):
    if ns is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.0f} ns"


def fmt_times(x):
    if x is None:
        return "-"
    return f"{x:,.0f}x" if x >= 100 else f"{x:.3g}x"


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return lines


def cpus_word(opts):
    return "L1 CPUs" if opts.accel == "nested" else "host CPUs"


def summary_header(opts, env, argv, runs):
    accels = sorted({r.accel for r in runs if r.status is not None}) or [opts.accel]
    lines = [
        "# pvspin overcommit benchmark",
        "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- command: `{shlex.join(argv)}`",
        f"- accelerator: {', '.join(accels)}; {env['qemu_version']}",
        f"- host: {env['host_cpu_model']}, {env['host_cpus_online']} CPUs online, "
        f"Linux {env['host_kernel']}",
        f"- guest: {env['guest_revision']}; test=bench, {opts.reps} rep(s), "
        f"duration_ms={opts.duration_ms} warmup_ms={opts.warmup_ms} hold_ns={opts.hold_ns} "
        f"think_ns={opts.think_ns} pv={opts.pv}" + "".join(f" {g}" for g in opts.guest),
        "- vCPU threads: " + ("pinned one per host CPU, round-robin" if opts.pin_vcpus
                              else "free within the cpuset"),
        f"- host time slice: {fmt_ns(opts.slice_ns)} ({env['slice_source']})",
    ]
    infos = (parse_log(r.log) for r in runs if r.status is not None)
    l1 = next((info.l1 for info in infos if info.l1), None)
    if l1:
        lines.append(f"- L1 (nested KVM host): Linux {l1.get('kernel')} ({l1.get('package_version', '?')}), "
                     f"{l1.get('cpus')} CPUs, {l1.get('cpu_model_name')}; the cpusets are L1 CPUs")
    lines += ["- overcommit ratio = vCPUs per VM x VMs / CPUs in the cpuset", ""]
    return lines


def lock_section(opts, cells, lock):
    base = baseline_config(opts.configs, cells, lock)
    base_tput = base and cells[(base.label, lock)].median("tput")
    rows = []
    for c in ordered_configs(opts.configs):
        cell = cells.get((c.label, lock), Cell())
        med = cell.median("tput")
        spread = (f"{fmt_rate(min(cell.tput))}-{fmt_rate(max(cell.tput))}" if cell.tput else "-")
        rel_spread = (f"{(max(cell.tput) - min(cell.tput)) / med:.0%}" if med else "-")
        rows.append([fmt_ratio(c.overcommit), c.vcpus, f"{c.cpuset} ({len(c.cpus)})", c.vms,
                     f"{cell.ok}/{cell.total}", fmt_rate(med), spread, rel_spread,
                     "-" if not cell.fairness else f"{cell.median('fairness'):.3f}",
                     fmt_ns(cell.median("p50")), fmt_ns(cell.median("p99")),
                     fmt_ns(cell.median("p999")),
                     fmt_times(med / base_tput) if med is not None and base_tput else "-"])
    header = ["overcommit", "vCPUs", cpus_word(opts), "VMs", "runs ok", "acquisitions/s (median)",
              "min-max", "spread", "fairness", "p50", "p99", "p99.9", "vs lowest overcommit"]
    note = (f"Throughput relative to {base.label} ({fmt_ratio(base.overcommit)}); "
            "spread = (max - min) / median; latencies are acquire times, medians over runs."
            if base else "No run measured this lock.")
    return [f"### {lock}", "", *md_table(header, rows), "", note, ""]


def ratio_of(cells, label, lock_a, lock_b):
    a = cells.get((label, lock_a), Cell()).median("tput")
    b = cells.get((label, lock_b), Cell()).median("tput")
    return a / b if a is not None and b else None


def side_by_side(opts, cells):
    locks = (PV_LOCK, NATIVE_LOCK, TICKET_LOCK)
    if PV_LOCK not in opts.locks:
        return ["## pvqspinlock side by side", "", f"Not measured: --locks has no {PV_LOCK}.", ""]
    rows = []
    for c in ordered_configs(opts.configs):
        med = {lock: cells.get((c.label, lock), Cell()) for lock in locks}
        rows.append([fmt_ratio(c.overcommit), c.label,
                     *(fmt_rate(med[lock].median("tput")) for lock in locks),
                     fmt_times(ratio_of(cells, c.label, PV_LOCK, NATIVE_LOCK)),
                     fmt_times(ratio_of(cells, c.label, PV_LOCK, TICKET_LOCK)),
                     *(fmt_ns(med[lock].median("p99")) for lock in locks)])
    header = ["overcommit", "config", *(f"{lock} /s" for lock in locks),
              f"{PV_LOCK} / {NATIVE_LOCK}", f"{PV_LOCK} / {TICKET_LOCK}",
              *(f"{lock} p99" for lock in locks)]
    return ["## pvqspinlock side by side", "",
            "Medians over runs; the ratios are ratios of median throughput.", "",
            *md_table(header, rows), ""]


def goal_configs(configs):
    return [c for c in configs if abs(c.overcommit - GOAL_OVERCOMMIT) < 1e-9]


def one_x_config(configs, config):
    """A 1x config to compare CONFIG with: the same cpuset and VMs if there is one."""
    ones = [c for c in configs if abs(c.overcommit - 1) < 1e-9]
    same = [c for c in ones if c.cpus == config.cpus and c.vms == config.vms]
    return (same or ones or [None])[0]


def verdict(ok):
    return "PASS" if ok else "MISS"


def goal_keep(opts, cells, c):
    pv = cells.get((c.label, PV_LOCK), Cell()).median("tput")
    base = one_x_config(opts.configs, c)
    base_tput = base and cells.get((base.label, PV_LOCK), Cell()).median("tput")
    if pv is None or not base_tput:
        why = "no 1x config" if base is None else f"{PV_LOCK} not measured at {c.label} and {base.label}"
        return f"- not measured (a) at {c.label}: {why}"
    keep = pv / base_tput
    return (f"- {verdict(keep >= GOAL_KEEP_FRACTION)} (a) at {c.label}: {PV_LOCK} keeps {keep:.0%} "
            f"of its 1x throughput ({fmt_rate(pv)}/s vs {fmt_rate(base_tput)}/s at {base.label}); "
            f"goal >= {GOAL_KEEP_FRACTION:.0%}")


def goal_speedup(cells, c):
    vs_native = ratio_of(cells, c.label, PV_LOCK, NATIVE_LOCK)
    vs_ticket = ratio_of(cells, c.label, PV_LOCK, TICKET_LOCK)
    if vs_native is None or vs_ticket is None:
        return (f"- not measured (b) at {c.label}: needs {PV_LOCK}, {NATIVE_LOCK} and "
                f"{TICKET_LOCK} there")
    ok = vs_native >= GOAL_SPEEDUP and vs_ticket >= GOAL_SPEEDUP
    return (f"- {verdict(ok)} (b) at {c.label}: {PV_LOCK} is {fmt_times(vs_native)} {NATIVE_LOCK} "
            f"and {fmt_times(vs_ticket)} {TICKET_LOCK}; goal >= {GOAL_SPEEDUP:g}x both")


def goal_latency(opts, cells, c):
    pv = cells.get((c.label, PV_LOCK), Cell()).median("p99")
    ticket = cells.get((c.label, TICKET_LOCK), Cell()).median("p99")
    if pv is None or ticket is None:
        return f"- not measured (c) at {c.label}: needs {PV_LOCK} and {TICKET_LOCK} there"
    ok = pv <= opts.slice_ns < ticket
    return (f"- {verdict(ok)} (c) at {c.label}: p99 acquire latency {PV_LOCK} {fmt_ns(pv)}, "
            f"{TICKET_LOCK} {fmt_ns(ticket)}, host time slice {fmt_ns(opts.slice_ns)}; goal: "
            f"{PV_LOCK} within the slice, {TICKET_LOCK} beyond it")


def goals_section(opts, cells):
    lines = ["## Goals", "",
             f"(a) {PV_LOCK} at {GOAL_OVERCOMMIT:g}x overcommit keeps >= {GOAL_KEEP_FRACTION:.0%} "
             f"of its 1x throughput; (b) at {GOAL_OVERCOMMIT:g}x it beats {NATIVE_LOCK} and "
             f"{TICKET_LOCK} by >= {GOAL_SPEEDUP:g}x; (c) its p99 acquire latency is within one "
             f"host time slice while {TICKET_LOCK}'s is not (checked at {GOAL_OVERCOMMIT:g}x).", ""]
    at_goal = goal_configs(ordered_configs(opts.configs))
    if not at_goal:
        return lines + [f"- not measured (a), (b), (c): no config at {GOAL_OVERCOMMIT:g}x overcommit", ""]
    for check in (lambda c: goal_keep(opts, cells, c), lambda c: goal_speedup(cells, c),
                  lambda c: goal_latency(opts, cells, c)):
        lines += [check(c) for c in at_goal]
    return lines + [""]


def failures_section(opts, runs):
    bad = [r for r in runs if r.status not in (None, ST_PASS)]
    not_run = sum(1 for r in runs if r.status is None)
    lines = ["## Failed runs", ""]
    if bad:
        rows = [[r.config.label, r.rep, r.vm, r.status, STATUS_MEANING.get(r.status, "unknown"),
                 failure_reason(r).replace("|", "\\|"), relative(r.log, opts.out)] for r in bad]
        lines += md_table(["config", "rep", "VM", "status", "meaning", "reason", "log"], rows) + [""]
    if not_run:
        lines += [f"{not_run} of {len(runs)} runs were not run: the runner stopped early "
                  "(a run rejected as bad input, or an interrupt).", ""]
    if not bad and not not_run:
        lines += ["None.", ""]
    return lines


def write_summary(opts, env, argv, runs, records):
    cells = build_cells(records)
    lines = summary_header(opts, env, argv, runs)
    lines += ["## Results per lock", ""]
    for lock in opts.locks:
        lines += lock_section(opts, cells, lock)
    lines += side_by_side(opts, cells)
    lines += goals_section(opts, cells)
    lines += ["## Published anchors", "", *(f"- {a}" for a in ANCHORS), ""]
    lines += failures_section(opts, runs)
    text = "\n".join(lines)
    (opts.out / "summary.md").write_text(text)
    return text, cells


# ---- plots ------------------------------------------------------------------

def series_groups(configs):
    """(cpuset, VMs) groups: each is one line per lock in the throughput plot."""
    return list(dict.fromkeys((c.cpus, c.vms) for c in configs))


def write_throughput_data(opts, cells):
    """throughput.dat: one block per lock and group; returns (title, lock index) per block."""
    groups = series_groups(opts.configs)
    blocks, text = [], []
    for li, lock in enumerate(opts.locks):
        for cpus, vms in groups:
            rows = [(c, cells.get((c.label, lock), Cell())) for c in ordered_configs(opts.configs)
                    if (c.cpus, c.vms) == (cpus, vms)]
            rows = [(c, cell) for c, cell in rows if cell.tput]
            if not rows:
                continue
            title = lock if len(groups) == 1 else (
                f"{lock} on {format_cpuset(cpus)}" + (f" x{vms} VMs" if vms > 1 else ""))
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
    for lock in opts.locks:
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


def write_plots(opts, cells, png_terminal):
    """Writes the .dat and .gp files; runs gnuplot when there is one. Returns the files."""
    written = []
    for name, make in (("throughput", throughput_plot), ("latency", latency_plot)):
        script = make(opts, cells, png_terminal or "pngcairo")
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


# ---- main -------------------------------------------------------------------

def update_latest_link(out):
    tmp = LATEST_LINK.with_name(f".latest.{os.getpid()}")
    tmp.symlink_to(out.name)
    os.replace(tmp, LATEST_LINK)


def build_guest():
    done = subprocess.run(["make", "-s", "-C", str(REPO), "all"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        warn("the guest build failed; nothing was run")
        sys.exit(EXIT_RUN_FAILED)


def announce(opts, runs, png_terminal):
    if opts.plot and png_terminal is None:
        warn(f"gnuplot is missing: the plots will be skipped (their .dat and .gp files are "
             f"still written); install it with: {GNUPLOT_INSTALL}")
    if opts.quiet:
        return
    boots = len({(r.rep, r.config) for r in runs})
    warn(f"{len(runs)} VM run(s): {len(opts.configs)} config(s) x {opts.reps} rep(s) "
         f"({boots} step(s)), {len(opts.locks)} lock(s) each, {opts.accel}; output in {opts.out}")


def main(argv):
    opts = parse_args(argv)
    png_terminal = gnuplot_png_terminal() if opts.plot else None
    (opts.out / "logs").mkdir(parents=True, exist_ok=True)
    if opts.default_out:
        update_latest_link(opts.out)
    runs = plan_runs(opts, opts.out / "logs")
    announce(opts, runs, png_terminal)
    env = gather_env(opts)
    build_guest()
    try:
        (run_nested if opts.accel == "nested" else run_direct)(opts, runs)
    except KeyboardInterrupt:
        warn("interrupted; writing what was measured")
    records = make_records(opts, env, runs)
    write_results(opts, records, runs)
    summary, cells = write_summary(opts, env, [sys.argv[0], *argv], runs, records)
    written = [opts.out / n for n in ("results.jsonl", "results.csv", "runs.csv", "summary.md")]
    if opts.plot:
        written += write_plots(opts, cells, png_terminal)
    print(summary)
    print("written:")
    for path in written + [opts.out / "logs"]:
        print(f"  {path}")
    all_passed = all(r.status == ST_PASS for r in runs)
    return EXIT_OK if all_passed else EXIT_RUN_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
