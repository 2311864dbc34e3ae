# SPDX-License-Identifier: MIT
# options.py: the Linux peer's guest options, in pvspin's names, as a kernel command line.
"""Guest options for `run-qemu.sh --guest linux`, mapped onto locktorture.

The names are pvspin's where they mean the same thing (docs/peer.md has the
table); anything without a counterpart in Linux is bad input naming what is
accepted. parse() returns a Plan or raises BadOption.

What the mapping holds fixed, and why:
- stutter=0, shuffle_interval=0: locktorture's default run/halt cycle and
  writer shuffling would make the rate a property of those timers.
- rt_boost=0: locktorture 6.12 boosts a writer to SCHED_FIFO now and then
  (for every lock type by default); pvspin has no scheduler to match it.
- stat_interval=1: a cumulative "Writes:" line every second; the measured
  window runs from the first such line at or after the warm-up to the last
  one before the end of the test, timed by printk's timestamps (the stats
  thread sleeps in jiffies, which fall behind wall time on starved vCPUs).
- tsc=reliable: the printk clock stays the TSC (QEMU's TSC is one clock for
  every vCPU); the clocksource watchdog would otherwise judge it against
  timers that starved vCPUs read late.
- lpj=N, when the runner gives it (run.py lpj): without an invariant TSC,
  which TCG cannot offer, Linux calibrates every AP's delay loop against
  jiffies in turn (init/calibrate.c: calibrate_delay_is_known() needs
  CONSTANT_TSC), which grows with the vCPUs (docs/peer.md). N is the BSP's own value from
  the TSC's frequency, read from a 1-vCPU boot of the same peer on the same
  host; with an invariant TSC the APs would take it themselves.
"""
import math
import re
from dataclasses import dataclass, field

# Lock types of Linux 6.12's locktorture (torture_ops[] in
# kernel/locking/locktorture.c) that the peer's config builds; a test checks
# this list against the source the peer was built from.
LOCK_TYPES = (
    "lock_busted", "spin_lock", "spin_lock_irq", "raw_spin_lock", "raw_spin_lock_irq",
    "rw_lock", "rw_lock_irq", "mutex_lock", "ww_mutex_lock", "rwsem_lock",
    "percpu_rwsem_lock",
)
TESTS = ("torture",)
PV_CHOICES = ("auto", "kvm", "off")
DEFAULTS = {
    "test": "torture", "lock": "spin_lock", "duration_ms": 1000, "warmup_ms": 100,
    "cpus": 0, "seed": 1, "long_hold_ms": 100, "pv": "auto",
}
STAT_INTERVAL_S = 1
WRITERS_CREATED_PER_S = 16      # a bound for shutdown_secs (below), measured at 64 writers on 2 CPUs
DURATION_MS_MAX = 3_600_000
# Options pvspin has and Linux's locktorture has no counterpart for.
NO_COUNTERPART = {
    "hold_ns": "locktorture's writers hold the lock for their own delays (shape=locktorture in pvspin matches them)",
    "think_ns": "locktorture's writers do not pause between acquisitions",
    "long_hold": "locktorture's long hold is long_hold_ms= (ms, 1 in nwriters*2000*long_hold_ms)",
    "irq_lock": "locktorture takes no lock in interrupt context",
    "pv_spin_threshold": "Linux's SPIN_THRESHOLD is a compile-time constant",
    "watchdog_ms": "Linux's RCU stall and soft-lockup detectors stand in for it",
    "inject": "Linux has no PV fault injection",
    "shape": "Linux's locktorture is the shape; shape= selects pvspin's",
    "verbose": "the whole console is always kept as '# console:' lines",
}


class BadOption(Exception):
    """A guest option Linux's peer cannot take: status 2 with this text."""


