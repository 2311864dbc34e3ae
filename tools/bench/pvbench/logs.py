# SPDX-License-Identifier: MIT
# logs.py: reading a VM run's serial log (KTAP verdicts, JSON results, exit).
"""The runner's one reader of serial logs.

To be replaced by tools/pvlog.py (issue 10, item 4) once that is in: every
other module goes through parse_log() and guest_verdict() only.

parse_log(path) -> LogInfo: per lock of test=bench its guest result and
whether the guest said ok; the L1 description under nested ('# l1:'); the
first 'not ok' line. guest_verdict(path): n of the last 'EXIT: STATUS=n'.
A missing or unreadable log reads as empty.
"""
import json
import re
from dataclasses import dataclass, field

from .common import read_text

RESULT_PREFIX = "# result: "
L1_PREFIX = "# l1: "
KTAP_BENCH_RE = re.compile(r"^(not ok|ok) \d+ bench:(\S+)(?: # (.*))?$")
KTAP_NOT_OK_RE = re.compile(r"^not ok \d+ (.*)$")
EXIT_LINE_RE = re.compile(r"^EXIT: STATUS=(\d+)", re.M)


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


def guest_verdict(log):
    """n of the guest's last 'EXIT: STATUS=n' line, None without one."""
    found = EXIT_LINE_RE.findall(read_text(log))
    return int(found[-1]) if found else None
