# SPDX-License-Identifier: MIT
# control.py: the control lines L1 sends the host (console before its ports exist, then the control log).
"""L1's init (tools/nested/l1-init.sh) reports on a channel of its own:
'ready UPTIME_CS', 'env JSON', 'start I', 'status I CODE ELAPSED_CS',
'log TEXT', 'diag I KIND TEXT', 'fail REASON', 'done'. Until its virtio
ports exist, it writes them to the console behind EARLY_CTL_PREFIX."""
from pathlib import Path

from .jobcpio import EARLY_CTL_PREFIX


def read_lines(path, strip_cr=True):
    try:
        text = Path(path).read_bytes().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        return []
    if strip_cr:
        text = text.replace("\r", "")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def control_lines(work):
    """Early control lines from the console, then the control log."""
    work = Path(work)
    early = [line.rsplit(EARLY_CTL_PREFIX, 1)[1] for line in read_lines(work / "console.log")
             if EARLY_CTL_PREFIX in line]
    return early + read_lines(work / "ctl.log", strip_cr=False)


def l1_ready(lines):
    """L1 has said 'ready' (KVM loaded) in this boot."""
    return any(line.startswith("ready ") for line in lines)


def parse_control(lines):
    """(ready, done, env, statuses, fail reason) from the control lines."""
    ready, done, env, statuses, reason = False, False, "", [], ""
    for line in lines:
        line = line.removesuffix("\r")
        if line.startswith("ready "):
            ready = True
        elif line.startswith("env "):
            env = line[len("env "):]
        elif line.startswith("status "):
            f = line.split()
            statuses.append(f[2] if len(f) > 2 else "")
        elif line.startswith("fail "):
            reason = line[len("fail "):]
        elif line == "done":
            done = True
    return ready, done, env, statuses, reason
