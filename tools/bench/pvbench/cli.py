# SPDX-License-Identifier: MIT
# cli.py: the runner's command line, checked before anything runs.
"""The command line of a benchmark run.

parse_args(argv) returns Options, or prints what is wrong and exits with
status 2 (EXIT_BAD_ARGS) before any VM starts. The `report` subcommand has
its own small parser in report.py.
"""
import argparse
import datetime
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from pvspin import facts
from pvspin.nested.options import MODULE_PARAM_RE

from .common import (BENCH_DIR, DEFAULT_RUN_QEMU, GNUPLOT_INSTALL, UsageError, die_usage)
from .config import (LOCKS, MAX_VCPUS, MAX_VMS, SCHED_MODE, cross_product, format_cpuset, int_in,
                     parse_configs, parse_host_cpus, parse_int_list, parse_locks, parse_sched)
from .cgroups import STALL_CHOICES
from .interference import (DEFAULT_QUOTA_PERIOD_MS, NONE, STALL_ORDERS, check_spec, parse_hog,
                           parse_mode, parse_quota, parse_stall, parse_sweep)
from .variants import (DEFAULT_PEER_LOCK, LOCKTORTURE_SHAPE, LONG_HOLD_MS_MAX, PEERS, SHAPES,
                       linux_pv_choices, parse_peer, parse_peer_lock, parse_shapes)

ACCELS = ("tcg", "nested", "kvm", "auto", "xen")
# The guest's pv= values but hyperv: that needs run-qemu.sh --hyperv, which
# the matrix does not pass.
PV_MODES = tuple(p for p in facts.PV_CHOICES if p != "hyperv")
HYPERVISOR_BITS = ("on", "off")
TCG_MAX_VCPUS = facts.TCG_MAX_VCPUS
DEFAULT_L1_CPUS = 2             # run-qemu.sh --accel nested without --l1-smp
# Xen's null scheduler gives each vCPU a Xen CPU of its own: the vCPUs
# beyond the CPUs never run (docs/xen.md).
NULL_SCHED = "null"
MAX_REPS = 1000
MAX_TIMEOUT_S = 1000000
DURATION_MS_MAX = 3600000       # the guest's limits (kernel/options.c)
HOLD_NS_MAX = 1000000000

DEFAULT_REPS = 3
DEFAULT_DURATION_MS = 1000
DEFAULT_WARMUP_MS = 200
DEFAULT_HOLD_NS = 200
DEFAULT_THINK_NS = 500
DEFAULT_SEED = 1
MAX_SEED = 2 ** 31 - 1
DEFAULT_STALL_EVERY_MS = 10
# Guest options the runner sets itself: --guest may not override them.
RUNNER_GUEST_KEYS = ("test", "lock", "duration_ms", "warmup_ms", "hold_ns", "think_ns", "pv", "seed",
                     "shape", "long_hold_ms")
GUEST_OPT_RE = re.compile(r"^([a-z_0-9]+)=(\S+)$")

# Default per-run timeout: boot allowance plus this many times the guest's
# own measuring time (every lock's warm-up and duration).
TIMEOUT_BOOT_S = 60
TIMEOUT_SLOWDOWN = 3
# What a Linux peer boot takes besides warm-up and duration: the kernel's
# boot (1-3 s under TCG), locktorture's first stats line (its warm-up is at
# least one 1 s stats interval) and its shutdown (about 2 s).
PEER_OVERHEAD_S = 7

SLICE_SOURCES = (
    "/sys/kernel/debug/sched/base_slice_ns",        # EEVDF (Linux 6.6+)
    "/sys/kernel/debug/sched/min_granularity_ns",   # CFS, debugfs (5.13+)
    "/proc/sys/kernel/sched_min_granularity_ns",    # CFS, older kernels
)
DEFAULT_SLICE_MS = 3.0
NS_PER_MS = 1000000

