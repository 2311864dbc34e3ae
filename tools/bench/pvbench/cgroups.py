# SPDX-License-Identifier: MIT
# cgroups.py: the cgroups the interference modes make, and removing every one of them.
"""cgroup v1 groups for single vCPU threads, and their cleanup.

host_support(specs) says what this host can do for the modes asked, or
raises HostError naming what is missing (the runner exits 2 before any VM
starts). ThreadGroup is one vCPU thread in its own cpu group (--quota, or a
stall by bandwidth cut: the thread moves into a capped "jail" group,
make_jail(), for the stall's length) and/or freezer group (--stall). Every group made
and every freeze is in REGISTRY; REGISTRY.cleanup() thaws, moves threads
back to the root group and removes the directories, and is safe to call
again (from a finally, a signal handler, atexit).

cgroup v2: a single thread can only move into a threaded cgroup inside its
process's domain, so a v2 stall first moves the QEMU process into its own
domain group, then each vCPU thread into a threaded child of it, frozen with
cgroup.freeze (checked here on Linux 6.18: one thread stops, the others
run). The v2 cpu controller is not driven: --quota needs v1's, and a host
without it is told so.
"""
import os
import signal
import time
from pathlib import Path

V1_CPU = Path("/sys/fs/cgroup/cpu")
V1_FREEZER = Path("/sys/fs/cgroup/freezer")
V2_CANDIDATES = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
GROUP_PREFIX = "pvspin-bench-"
US_PER_MS = 1000
BANDWIDTH_CUT_QUOTA_US = 1000       # the kernel's minimum quota...
BANDWIDTH_CUT_PERIOD_US = 1000000   # ...over its longest period: 0.1% of a CPU
NO_QUOTA = "-1"
RMDIR_TRIES = 50
RMDIR_WAIT_S = 0.01
MECH_FREEZER = "cgroup v1 freezer (freezer.state, one group per vCPU thread)"
MECH_FREEZER_V2 = ("cgroup v2 freezer (cgroup.freeze, one threaded group per vCPU thread "
                   "in a domain group holding the QEMU process)")
MECH_CUT = (f"cgroup v1 CPU bandwidth: a stalled thread is moved into a group capped at "
            f"{BANDWIDTH_CUT_QUOTA_US} us per {BANDWIDTH_CUT_PERIOD_US} us (cpu.cfs_quota_us; at "
            "most that much leaks into each stall; no usable freezer)")
MECH_QUOTA = "cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us, one group per vCPU thread"


class HostError(Exception):
    """This host cannot do what was asked: exit status 2, with this message."""


def writable_v1(root, control):
    return (root / control).is_file() and os.access(root / control, os.W_OK) and os.access(root, os.W_OK)


def v2_root():
    for path in V2_CANDIDATES:
        if (path / "cgroup.controllers").is_file():
            return path
    return None


def v2_note():
    root = v2_root()
    if root is None:
        return "no cgroup v2 either"
    controllers = (root / "cgroup.controllers").read_text().split()
    return (f"cgroup v2 at {root} has controllers [{' '.join(controllers)}], and this runner "
            "drives only v2's freezer (for --stall), not its cpu controller")


def writable_v2():
    root = v2_root()
    return root is not None and os.access(root, os.W_OK) and os.access(root / "cgroup.procs", os.W_OK)


STALL_CHOICES = ("auto", "freezer-v1", "freezer-v2", "bandwidth")


def stall_mechanism(choice, cpu_ok):
    """The stall mechanism: CHOICE (--stall-mechanism), or with auto the
    first that works of v1 freezer, v2 freezer, v1 bandwidth; HostError
    naming what is missing."""
    usable = {"freezer-v1": (writable_v1(V1_FREEZER, "tasks"), MECH_FREEZER,
                             f"a writable cgroup v1 freezer ({V1_FREEZER})"),
              "freezer-v2": (writable_v2(), MECH_FREEZER_V2, "a writable cgroup v2 hierarchy"),
              "bandwidth": (cpu_ok, MECH_CUT, f"a writable cgroup v1 cpu hierarchy ({V1_CPU})")}
    if choice != "auto":
        ok, mechanism, what = usable[choice]
        if not ok:
            raise HostError(f"--stall-mechanism {choice}: needs {what}")
        return mechanism
    for ok, mechanism, _ in usable.values():
        if ok:
            return mechanism
    raise HostError("--stall: needs " + ", or ".join(what for _, _, what in usable.values())
                    + f"; {v2_note()}")


