# SPDX-License-Identifier: MIT
# config.py: benchmark configurations (VCPUS@CPUSET[xVMS][~MODE]) and list parsing.
"""Configurations and the parsers of the list options.

A Config is VCPUS vCPUs per VM and VMS VMs at once on the host CPUs CPUS,
with at most one mode: an interference (interference.py) or, under
--accel xen, Xen's scheduler (sched=NAME). Its label (2@0-1, 4@0x2,
8@0-1~stall=5/10:rr, 8@0-1~sched=credit) names it everywhere (results,
logs, summary). Every parser returns values or raises UsageError naming
what is accepted. The lock names, the vCPU limit, the CPU-list syntax and
Xen's schedulers are tools/pvspin/facts.py's.
"""
import re
from dataclasses import dataclass

from pvspin import facts

from .common import UsageError

LOCKS = facts.LOCKS
MAX_VCPUS = facts.KVM_MAX_VCPUS
MAX_VMS = 64

CONFIG_RE = re.compile(r"^(\d+)@([0-9,-]+?)(?:x(\d+))?(?:~(\S+))?$")
SLUG_BAD_RE = re.compile(r"[^A-Za-z0-9@.+=~_-]")
SCHED_MODE = "sched="


def parse_sched(name, what="--xen-sched"):
    """A Xen scheduler's name, checked against facts.XEN_SCHEDS (the names
    run-qemu.sh --xen-sched accepts too)."""
    if name not in facts.XEN_SCHEDS:
        raise UsageError(f"{what}: '{name}' is not one of Xen's schedulers; accepted: "
                         f"{', '.join(facts.XEN_SCHEDS)}")
    return name


def parse_cpuset(text):
    """'0-1,4' -> (0, 1, 4)."""
    try:
        return facts.parse_cpulist(text)
    except ValueError as e:
        raise UsageError(str(e)) from None


format_cpuset = facts.format_cpulist


@dataclass(frozen=True)
class Config:
    """VCPUS vCPUs per VM, VMS VMs at once, all on the host CPUs CPUS, under
    INTERFERENCE (an interference.Spec text, '' for none); under --accel xen,
    SCHED is Xen's scheduler ('': run-qemu.sh's default). The scheduler is
    part of the machine measured, not something the host does to it, so it
    stays in base_label; the command line never gives a config both."""
    vcpus: int
    cpus: tuple
    vms: int = 1
    interference: str = ""
    sched: str = ""

    @property
    def cpuset(self):
        return format_cpuset(self.cpus)

    @property
    def base_label(self):
        """The label without the interference."""
        return (f"{self.vcpus}@{self.cpuset}" + (f"x{self.vms}" if self.vms > 1 else "")
                + (f"~{SCHED_MODE}{self.sched}" if self.sched else ""))

    @property
    def label(self):
        return self.base_label + (f"~{self.interference}" if self.interference else "")

    @property
    def mode(self):
        """The label's ~MODE text: the interference, or sched=NAME, or ''."""
        return self.interference or (f"{SCHED_MODE}{self.sched}" if self.sched else "")

    @property
    def slug(self):
        return SLUG_BAD_RE.sub("_", self.label.replace(",", "+"))

    @property
    def overcommit(self):
        return self.vcpus * self.vms / len(self.cpus)


def fmt_ratio(ratio):
    return f"{ratio:.3g}x"


def int_in(text, low, high, what):
    """TEXT as an integer LOW..HIGH (HIGH None: no upper bound), or
    UsageError naming WHAT and the range."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = None
    if value is None or value < low or (high is not None and value > high):
        span = f"{low}..{high}" if high is not None else f"{low} or more"
        raise UsageError(f"{what} '{text}': accepted: an integer {span}")
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
                             "or VCPUS@CPUSETxVMS, either followed by ~MODE (an interference, "
                             "or sched=NAME under --accel xen), "
                             "e.g. 2@0-1,8@0-1,4@0x2,2@0-1~stall=5/10:rr,8@0-1~sched=credit")
        vcpus = int_in(m.group(1), 1, MAX_VCPUS, f"--configs '{item}': vCPUs")
        try:
            cpus = parse_cpuset(m.group(2))
        except UsageError as e:
            raise UsageError(f"--configs '{item}': {e}") from None
        vms = int_in(m.group(3) or "1", 1, MAX_VMS, f"--configs '{item}': VMs")
        mode = m.group(4) or ""
        if mode.startswith(SCHED_MODE):
            configs.append(Config(vcpus, cpus, vms,
                                  sched=parse_sched(mode[len(SCHED_MODE):], f"--configs '{item}'")))
        else:
            configs.append(Config(vcpus, cpus, vms, mode))
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