HELP_EPILOG = f"""\
configurations:
  A configuration is VCPUS vCPUs per VM, VMS VMs booted at once, all pinned
  (taskset) to one host cpuset. Overcommit ratio = VCPUS x VMS / CPUs in the
  cpuset. --configs lists them (2@0-1 = 2 vCPUs on CPUs 0-1, 4@0x2 = two
  4-vCPU VMs on CPU 0); otherwise the cross product of --vcpus, --host-cpus
  and --vms (default: every available host CPU as one cpuset, 1x, 2x and 4x
  its size in vCPUs, one VM). Repetitions are interleaved: every config once,
  then every config again. Under --accel xen the cpuset is Xen's CPUs and
  --xen-sched LIST runs every config under each of Xen's schedulers (label
  8@0-1~sched=credit; a --configs item may name its own).

outputs (in --out DIR):
  results.jsonl, results.csv  one record per lock per VM run (status ok,
                              not ok or missing), with its environment
  runs.csv                    one row per VM run: exit status, time, logs
  summary.md                  tables per lock, pvqspinlock side by side with
                              qspinlock and ticket, the goals with PASS/MISS
  throughput.*, latency.*     plots (.png, .svg), their .dat and .gp files
  matrix.json                 the options, environment and VM runs the
                              reports are built from (with results.jsonl)
  logs/CONFIG-repR-vmV.log    each VM's serial output (.err: its stderr);
                              CONFIG-pvspin-locktorture-..., CONFIG-linux-TYPE-...
                              for the other shape and the peer

  Without gnuplot the plots are skipped (the runner says so before it starts,
  and still writes the .dat and .gp files); install it with:
  {GNUPLOT_INSTALL}

interference (docs/bench.md "Interference modes"; needs root and cgroup v1):
  --quota PCT[/PERIOD_MS]   vCPU threads pinned round-robin to the cpuset, each in
                            its own cgroup limited to PCT% of each period (default
                            {DEFAULT_QUOTA_PERIOD_MS:g} ms); at most 100% per CPU
  --stall LEN_MS/EVERY_MS[:rr|random]  every EVERY_MS one vCPU thread (round
                            robin, or random from --seed) is frozen for LEN_MS
  --hog CPUSET:DUTY%/PERIOD_MS[:fifo]  busy co-runners on those CPUs
  Each is repeatable and takes a list (commas; --hog: semicolons) and applies to every config (a --configs
  item may carry its own: 2@0-1~quota=25, 2@0-1~stall=5/10:rr); --plain also
  runs every config without interference. Without any, the VMs only share
  their cpuset (taskset), as before.

the Linux peer (docs/bench.md "Linux peer"):
  --peer linux adds, to every config and interference mode, boots of Linux
  with locktorture (run-qemu.sh --guest linux, lock type --peer-lock), run
  right after pvspin's in every step, under the same pinning and
  interference; pvspin then runs each --shapes shape in its own boot
  (default, and locktorture: Linux's writer loop). --long-hold-ms goes to
  both locktorture loops. summary.md gets a side-by-side table per config.

LAVA, merging and comparing (docs/lava.md, docs/bench.md "Merging and comparing"):
  --lava-jobs DIR writes the matrix as LAVA jobs; import-lava, merge and compare
  are subcommands: tools/bench/matrix.py SUBCOMMAND --help

rebuilding the reports:
  tools/bench/matrix.py report DIR [--no-plot] writes results.csv, runs.csv,
  summary.md and the plots of a finished run again from DIR/matrix.json and
  DIR/results.jsonl, booting nothing (status 0, or 2 for a bad DIR).

exit status: 0 every run passed, 1 a run failed (all outputs still written),
2 bad arguments. docs/bench.md has the details.
"""