@dataclass
class Plan:
    options: dict
    smp: int
    notes: list = field(default_factory=list)
    lpj: int = 0          # preset loops_per_jiffy (lpj=), 0 = Linux calibrates

    @property
    def writers(self):
        return self.options["cpus"] or self.smp

    @property
    def shutdown_secs(self):
        """locktorture's shutdown_secs, counted from its start: the writers
        are created first (the first ones already run, so creating each takes
        longer the more there are; docs/peer.md "Output"), then the
        stats thread, whose first line comes one interval later and opens the
        window; the window is duration_ms; and one interval more lets a
        stats thread that fell behind print the line that closes it."""
        o = self.options
        creating = math.ceil(self.writers / WRITERS_CREATED_PER_S)
        return math.ceil((o["warmup_ms"] + o["duration_ms"]) / 1000) + 2 * STAT_INTERVAL_S + creating

    @property
    def result_name(self):
        return f"torture:linux-{self.options['lock']}"

    def kernel_cmdline(self):
        o = self.options
        args = [
            "console=ttyS0,115200", "panic=-1", "tsc=reliable", "loglevel=7",
            f"locktorture.torture_type={o['lock']}",
            f"locktorture.nwriters_stress={self.writers}",
            f"locktorture.long_hold={o['long_hold_ms']}",
            f"locktorture.shutdown_secs={self.shutdown_secs}",
            f"locktorture.stat_interval={STAT_INTERVAL_S}",
            "locktorture.stutter=0", "locktorture.shuffle_interval=0",
            "locktorture.rt_boost=0", "locktorture.verbose=1",
        ]
        if o["pv"] == "off":
            args.append("nopvspin")
        if self.lpj:
            args.append(f"lpj={self.lpj}")
        return " ".join(args)


def _uint(key, value, lo, hi):
    if not re.fullmatch("[0-9]+", value):
        raise BadOption(f"bad option '{key}={value}': not an integer; accepted: an integer {lo}..{hi}")
    n = int(value)
    if not lo <= n <= hi:
        raise BadOption(f"bad option '{key}={value}': out of range; accepted: an integer {lo}..{hi}")
    return n


def _choice(key, value, names):
    if value not in names:
        raise BadOption(f"bad option '{key}={value}': unknown; accepted: {', '.join(names)}")
    return value


def parse(args, smp, lpj=0):
    """args: the guest options as given (key=value words)."""
    o = dict(DEFAULTS)
    seen = set()
    notes = []
    for word in args:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise BadOption(f"bad option '{word}': not key=value; accepted: {', '.join(DEFAULTS)}")
        if key in seen:
            raise BadOption(f"bad option '{word}': {key} given twice")
        seen.add(key)
        if key in NO_COUNTERPART:
            raise BadOption(f"bad option '{word}': no counterpart in Linux ({NO_COUNTERPART[key]}); "
                            f"accepted: {', '.join(DEFAULTS)}")
        if key == "test":
            o[key] = _choice(key, value, TESTS)
        elif key == "lock":
            if "," in value:
                raise BadOption(f"bad option '{word}': one lock type per Linux boot; accepted: {', '.join(LOCK_TYPES)}")
            o[key] = _choice(key, value, LOCK_TYPES)
        elif key == "pv":
            o[key] = _choice(key, value, PV_CHOICES)
        elif key == "duration_ms":
            o[key] = _uint(key, value, 1, DURATION_MS_MAX)
        elif key == "warmup_ms":
            o[key] = _uint(key, value, 0, DURATION_MS_MAX)
        elif key == "cpus":
            o[key] = _uint(key, value, 0, smp)
        elif key == "seed":
            o[key] = _uint(key, value, 0, 2**64 - 1)
            notes.append("seed is recorded only: locktorture draws from its own PRNG, "
                         "reseeded from get_random_u32()")
        elif key == "long_hold_ms":
            o[key] = _uint(key, value, 0, 10_000)
        else:
            raise BadOption(f"bad option '{word}': unknown option; accepted: {', '.join(DEFAULTS)}")
    if o["duration_ms"] % 1000:
        notes.append(f"duration_ms={o['duration_ms']} is measured in whole stats intervals "
                     f"({STAT_INTERVAL_S} s): the window is the result's duration_ns")
    if lpj:
        notes.append(f"lpj={lpj}: the BSP's loops_per_jiffy from a 1-vCPU boot of this peer "
                     "on this host, so that no AP calibrates its delay loop (no invariant TSC here)")
    return Plan(options=o, smp=smp, notes=notes, lpj=lpj)
