# SPDX-License-Identifier: MIT
# logs.py: what the runner needs from a VM run's serial log, read through tools/pvlog.py.
"""The runner's view of a serial log; tools/pvlog.py does all the reading.

parse_log(path) -> LogInfo: per lock of test=bench its guest result (the
'# result:' JSON before the verdict) and whether the guest said ok; the L1
description under nested ('# l1:'); the first 'not ok' line, after its
number. guest_verdict(path): n of the last 'EXIT: STATUS=n', or None. A
missing or unreadable log reads as empty. bench_ends(text): the locks whose
result is in TEXT so far, with their measured time (the live sampler,
hostrun.py, notes when each appears). L1_PREFIX is pvlog's: nested.py cuts
a batch's stream into runs at it.
"""
import sys
from dataclasses import dataclass, field

from .common import REPO, read_text

sys.path.insert(0, str(REPO / "tools"))
import pvlog  # noqa: E402  (tools/pvlog.py, after the path is set)

L1_PREFIX = pvlog.L1_PREFIX
BENCH_PREFIX = "bench:"         # the description of test=bench's verdicts


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


def verdict_reason(result):
    """What follows ' # ' on a result line: the directive and its reason."""
    return " ".join(part for part in (result.directive, result.reason) if part)


def add_outcomes(info, run):
    """The verdicts of one run, each with its own result line; a result
    line left without a verdict is a failure of its lock."""
    used = set()
    for r in run.results:
        if not r.description.startswith(BENCH_PREFIX):
            continue
        lock = r.description[len(BENCH_PREFIX):]
        mine = bench_results(r.json, lock)
        result = mine[-1] if mine else None
        used.update(id(o) for o in mine)
        reason = verdict_reason(r) or ("" if result else "no result line before the verdict")
        info.outcomes[lock] = LockOutcome(result, r.ok and result is not None, reason)
    for result in bench_results(run.json):
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