class Parser(argparse.ArgumentParser):
    """The parser of matrix.py and each of its subcommands: no abbreviated
    options, help text laid out as written, a bad argument is status 2."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)

    def error(self, message):
        die_usage(message)


def build_parser():
    p = Parser(prog="tools/bench/matrix.py",
               description="Run pvspin's test=bench over a matrix of vCPU counts, host\n"
                           "cpusets and VM counts (overcommit), and summarize.",
               epilog=HELP_EPILOG)
    m = p.add_argument_group("matrix")
    m.add_argument("--locks", default="all", metavar="LIST",
                   help=f"locks, comma-separated: {', '.join(LOCKS)}, all (default all)")
    m.add_argument("--configs", metavar="LIST",
                   help="VCPUS@CPUSET[xVMS][~MODE] items, e.g. 2@0-1,4@0-1,8@0-1,4@0 "
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
                   help="another pvspin guest option, repeatable (e.g. --guest "
                        "pv_spin_threshold=64); not given to the Linux peer")
    g.add_argument("--shapes", metavar="LIST",
                   help=f"pvspin's workload shapes, one boot each: {', '.join(SHAPES)} (default "
                        f"default; with --peer: default,{LOCKTORTURE_SHAPE}); --hold-ns and "
                        "--think-ns shape the default one")
    g.add_argument("--long-hold-ms", metavar="MS",
                   help="locktorture's long hold (ms, one in cpus*2000*MS acquisitions) in the "
                        f"{LOCKTORTURE_SHAPE} shape and the Linux peer; default 0: none")
    g.add_argument("--hypervisor-bit", default="on", metavar="B",
                   help="on|off, to every boot (run-qemu.sh --hypervisor-bit; default on); off: "
                        "Linux runs its native qspinlock under TCG")
    g.add_argument("--peer", metavar="GUEST",
                   help=f"also boot this peer in every step: {', '.join(PEERS)}")
    g.add_argument("--peer-lock", metavar="TYPE",
                   help=f"the peer's locktorture lock type (default {DEFAULT_PEER_LOCK})")
    h = p.add_argument_group("host")
    h.add_argument("--accel", default="tcg", metavar="A",
                   help=f"{'|'.join(ACCELS)} (default tcg); nested runs every run in one "
                        "L1 boot, one after another; xen boots Xen on as many CPUs as the "
                        "cpuset has (run-qemu.sh --xen-cpus) with the guest as its dom0")
    h.add_argument("--xen-sched", action="append", default=[], metavar="LIST",
                   help=f"Xen's schedulers under --accel xen, comma-separated: "
                        f"{', '.join(facts.XEN_SCHEDS)}; every config runs under each, labelled "
                        f"~{SCHED_MODE}NAME (default: run-qemu.sh's own, no ~{SCHED_MODE} in the label)")
    h.add_argument("--l1-smp", metavar="N",
                   help=f"L1 vCPUs under --accel nested (default {DEFAULT_L1_CPUS})")
    h.add_argument("--l1-param", action="append", default=[], metavar="M.P=V",
                   help="a parameter of L1's KVM modules under --accel nested, for pvspin's "
                        "boots and the peer's alike (run-qemu.sh --l1-param; repeatable)")
    h.add_argument("--pin-vcpus", action="store_true",
                   help="pin each vCPU thread to one CPU of the cpuset, round-robin "
                        "(through QMP; not under nested)")
    h.add_argument("--seed", default=str(DEFAULT_SEED), metavar="N",
                   help=f"seed of the random choices (stall order) (default {DEFAULT_SEED})")
    i = p.add_argument_group("interference")
    i.add_argument("--quota", action="append", default=[], metavar="PCT[/PERIOD_MS]",
                   help="cgroup CPU bandwidth per vCPU thread, pinned one per CPU")
    i.add_argument("--stall", action="append", default=[], metavar="LEN_MS/EVERY_MS[:ORDER]",
                   help=f"freeze one vCPU thread at a time; ORDER {'|'.join(STALL_ORDERS)} (default rr)")
    i.add_argument("--hog", action="append", default=[], metavar="CPUSET:DUTY%%/PERIOD_MS[:fifo]",
                   help="co-runners busy DUTY of each period on those CPUs")
    i.add_argument("--stall-sweep", metavar="PCTS",
                   help="stalls of PCT%% of --stall-every each, e.g. 0,10,25,50 (0: no stall); "
                        "adds the stall plot")
    i.add_argument("--stall-every", default=str(DEFAULT_STALL_EVERY_MS), metavar="MS",
                   help=f"EVERY_MS of --stall-sweep (default {DEFAULT_STALL_EVERY_MS})")
    i.add_argument("--stall-mechanism", default="auto", metavar="M",
                   help=f"{'|'.join(STALL_CHOICES)} (default auto: the first that works, "
                        "in that order)")
    i.add_argument("--plain", action="store_true",
                   help="also run every config without interference (the summary's 'vs plain')")
    h.add_argument("--timeout", metavar="SEC",
                   help=f"per run (default {TIMEOUT_BOOT_S} s + {TIMEOUT_SLOWDOWN}x the "
                        "guest's warm-up and duration over all locks; a Linux peer boot: "
                        f"{TIMEOUT_BOOT_S} s + {TIMEOUT_SLOWDOWN}x ({PEER_OVERHEAD_S} s + warm-up "
                        "+ duration))")
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
    o.add_argument("--lava-jobs", metavar="DIR",
                   help="boot nothing: write one LAVA job per config and repetition to DIR, new "
                        "or empty, with manifest.json (docs/lava.md \"The matrix as a fleet\")")
    o.add_argument("--lava-image-url", metavar="BASE",
                   help="with --lava-jobs: the images' base URL (default file:// of this build)")
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
    seed: int
    stall_mechanism: str
    timeout: int
    slice_ns: int
    slice_source: str
    run_qemu: Path
    out: Path
    default_out: bool
    plot: bool
    quiet: bool
    shapes: list
    peer: str                   # '' or 'linux'
    peer_lock: str              # '' without a peer
    long_hold_ms: int
    hypervisor_bit: str
    peer_timeout: int
    lava_jobs: Path = None      # --lava-jobs DIR: write jobs instead of booting
    lava_image_url: str = ""
    l1_params: tuple = ()       # run-qemu.sh --l1-param, each


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
        if accel == "xen" and c.vcpus > facts.XEN_PVH_MAX_VCPUS:
            raise UsageError(f"config {c.label}: {c.vcpus} vCPUs; a PVH domain under Xen has at "
                             f"most {facts.XEN_PVH_MAX_VCPUS}")
        if accel == "nested" and c.vms > 1:
            raise UsageError(f"config {c.label}: --vms above 1 needs concurrent VMs, but "
                             "--accel nested runs its batch one run after another")


def option_specs(a):
    """The interference specs the options ask for, in order, without repeats."""
    specs = []
    # Lists: quota and stall items are separated by commas, hog items (their
    # cpusets hold commas) by semicolons; every option may also be repeated.
    for what, parse, texts, sep in (("--quota", parse_quota, a.quota, ","),
                                    ("--stall", parse_stall, a.stall, ","),
                                    ("--hog", parse_hog, a.hog, ";")):
        for text in texts:
            specs += [parse(item.strip(), what) for item in text.split(sep)]
    if a.stall_sweep is not None:
        every = int_in(a.stall_every, 1, 10000, "--stall-every")
        specs += parse_sweep(a.stall_sweep, every)
    if a.plain:
        specs.insert(0, NONE)
    return list(dict.fromkeys(specs))


def apply_interference(configs, specs):
    """Every config without its own interference x SPECS; each spec made canonical and checked."""
    out = []
    for c in configs:
        if c.interference:
            mine = [parse_mode(c.interference, f"--configs '{c.label}'")]
        else:
            mine = specs or [NONE]
        for spec in mine:
            check_spec(spec, c)
            out.append(replace(c, interference=spec.text))
    return out


def option_scheds(a):
    """Xen's schedulers --xen-sched asks for (a list, repeatable), in order, without repeats."""
    names = [parse_sched(item.strip()) for text in a.xen_sched for item in text.split(",")]
    return list(dict.fromkeys(names))


