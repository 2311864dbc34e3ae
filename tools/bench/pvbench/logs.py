# SPDX-License-Identifier: MIT
# logs.py: what the runner needs from a VM run's serial log, read through tools/pvlog.py.
"""The runner's view of a serial log; tools/pvlog.py does all the reading.

parse_log(path) -> LogInfo: per lock of test=bench its guest result (the
'# result:' JSON before the verdict) and whether the guest said ok; the L1
description under nested ('# l1:'); the first 'not ok' line, after its
number. The Linux peer's document reads the same way: its one verdict
('torture:linux-TYPE') is its lock type's. guest_verdict(path): n of the
last 'EXIT: STATUS=n', or None. A missing or unreadable log reads as empty.
bench_ends(text): the locks whose result is in TEXT so far, with their
measured time (the live sampler, hostrun.py, notes when each appears).

The peer prints its result only once Linux has shut down, so the sampler
dates its window by the console instead: peer_stats_times(text) lists the
guest (printk) times of locktorture's stats lines so far, and
peer_window_end(text) names, from the finished log, the stats line that
closed the measured window (its guest time, the lock, duration_ns). Both
read the console with the peer's own patterns (tools/peer/linux/console.py).
"""
import importlib.util
import sys
from dataclasses import dataclass, field

from .common import REPO, read_text

sys.path.insert(0, str(REPO / "tools"))
import pvlog  # noqa: E402  (tools/pvlog.py, after the path is set)


def load_peer_console():
    """tools/peer/linux/console.py (it needs tools/ on the path, as pvlog does)."""
    path = REPO / "tools" / "peer" / "linux" / "console.py"
    spec = importlib.util.spec_from_file_location("pvbench_linux_peer_console", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


peer_console = load_peer_console()

BENCH_PREFIX = "bench:"         # the description of test=bench's verdicts
PEER_PREFIX = "torture:linux-"  # the Linux peer's verdict (its Plan.result_name)
CONSOLE_PREFIX = "# console: "  # each line of the peer's console


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


def bench_results(objects, lock=None):
    """The test=bench results among OBJECTS (of LOCK, if given)."""
    return [o for o in objects if o.get("test") == "bench" and (lock is None or o.get("lock") == lock)]


def measured_results(objects, lock=None):
    """The results the matrix reports: pvspin's test=bench and the Linux peer's."""
    return [o for o in objects if (o.get("test") == "bench" or o.get("guest") == "linux")
            and (lock is None or o.get("lock") == lock)]


def verdict_lock(description):
    """The lock a verdict's description names, or None for another test's."""
    for prefix in (BENCH_PREFIX, PEER_PREFIX):
        if description.startswith(prefix):
            return description[len(prefix):]
    return None


def verdict_reason(result):
    """What follows ' # ' on a result line: the directive and its reason."""
    return " ".join(part for part in (result.directive, result.reason) if part)


def add_outcomes(info, run):
    """The verdicts of one run, each with its own result line; a result
    line left without a verdict is a failure of its lock."""
    used = set()
    for r in run.results:
        lock = verdict_lock(r.description)
        if lock is None:
            continue
        mine = measured_results(r.json, lock)
        result = mine[-1] if mine else None
        used.update(id(o) for o in mine)
        reason = verdict_reason(r) or ("" if result else "no result line before the verdict")
        info.outcomes[lock] = LockOutcome(result, r.ok and result is not None, reason)
    for result in measured_results(run.json):
        if id(result) not in used:
            info.outcomes[result.get("lock")] = LockOutcome(result, False,
                                                             "no KTAP verdict after the result")


def first_not_ok(run):
    """'not ok N TEXT' -> TEXT of the run's first failed result, or ''."""
    for r in run.results:
        if not r.ok:
            return r.line.split(" ", 3)[3] if r.line.count(" ") >= 3 else ""
    return ""


def parse_log(path):
    info = LogInfo()
    for run in pvlog.parse(read_text(path)):
        if info.l1 is None:
            info.l1 = run.l1
        add_outcomes(info, run)
        info.first_not_ok = info.first_not_ok or first_not_ok(run)
    return info


def guest_verdict(log):
    """n of the guest's last 'EXIT: STATUS=n' line, None without one."""
    found = [run.exit_status for run in pvlog.parse(read_text(log)) if run.exit_status is not None]
    return found[-1] if found else None


def bench_ends(text):
    """(lock, duration_ns) of every test=bench result in TEXT (a log so far), in order."""
    return [(o.get("lock"), o.get("duration_ns")) for run in pvlog.parse(text)
            for o in bench_results(run.json) if isinstance(o.get("duration_ns"), int)]


def console_events(text):
    """(guest time ns, message) of every timestamped peer console line in TEXT."""
    for line in text.splitlines():
        if not line.startswith(CONSOLE_PREFIX):
            continue
        t_ns, message = peer_console.printk_split(line[len(CONSOLE_PREFIX):].rstrip("\r"))
        if t_ns is not None:
            yield t_ns, message.strip()


def peer_stats_times(text):
    """The guest times of locktorture's stats lines in TEXT (a peer log so far)."""
    return [t for t, message in console_events(text) if peer_console.STATS_RE.match(message)]


def peer_window_end(text):
    """(lock, guest time of the stats line that closed the window, duration_ns)
    from a finished peer log, or None. The result's warm-up runs from the
    start of the test to the window's first stats line, so its end is
    start + warmup_ns + duration_ns: one of the stats lines' own times."""
    start = next((t for t, message in console_events(text)
                  if peer_console.START_RE.match(message)), None)
    results = [o for run in pvlog.parse(text) for o in run.json if o.get("guest") == "linux"]
    if start is None or not results:
        return None
    r = results[-1]
    if not (isinstance(r.get("warmup_ns"), int) and isinstance(r.get("duration_ns"), int)):
        return None
    return r.get("lock"), start + r["warmup_ns"] + r["duration_ns"], r["duration_ns"]
