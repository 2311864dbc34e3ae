# SPDX-License-Identifier: MIT
# interference.py: the host interference modes (--quota, --stall, --hog), parsed and checked.
"""Interference specs: what the host does to the VM's vCPU threads.

A Spec is one mode with its parameters; its text ('quota=25/10',
'stall=5/10:rr', 'hog=0-1:50/10:fifo', '' for none) is its canonical name,
part of a config's label. parse_mode(text) reads that text; the option
parsers (parse_quota(), parse_stall(), parse_hog()) read the command line's
forms. check_spec(spec, config) refuses a spec that cannot apply to a
config. Every error is a UsageError naming the option and what is accepted.
This module touches nothing on the host.
"""
import os
import re
from dataclasses import dataclass

from .common import UsageError
from .config import format_cpuset, parse_cpuset

MODES = ("quota", "stall", "hog")
STALL_ORDERS = ("rr", "random")
DEFAULT_QUOTA_PERIOD_MS = 10.0
MIN_CFS_QUOTA_MS = 1.0          # the kernel refuses cpu.cfs_quota_us below 1000
MIN_CFS_PERIOD_MS, MAX_CFS_PERIOD_MS = 1.0, 1000.0
MIN_STALL_EVERY_MS, MAX_STALL_EVERY_MS = 1.0, 10000.0
MAX_HOG_PERIOD_MS = 10000.0
RT_RUNTIME_FILE = "/proc/sys/kernel/sched_rt_runtime_us"
RT_PERIOD_FILE = "/proc/sys/kernel/sched_rt_period_us"
PCT = 100.0

NUM = r"(\d+(?:\.\d+)?)"
QUOTA_RE = re.compile(rf"^{NUM}(?:/{NUM})?$")
STALL_RE = re.compile(rf"^{NUM}/{NUM}(?::(\w+))?$")
HOG_RE = re.compile(rf"^([0-9,-]+):{NUM}%?/{NUM}(?::(\w+))?$")
MODE_RE = re.compile(r"^(quota|stall|hog)=(.+)$")

QUOTA_FORM = "PCT[/PERIOD_MS], PCT above 0 and below 100, PERIOD_MS 1..1000 (default 10), e.g. 25 or 25/10"
STALL_FORM = "LEN_MS/EVERY_MS[:rr|random] with 0 < LEN_MS < EVERY_MS <= 10000, e.g. 5/10:rr"
HOG_FORM = "CPUSET:DUTY%/PERIOD_MS[:fifo], DUTY 1..100, PERIOD_MS 1..10000, e.g. 0:50%/10 or 0-1:30/20:fifo"


def fmt_num(x):
    return f"{x:g}"


@dataclass(frozen=True)
class Spec:
    """One interference mode ('' = none) and its requested parameters."""
    mode: str = ""
    pct: float = 0.0            # quota: share of one CPU per period
    period_ms: float = 0.0      # quota and hog: the period
    len_ms: float = 0.0         # stall: how long one vCPU is frozen
    every_ms: float = 0.0       # stall: how often a stall starts
    order: str = ""             # stall: rr or random
    cpus: tuple = ()            # hog: host CPUs
    duty: float = 0.0           # hog: busy share of each period, percent
    fifo: bool = False          # hog: SCHED_FIFO

    @property
    def text(self):
        if self.mode == "quota":
            return f"quota={fmt_num(self.pct)}/{fmt_num(self.period_ms)}"
        if self.mode == "stall":
            return f"stall={fmt_num(self.len_ms)}/{fmt_num(self.every_ms)}:{self.order}"
        if self.mode == "hog":
            return (f"hog={format_cpuset(self.cpus)}:{fmt_num(self.duty)}%/{fmt_num(self.period_ms)}"
                    + (":fifo" if self.fifo else ""))
        return ""

    @property
    def needs_cgroups(self):
        return self.mode in ("quota", "stall")

    @property
    def stall_duty(self):
        """The share of time some vCPU is frozen (LEN/EVERY); 0 without stalls."""
        return self.len_ms / self.every_ms if self.mode == "stall" else 0.0

    def requested(self):
        """The result's requested parameters."""
        if self.mode == "quota":
            return {"pct": self.pct, "period_ms": self.period_ms}
        if self.mode == "stall":
            return {"len_ms": self.len_ms, "every_ms": self.every_ms, "order": self.order}
        if self.mode == "hog":
            return {"cpus": format_cpuset(self.cpus), "duty_pct": self.duty,
                    "period_ms": self.period_ms, "policy": "SCHED_FIFO" if self.fifo else "SCHED_OTHER"}
        return {}


NONE = Spec()


def number_in(text, low, high, what, form, low_open=False, high_open=False):
    value = float(text)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        raise UsageError(f"{what}: {fmt_num(value)} is out of range; accepted: {form}")
    return value


def parse_quota(text, what="--quota"):
    m = QUOTA_RE.match(text)
    if not m:
        raise UsageError(f"{what} '{text}': accepted: {QUOTA_FORM}")
    pct = number_in(m.group(1), 0, PCT, f"{what} '{text}': PCT", QUOTA_FORM, True, True)
    period = number_in(m.group(2) or str(DEFAULT_QUOTA_PERIOD_MS), MIN_CFS_PERIOD_MS,
                       MAX_CFS_PERIOD_MS, f"{what} '{text}': PERIOD_MS", QUOTA_FORM)
    if pct / PCT * period < MIN_CFS_QUOTA_MS:
        raise UsageError(f"{what} '{text}': {fmt_num(pct)}% of {fmt_num(period)} ms is "
                         f"{fmt_num(pct / PCT * period)} ms, below the kernel's minimum quota of "
                         f"{fmt_num(MIN_CFS_QUOTA_MS)} ms; accepted: a longer period or a larger PCT")
    return Spec("quota", pct=pct, period_ms=period)