def apply_sched(configs, scheds):
    """Every config without its own scheduler x SCHEDS; each checked (check_sched)."""
    out = []
    for c in configs:
        for sched in ([c.sched] if c.sched else scheds or [""]):
            out.append(check_sched(replace(c, sched=sched)))
    return out


def check_sched(config):
    """CONFIG, or UsageError when its scheduler cannot run it."""
    if config.sched == NULL_SCHED and config.vcpus > len(config.cpus):
        raise UsageError(f"config {config.label}: Xen's null scheduler runs one vCPU per Xen CPU, "
                         f"so {config.vcpus - len(config.cpus)} of {config.vcpus} vCPUs would never "
                         f"run; accepted with {SCHED_MODE}{NULL_SCHED}: at most {len(config.cpus)} "
                         f"vCPUs on {config.cpuset}")
    return config


def check_sched_accel(scheds, configs, accel):
    """A Xen scheduler, from --xen-sched or a --configs item, only with --accel xen."""
    if accel == "xen":
        return
    accepted = f"accepted: --accel xen with one of {', '.join(facts.XEN_SCHEDS)}"
    if scheds:
        raise UsageError(f"--xen-sched {','.join(scheds)} with --accel {accel}: Xen's scheduler "
                         f"goes with --accel xen; {accepted}")
    stray = next((c for c in configs if c.sched), None)
    if stray:
        raise UsageError(f"--configs '{stray.label}' with --accel {accel}: ~{SCHED_MODE}NAME is "
                         f"Xen's scheduler and goes with --accel xen; {accepted}")