def host_support(modes, choice="auto"):
    """{'cgroup': description, 'stall_mechanism': ...} for MODES (a set of
    mode names; CHOICE: --stall-mechanism), or HostError naming what is missing."""
    need = set(modes) & {"quota", "stall"}
    if not need:
        return {"cgroup": "not used"}
    if os.geteuid() != 0:
        raise HostError(f"--{'/--'.join(sorted(need))}: needs root to make cgroups "
                        f"(running as uid {os.geteuid()})")
    support = {"cgroup": "v1"}
    cpu_ok = writable_v1(V1_CPU, "cpu.cfs_quota_us")
    if "quota" in need and not cpu_ok:
        raise HostError(f"--quota: needs a writable cgroup v1 cpu hierarchy ({V1_CPU}/cpu.cfs_quota_us); "
                        f"{v2_note()}")
    if "stall" in need:
        support["stall_mechanism"] = stall_mechanism(choice, cpu_ok)
    parts = []
    if "quota" in need or support.get("stall_mechanism") == MECH_CUT:
        parts.append(f"v1 {V1_CPU}")
    if support.get("stall_mechanism") == MECH_FREEZER:
        parts.append(f"v1 {V1_FREEZER}")
    if support.get("stall_mechanism") == MECH_FREEZER_V2:
        parts.append(f"v2 {v2_root()} (threaded groups, freezer only)")
    support["cgroup"] = ", ".join(parts)
    return support


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def read_stat(path):
    """cpu.stat as {name: int}; {} if it cannot be read."""
    try:
        return {k: int(v) for k, v in (l.split() for l in Path(path).read_text().splitlines())}
    except (OSError, ValueError):
        return {}


class Registry:
    """Every group made, every group frozen or cut; cleanup() undoes them all."""

    def __init__(self):
        self.groups = []        # (root, directory), in the order made
        self.frozen = set()     # freezer directories left FROZEN

    def make(self, root, name):
        path = root / name
        path.mkdir()
        self.groups.append((root, path))
        return path

    def thaw(self, path):
        try_write(path / ("freezer.state" if (path / "freezer.state").exists() else "cgroup.freeze"),
                  "THAWED" if (path / "freezer.state").exists() else "0")

    def cleanup(self):
        """Thaw, move threads out, remove; never raises. Signals wait till it is done."""
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            for path in list(self.frozen):
                self.thaw(path)
                self.frozen.discard(path)
            for root, path in self.groups:         # v2 domains first: their children empty
                if root == v2_root():
                    move_out(root, path)
            for root, path in reversed(self.groups):
                remove_group(root, path)
            self.groups = [(r, p) for r, p in self.groups if p.exists()]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def try_write(path, text):
    try:
        write(path, text)
    except OSError:
        pass


def move_out(root, path):
    """Move what is in PATH to ROOT: v1 threads one by one; from a top-level
    v2 group its processes (threads in its threaded children go with them);
    a threaded v2 child empties when its process leaves the domain."""
    try:
        if (path / "tasks").exists():
            for tid in (path / "tasks").read_text().split():
                try_write(root / "tasks", tid)
        elif root == v2_root():
            for pid in (path / "cgroup.procs").read_text().split():
                try_write(root / "cgroup.procs", pid)
    except OSError:
        pass


def remove_group(root, path):
    for _ in range(RMDIR_TRIES):
        move_out(root, path)
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(RMDIR_WAIT_S)


REGISTRY = Registry()


def leftover_groups():
    """pvspin-bench-* groups still on the host, top level (their children go with them)."""
    roots = [V1_CPU, V1_FREEZER] + ([v2_root()] if v2_root() else [])
    return [p for root in roots if root.is_dir() for p in root.glob(GROUP_PREFIX + "*")]