def parse_stall(text, what="--stall"):
    m = STALL_RE.match(text)
    if not m:
        raise UsageError(f"{what} '{text}': accepted: {STALL_FORM}")
    every = number_in(m.group(2), MIN_STALL_EVERY_MS, MAX_STALL_EVERY_MS,
                      f"{what} '{text}': EVERY_MS", STALL_FORM)
    length = float(m.group(1))
    if not 0 < length < every:
        raise UsageError(f"{what} '{text}': LEN_MS {fmt_num(length)} must be above 0 and below "
                         f"EVERY_MS {fmt_num(every)}; accepted: {STALL_FORM}")
    order = m.group(3) or "rr"
    if order not in STALL_ORDERS:
        raise UsageError(f"{what} '{text}': order '{order}'; accepted: {', '.join(STALL_ORDERS)}")
    return Spec("stall", len_ms=length, every_ms=every, order=order)


def rt_limit_pct():
    """The share of each period SCHED_FIFO may take (sched_rt_runtime_us), percent."""
    try:
        runtime = int(open(RT_RUNTIME_FILE).read())
        period = int(open(RT_PERIOD_FILE).read())
    except (OSError, ValueError):
        return PCT
    return PCT if runtime < 0 else PCT * runtime / period


def parse_hog(text, what="--hog", machine_cpus=None):
    m = HOG_RE.match(text)
    if not m:
        raise UsageError(f"{what} '{text}': accepted: {HOG_FORM}")
    try:
        cpus = parse_cpuset(m.group(1))
    except UsageError as e:
        raise UsageError(f"{what} '{text}': {e}") from None
    machine = machine_cpus if machine_cpus is not None else os.sched_getaffinity(0)
    outside = [c for c in cpus if c not in machine]
    if outside:
        raise UsageError(f"{what} '{text}': CPU {outside[0]} is not a CPU of this machine; "
                         f"accepted: CPUs {format_cpuset(tuple(sorted(machine)))}")
    duty = number_in(m.group(2), 1, PCT, f"{what} '{text}': DUTY", HOG_FORM)
    period = number_in(m.group(3), 1, MAX_HOG_PERIOD_MS, f"{what} '{text}': PERIOD_MS", HOG_FORM)
    policy = m.group(4)
    if policy not in (None, "fifo"):
        raise UsageError(f"{what} '{text}': policy '{policy}'; accepted: fifo (or nothing: SCHED_OTHER)")
    fifo = policy == "fifo"
    limit = rt_limit_pct()
    if fifo and duty > limit:
        raise UsageError(f"{what} '{text}': a SCHED_FIFO hog may take at most {fmt_num(limit)}% "
                         f"here ({RT_RUNTIME_FILE}); accepted: DUTY 1..{fmt_num(limit)} with :fifo")
    return Spec("hog", cpus=cpus, duty=duty, period_ms=period, fifo=fifo)


def parse_mode(text, what="interference", machine_cpus=None):
    """'quota=25/10', 'stall=5/10:rr', 'hog=0:50%/10', or '' (none) -> Spec."""
    if text in ("", "none"):
        return NONE
    m = MODE_RE.match(text)
    if not m:
        raise UsageError(f"{what} '{text}': accepted: quota=PCT[/PERIOD_MS], "
                         "stall=LEN_MS/EVERY_MS[:rr|random], hog=CPUSET:DUTY%/PERIOD_MS[:fifo], none, "
                         "or Xen's sched=NAME with --accel xen")
    mode, rest = m.groups()
    if mode == "quota":
        return parse_quota(rest, what)
    if mode == "stall":
        return parse_stall(rest, what)
    return parse_hog(rest, what, machine_cpus)


def parse_sweep(text, every_ms, order="rr"):
    """'0,10,25,50' (percent of EVERY_MS a vCPU is frozen) -> [Spec]; 0 is no stall."""
    specs = []
    for item in (i for i in re.split(r"[,\s]+", text) if i):
        try:
            pct = float(item)
        except ValueError:
            pct = -1.0
        if not 0 <= pct < PCT:
            raise UsageError(f"--stall-sweep '{item}': accepted: percentages 0 <= P < 100, "
                             "e.g. 0,10,25,50")
        specs.append(NONE if pct == 0 else
                     parse_stall(f"{fmt_num(pct / PCT * every_ms)}/{fmt_num(every_ms)}:{order}",
                                 "--stall-sweep"))
    if not specs:
        raise UsageError("--stall-sweep: an empty list")
    return specs


def check_spec(spec, config):
    """Refuse SPEC on CONFIG when it cannot apply (UsageError)."""
    threads = config.vcpus * config.vms
    per_cpu = -(-threads // len(config.cpus))   # the most on one CPU (round-robin pinning)
    if spec.mode == "quota" and per_cpu * spec.pct > PCT:
        raise UsageError(f"--quota on config {config.label}: {per_cpu} vCPU threads on one CPU "
                         f"at {fmt_num(spec.pct)}% each is {fmt_num(per_cpu * spec.pct)}% of it, "
                         f"so the CPU and not the quota would set the shape; accepted: "
                         f"vCPU threads per CPU x PCT at most 100")