def parse_guest_opts(items):
    for item in items:
        m = GUEST_OPT_RE.match(item)
        if not m:
            raise UsageError(f"--guest '{item}': accepted: KEY=VALUE (a guest option)")
        if m.group(1) in RUNNER_GUEST_KEYS:
            raise UsageError(f"--guest '{item}': the runner sets {m.group(1)}= itself (seed= "
                             "is the repetition number; the others have their own options)")
    return items


def default_timeout(n_locks, duration_ms, warmup_ms, overhead_s=0):
    guest_s = n_locks * (duration_ms + warmup_ms) / 1000 + overhead_s
    return int(TIMEOUT_BOOT_S + TIMEOUT_SLOWDOWN * guest_s + 0.999)


def parse_long_hold(text, shapes, peer):
    """--long-hold-ms: 0 (none) unless given, and only where a locktorture loop runs."""
    if text is None:
        return 0
    if LOCKTORTURE_SHAPE not in shapes and not peer:
        raise UsageError(f"--long-hold-ms '{text}': goes with --peer linux or --shapes "
                         f"{LOCKTORTURE_SHAPE} (the locktorture loops take long holds)")
    return int_in(text, 0, LONG_HOLD_MS_MAX, "--long-hold-ms")


def check_peer_options(a, peer):
    if a.hypervisor_bit not in HYPERVISOR_BITS:
        raise UsageError(f"--hypervisor-bit '{a.hypervisor_bit}': accepted: {', '.join(HYPERVISOR_BITS)}")
    if peer and a.pv not in linux_pv_choices():
        raise UsageError(f"--pv '{a.pv}' with --peer {peer}: the Linux peer has no such PV backend; "
                         f"accepted: {', '.join(linux_pv_choices())}")


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
        if a.stall_mechanism not in STALL_CHOICES:
            raise UsageError(f"--stall-mechanism '{a.stall_mechanism}': accepted: {', '.join(STALL_CHOICES)}")
        if a.accel not in ACCELS:
            raise UsageError(f"--accel '{a.accel}': accepted: {', '.join(ACCELS)}")
        if a.pv not in PV_MODES:
            raise UsageError(f"--pv '{a.pv}': accepted: {', '.join(PV_MODES)}")
        if a.l1_smp is not None and a.accel != "nested":
            raise UsageError("--l1-smp goes with --accel nested")
        if a.l1_param and a.accel != "nested":
            raise UsageError("--l1-param goes with --accel nested")
        for param in a.l1_param:
            if not MODULE_PARAM_RE.match(param):
                raise UsageError(f"--l1-param '{param}': MODULE.PARAM=VALUE, e.g. kvm_amd.npt=0")
        if a.pin_vcpus and a.accel == "nested":
            raise UsageError("--pin-vcpus: under --accel nested the vCPU threads belong to "
                             "L1's QEMU, out of reach; use it with tcg, kvm or auto")
        if a.pin_vcpus and a.accel == "xen":
            raise UsageError("--pin-vcpus: under --accel xen QEMU's threads are Xen's CPUs; "
                             "Xen's scheduler places the guest's vCPUs; use it with tcg, kvm or auto")
        peer = parse_peer(a.peer)
        if peer and a.accel == "xen":
            raise UsageError(f"--peer {peer} with --accel xen: only pvspin runs as Xen's PVH dom0")
        check_peer_options(a, peer)
        peer_lock = parse_peer_lock(a.peer_lock, peer)
        shapes = parse_shapes(a.shapes, peer)
        long_hold_ms = parse_long_hold(a.long_hold_ms, shapes, peer)
        l1_smp = int_in(a.l1_smp, 1, MAX_VCPUS, "--l1-smp") if a.l1_smp else DEFAULT_L1_CPUS
        scheds = option_scheds(a)
        configs = apply_interference(resolve_matrix(a, l1_smp), option_specs(a))
        check_sched_accel(scheds, configs, a.accel)
        configs = list(dict.fromkeys(apply_sched(configs, scheds)))
        check_configs(configs, a.accel, l1_smp)
        if a.accel == "nested" and any(c.interference for c in configs):
            raise UsageError("--quota, --stall and --hog: under --accel nested the vCPU threads "
                             "belong to L1's QEMU, out of reach; use them with tcg, kvm or auto")
        if a.accel == "xen" and any(c.interference for c in configs):
            raise UsageError("--quota, --stall and --hog: under --accel xen QEMU's threads are "
                             "Xen's CPUs, not the guest's vCPUs; use them with tcg, kvm or auto")
        locks = parse_locks(a.locks)
        duration = int_in(a.duration_ms, 1, DURATION_MS_MAX, "--duration-ms")
        warmup = int_in(a.warmup_ms, 0, DURATION_MS_MAX, "--warmup-ms")
        run_qemu = Path(a.run_qemu)
        if not (run_qemu.is_file() and os.access(run_qemu, os.X_OK)):
            raise UsageError(f"--run-qemu '{a.run_qemu}': not an executable file")
        timeout = (int_in(a.timeout, 1, MAX_TIMEOUT_S, "--timeout") if a.timeout
                   else default_timeout(len(locks), duration, warmup))
        peer_timeout = (timeout if a.timeout
                        else default_timeout(1, duration, warmup, PEER_OVERHEAD_S))
        slice_ns, slice_source = ((parse_slice_ms(a.slice_ms), "--slice-ms") if a.slice_ms
                                  else host_slice(a.accel))
        if a.lava_jobs == "" or (a.lava_image_url is not None and not a.lava_jobs):
            raise UsageError("--lava-jobs needs a directory; --lava-image-url goes with it")
        out, default_out = resolve_out(a.out)
        return Options(
            locks=locks, configs=configs,
            reps=int_in(a.reps, 1, MAX_REPS, "--reps"),
            duration_ms=duration, warmup_ms=warmup,
            hold_ns=int_in(a.hold_ns, 0, HOLD_NS_MAX, "--hold-ns"),
            think_ns=int_in(a.think_ns, 0, HOLD_NS_MAX, "--think-ns"),
            pv=a.pv, guest=parse_guest_opts(a.guest), accel=a.accel, l1_smp=l1_smp,
            pin_vcpus=a.pin_vcpus, seed=int_in(a.seed, 0, MAX_SEED, "--seed"),
            stall_mechanism=a.stall_mechanism, timeout=timeout,
            slice_ns=slice_ns, slice_source=slice_source, run_qemu=run_qemu.resolve(),
            out=out, default_out=default_out, plot=not a.no_plot, quiet=a.quiet,
            shapes=shapes, peer=peer, peer_lock=peer_lock, long_hold_ms=long_hold_ms,
            hypervisor_bit=a.hypervisor_bit, peer_timeout=peer_timeout,
            lava_jobs=Path(a.lava_jobs).resolve() if a.lava_jobs is not None else None,
            lava_image_url=a.lava_image_url or "", l1_params=tuple(a.l1_param))
    except UsageError as e:
        die_usage(str(e))