def make_jail(name):
    """The group a stall moves a thread into when there is no freezer: its
    budget, the kernel's minimum quota over its longest period, is spent by
    the first stall of each period, and every stalled thread then waits."""
    jail = REGISTRY.make(V1_CPU, f"{GROUP_PREFIX}{os.getpid()}-{name}")
    write(jail / "cpu.cfs_period_us", str(BANDWIDTH_CUT_PERIOD_US))
    write(jail / "cpu.cfs_quota_us", str(BANDWIDTH_CUT_QUOTA_US))
    return jail


def make_v2_domain(name, tid):
    """A v2 domain group holding the process of thread TID (QEMU), for its
    vCPU threads' threaded children."""
    root = v2_root()
    domain = REGISTRY.make(root, f"{GROUP_PREFIX}{os.getpid()}-{name}")
    tgid = next(l.split()[1] for l in Path(f"/proc/{tid}/status").read_text().splitlines()
                if l.startswith("Tgid:"))
    write(domain / "cgroup.procs", tgid)
    return domain


def remove_stale():
    """Groups of runners that died without cleaning up (SIGKILL): thawed and
    removed; the live runners' groups are left alone. Returns their paths."""
    removed = []
    for path in leftover_groups():
        pid = path.name[len(GROUP_PREFIX):].split("-")[0]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        root = path.parent
        for group in sorted(path.rglob("*"), reverse=True) + [path]:
            if group.is_dir():
                REGISTRY.thaw(group)
        move_out(root, path)
        for child in sorted((c for c in path.rglob("*") if c.is_dir()), reverse=True):
            remove_group(child.parent, child)
        remove_group(root, path)
        removed.append(path)
    return removed


class ThreadGroup:
    """One vCPU thread (TID) in its own groups: cpu (a quota, or none while
    it waits for stalls in JAIL) and/or freezer."""

    def __init__(self, name, tid, quota=None, freezer=False, jail=None, v2_domain=None):
        self.tid, self.cpu, self.freezer, self.jail = tid, None, None, jail
        if v2_domain is not None:       # a threaded child of the process's v2 domain group
            self.freezer = REGISTRY.make(v2_domain, name)
            write(self.freezer / "cgroup.type", "threaded")
            write(self.freezer / "cgroup.threads", str(tid))
            return
        name = f"{GROUP_PREFIX}{os.getpid()}-{name}"
        if quota is not None or jail is not None:
            self.cpu = REGISTRY.make(V1_CPU, name)
            if quota is not None:
                period_us, quota_us = quota
                write(self.cpu / "cpu.cfs_period_us", str(period_us))
                write(self.cpu / "cpu.cfs_quota_us", str(quota_us))
            write(self.cpu / "tasks", str(tid))
        if freezer:
            self.freezer = REGISTRY.make(V1_FREEZER, name)
            write(self.freezer / "tasks", str(tid))

    def stall(self):
        if self.freezer is not None:
            REGISTRY.frozen.add(self.freezer)
            if (self.freezer / "freezer.state").exists():
                write(self.freezer / "freezer.state", "FROZEN")
            else:
                write(self.freezer / "cgroup.freeze", "1")
        else:
            write(self.jail / "tasks", str(self.tid))

    def resume(self):
        if self.freezer is not None:
            if (self.freezer / "freezer.state").exists():
                write(self.freezer / "freezer.state", "THAWED")
            else:
                write(self.freezer / "cgroup.freeze", "0")
            REGISTRY.frozen.discard(self.freezer)
        else:
            # A thread throttled in the jail may stay throttled after it
            # moves out, until the jail's next period: up to 1 s, which
            # stretches a 30 ms warm-up to 2 s (Linux 6.18). Lifting the
            # jail's limit first unthrottles it; the limit comes back at
            # once, so at most the minimum quota (1 ms) leaks into each stall.
            write(self.jail / "cpu.cfs_quota_us", "-1")
            write(self.cpu / "tasks", str(self.tid))
            write(self.jail / "cpu.cfs_quota_us", str(BANDWIDTH_CUT_QUOTA_US))

    def cpu_stat(self):
        return read_stat(self.cpu / "cpu.stat") if self.cpu is not None else {}
