# SPDX-License-Identifier: MIT
# hostrun.py: the host side of one step's VMs: interference applied, vCPU threads measured.
"""Interference and host measurements for the VMs of one step.

Session(config, seed, runs) is set up while the VMs are paused (vCPU thread
ids from QMP): quota and stall groups made, hogs started, the sampler
started; start() begins the stall drivers when the VMs run; stop() ends
them all and thaws (REGISTRY.cleanup removes the groups); measure(run)
gives, per lock, the host's view of that lock's measured window.

The measured window: the guest prints a lock's '# result:' line as soon as
its measured time ends, and says how long it was (duration_ns). The sampler
reads every vCPU thread's run time (/proc/PID/task/TID/schedstat, first
field) and its cgroup's cpu.stat every SAMPLE_S, and notes when each lock's
result line appears in the serial log; the window is [seen - duration_ns,
seen], and the counters are interpolated at its ends. The warm-up, the boot
and the other locks stay outside. The Linux peer prints its result only
after Linux has shut down; its window ends instead when the locktorture
stats line that closed it appeared (the sampler notes when each stats line
appears; logs.peer_window_end names the one), and is as long as the
result's duration_ns. Frozen time is the stall driver's own
record of each stall (from the FROZEN write to the THAWED write, monotonic
clock), cut to the window.
"""
import os
import random
import sys
import threading
import time
from pathlib import Path

from pvspin import procs

from .cgroups import (MECH_FREEZER, MECH_FREEZER_V2, MECH_QUOTA, REGISTRY, ThreadGroup,
                      make_jail, make_v2_domain)
from .common import read_text
from .interference import PCT, NONE, parse_mode
from .logs import bench_ends, peer_stats_times, peer_window_end

SAMPLE_S = 0.005
NS_PER_S = 1e9
NS_PER_MS = 1000000
US_PER_MS = 1000
DRIVER_FIFO_PRIORITY = 10   # above the hogs' (1): the stall driver keeps its schedule
HOG_SCRIPT = Path(__file__).with_name("hog.py")
HOG_STOP_WAIT_S = 2


def now_ns():
    return time.monotonic_ns()


def thread_run_ns(tid):
    try:
        return int(Path(f"/proc/{tid}/task/{tid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pinned_cpu(config, vm, index):
    """vCPU INDEX of VM VM runs on this CPU of the cpuset (round-robin)."""
    return config.cpus[((vm - 1) * config.vcpus + index) % len(config.cpus)]


def raise_priority(priority):
    """SCHED_FIFO for the calling thread; what it got, as text."""
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO, os.sched_param(priority))
        return f"SCHED_FIFO {priority}"
    except OSError as e:
        return f"SCHED_OTHER (SCHED_FIFO refused: {e.strerror})"


class VmWatch:
    """One VM's vCPU threads, their groups, samples and stalls."""

    def __init__(self, run, tids):
        self.run, self.tids = run, tids
        self.groups = [None] * len(tids)
        self.samples = []            # (t_ns, [(run_ns, throttled_ns, nr_throttled, nr_periods)])
        self.ends = {}               # lock -> (t_ns seen, duration_ns)
        self.stats_seen = {}         # the peer's stats lines: guest time -> t_ns seen
        self.stalls = [[] for _ in tids]   # per vCPU: [start_ns, end_ns]
        self.log_size = 0
        self.driver = None

    def sample(self, t):
        row = []
        for tid, group in zip(self.tids, self.groups):
            stat = group.cpu_stat() if group else {}
            row.append((thread_run_ns(tid), stat.get("throttled_time"),
                        stat.get("nr_throttled"), stat.get("nr_periods")))
        self.samples.append((t, row))
        size = self.run.log.stat().st_size if self.run.log.exists() else 0
        if size != self.log_size:
            self.log_size = size
            text = read_text(self.run.log)
            for lock, duration in bench_ends(text):
                self.ends.setdefault(lock, (t, duration))
            for guest_t in peer_stats_times(text):
                self.stats_seen.setdefault(guest_t, t)

    def peer_end(self):
        """The peer's lock -> (t_ns its window's last stats line was seen, duration_ns)."""
        end = peer_window_end(read_text(self.run.log))
        if end is None or end[1] not in self.stats_seen:
            return {}
        lock, guest_t, duration = end
        return {lock: (self.stats_seen[guest_t], duration)}


class StallDriver(threading.Thread):
    """Every EVERY_MS one vCPU thread stalled for LEN_MS, on a monotonic schedule."""

    def __init__(self, watch, spec, seed):
        super().__init__(daemon=True)
        self.watch, self.spec = watch, spec
        self.rng = random.Random(seed)
        self.halt = threading.Event()
        self.missed = 0
        self.sched = ""
        self.ended = ""             # why the driver stopped before it was told to

    def run(self):
        self.sched = raise_priority(DRIVER_FIFO_PRIORITY)
        n = len(self.watch.groups)
        every, length = int(self.spec.every_ms * NS_PER_MS), int(self.spec.len_ms * NS_PER_MS)
        start, k = now_ns(), 0
        while not self.halt.is_set():
            due = start + k * every
            late = now_ns() - due
            if late > every:                 # fell behind: skip, never bunch stalls
                skipped = late // every
                self.missed += skipped
                k += skipped
                continue
            if late < 0:
                time.sleep(-late / NS_PER_S)
            i = k % n if self.spec.order == "rr" else self.rng.randrange(n)
            group = self.watch.groups[i]
            try:
                group.stall()
            except OSError as e:         # the thread is gone: QEMU is ending
                self.ended = f"stall of vCPU {i} failed: {e.strerror}"
                return
            began = now_ns()
            left = due + length - began
            if left > 0:
                self.halt.wait(left / NS_PER_S)
            try:
                group.resume()
            except OSError as e:
                self.ended = f"resume of vCPU {i} failed: {e.strerror}"
                return
            finally:
                self.watch.stalls[i].append((began, now_ns()))
            k += 1


def interpolate(samples, t, column, field):
    """The counter FIELD of vCPU COLUMN at time T, linear between samples."""
    points = [(st, row[column][field]) for st, row in samples if row[column][field] is not None]
    if not points:
        return None
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1
    return points[-1][1]


def delta(samples, t0, t1, column, field):
    a, b = interpolate(samples, t0, column, field), interpolate(samples, t1, column, field)
    return None if a is None or b is None else round(b - a)


def overlap(intervals, t0, t1):
    return sum(max(0, min(e, t1) - max(s, t0)) for s, e in intervals)


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


class Session:
    """The host side of one step: its VMs' interference and measurements."""

    def __init__(self, config, seed, opts_pin):
        self.config, self.seed = config, seed
        self.spec = parse_mode(config.interference) if config.interference else NONE
        self.pin = opts_pin or self.spec.needs_cgroups
        self.watches = []
        self.hogs = []
        self.hog_samples = []       # (t_ns, [(run_ns,)] per hog)
        self.halt = threading.Event()
        self.sampler = None
        self.jail = None            # the stall group without a freezer (cgroups.make_jail)
        self.mechanism = self.describe_mechanism()

    def describe_mechanism(self):
        s = self.spec
        if s.mode == "quota":
            return MECH_QUOTA
        if s.mode == "hog":
            policy = f"SCHED_FIFO {1}" if s.fifo else "SCHED_OTHER"
            return f"co-runner processes ({policy}) pinned one per CPU, periods aligned to CLOCK_MONOTONIC"
        if s.mode == "stall":
            return ""       # set in add_vm from the host's support
        return "taskset: the VM's threads share the cpuset; the host scheduler decides"

    def add_vm(self, run, tids, stall_mechanism):
        """Pin and group one paused VM's vCPU threads (index order)."""
        watch = VmWatch(run, tids)
        self.watches.append(watch)
        for i, tid in enumerate(tids):
            if self.pin:
                os.sched_setaffinity(tid, {pinned_cpu(self.config, run.vm, i)})
            name = f"{run.name}-cpu{i}"
            if self.spec.mode == "quota":
                period_us = round(self.spec.period_ms * US_PER_MS)
                watch.groups[i] = ThreadGroup(name, tid, quota=(period_us, round(period_us * self.spec.pct / PCT)))
            elif self.spec.mode == "stall":
                if stall_mechanism == MECH_FREEZER:
                    watch.groups[i] = ThreadGroup(name, tid, freezer=True)
                elif stall_mechanism == MECH_FREEZER_V2:
                    if i == 0:
                        domain = make_v2_domain(run.name, tid)
                    watch.groups[i] = ThreadGroup(f"cpu{i}", tid, v2_domain=domain)
                else:
                    if self.jail is None:
                        self.jail = make_jail(f"{run.name}-jail")
                    watch.groups[i] = ThreadGroup(name, tid, jail=self.jail)
        if self.spec.mode == "stall":
            self.mechanism = stall_mechanism
            watch.driver = StallDriver(watch, self.spec, self.seed * 1000 + run.rep * 10 + run.vm)

    def start_paused(self):
        """Before the VMs run: hogs and the sampler."""
        if self.spec.mode == "hog":
            for cpu in self.spec.cpus:
                self.hogs.append(procs.Group(
                    [sys.executable, str(HOG_SCRIPT), str(cpu), str(self.spec.duty),
                     str(self.spec.period_ms), "fifo" if self.spec.fifo else "other"]))
        self.sampler = threading.Thread(target=self.sample_loop, daemon=True)
        self.sampler.start()

    def start_running(self):
        """The VMs run: stalls begin."""
        for w in self.watches:
            if w.driver:
                w.driver.start()

    def sample_loop(self):
        while not self.halt.is_set():
            t = now_ns()
            for w in self.watches:
                w.sample(t)
            if self.hogs:
                self.hog_samples.append((t, [(thread_run_ns(h.pid),) for h in self.hogs]))
            self.halt.wait(SAMPLE_S)

    def stop(self):
        """Stalls ended and thawed, hogs killed, sampling over; safe to call twice."""
        for w in self.watches:
            if w.driver:
                w.driver.halt.set()
                if w.driver.is_alive():
                    w.driver.join()
        self.halt.set()
        if self.sampler and self.sampler.is_alive():
            self.sampler.join()
        for hog in self.hogs:
            hog.stop(HOG_STOP_WAIT_S)
        REGISTRY.cleanup()

    def measure(self, run):
        """{lock: {'host_cpu_ns': ..., 'interference': {...}}} for RUN."""
        watch = next((w for w in self.watches if w.run is run), None)
        if watch is None:
            return {}
        # A result line first seen after the vCPU threads ended (the log
        # reached the runner only as QEMU exited) ended at the latest when
        # they did: an end past the last sample with data would put the
        # whole window where nothing was measured (host_cpu_ns 0).
        alive = [t for t, row in watch.samples if any(c[0] is not None for c in row)]
        last = alive[-1] if alive else None
        out = {}
        for lock, (t_end, duration) in {**watch.ends, **watch.peer_end()}.items():
            if last is not None and t_end > last:
                t_end = last
            out[lock] = self.window(watch, t_end - duration, t_end)
        return out

    def window(self, w, t0, t1):
        span = t1 - t0
        per_vcpu = []
        for i, tid in enumerate(w.tids):
            stalls = [(s, e) for s, e in w.stalls[i] if e > t0 and s < t1]
            per_vcpu.append({
                "vcpu": i, "tid": tid,
                "host_cpu": pinned_cpu(self.config, w.run.vm, i) if self.pin else None,
                "run_ns": delta(w.samples, t0, t1, i, 0),
                "throttled_ns": delta(w.samples, t0, t1, i, 1),
                "nr_throttled": delta(w.samples, t0, t1, i, 2),
                "nr_periods": delta(w.samples, t0, t1, i, 3),
                "frozen_ns": overlap(w.stalls[i], t0, t1) if self.spec.mode == "stall" else None,
                "stalls": len(stalls) if self.spec.mode == "stall" else None,
            })
        runs = [v["run_ns"] for v in per_vcpu]
        host_cpu_ns = None if None in runs else sum(runs)
        measured = {"window_ns": span,
                    "run_fraction": round(mean([r / span for r in runs if r is not None]) or 0, 4),
                    "per_vcpu": per_vcpu}
        if self.spec.mode == "quota":
            measured["throttled_fraction"] = round(mean(
                [v["throttled_ns"] / span for v in per_vcpu if v["throttled_ns"] is not None]) or 0, 4)
            measured["run_fraction_requested"] = self.spec.pct / PCT
        if self.spec.mode == "stall":
            lengths = [e - s for v in w.stalls for s, e in v if e > t0 and s < t1]
            measured["frozen_fraction"] = round(mean([v["frozen_ns"] / span for v in per_vcpu]), 4)
            measured["frozen_fraction_requested"] = round(self.spec.stall_duty / len(w.tids), 4)
            measured["stall_ms_mean"] = round(mean(lengths) / NS_PER_MS, 3) if lengths else None
            measured["stall_ms_max"] = round(max(lengths) / NS_PER_MS, 3) if lengths else None
            measured["stalls_missed"] = w.driver.missed if w.driver else 0
            measured["driver"] = w.driver.sched if w.driver else ""
            if w.driver and w.driver.ended:
                measured["driver_ended"] = w.driver.ended
        if self.spec.mode == "hog":
            hog_runs = [delta(self.hog_samples, t0, t1, i, 0) for i in range(len(self.hogs))]
            measured["hog_run_fraction"] = [None if r is None else round(r / span, 4) for r in hog_runs]
            measured["hog_run_fraction_requested"] = self.spec.duty / PCT
        interference = {"mode": self.spec.mode or "taskset", **self.spec.requested(),
                        "mechanism": self.mechanism, "measured": measured}
        return {"host_cpu_ns": host_cpu_ns, "interference": interference}
