# SPDX-License-Identifier: MIT
# runner.py: the machine lines run-qemu.sh prints that other tools read (nested runs' L1 lines and status lines).
"""What run-qemu.sh --accel nested prints for other tools, read in one place
(docs/output.md).

stdout: each L2 run starts with one '# l1: {json}' line (the L1 host it ran
on), then the run's serial output (its KTAP document); nothing before the
first such line belongs to a run.

    split_nested(text) -> [NestedRun(l1={...}, lines=[...]), ...]
    is_l1_line(line), l1_of(line)   for a stream read line by line (str or bytes)

stderr: once the bed has finished, one line per run that did not pass:

    run-qemu.sh: nested run I of N: status S

    status_line(i, n, s) -> that line; nested_statuses(text) -> {I: S}
"""
import json
import re
import shlex
from dataclasses import dataclass, field

L1_PREFIX = "# l1: "
NESTED_STATUS_FORMAT = "run-qemu.sh: nested run {i} of {n}: status {s}"
NESTED_STATUS_RE = re.compile(r"^run-qemu\.sh: nested run (\d+) of (\d+): status (\d+)$")


@dataclass
class NestedRun:
    l1: object = None                           # the '# l1:' JSON (None if it is not JSON)
    lines: list = field(default_factory=list)   # the run's output after its '# l1:' line
    l1_line: str = ""


def is_l1_line(line):
    """Does LINE (str or bytes) start a nested run?"""
    return line.startswith(L1_PREFIX.encode() if isinstance(line, bytes) else L1_PREFIX)


def l1_of(line):
    """The JSON of an '# l1:' line, or None when it holds none."""
    try:
        return json.loads(line[len(L1_PREFIX):])
    except ValueError:
        return None


def split_nested(text):
    """TEXT (a nested call's stdout) cut into its runs, in order; [] for a
    stream without any '# l1:' line (not a nested run)."""
    runs = []
    for line in text.splitlines():
        if is_l1_line(line):
            runs.append(NestedRun(l1_of(line), [], line))
        elif runs:
            runs[-1].lines.append(line)
    return runs


def status_line(i, n, s):
    """run-qemu.sh's stderr line for run I of N that ended with status S."""
    return NESTED_STATUS_FORMAT.format(i=i, n=n, s=s)


def nested_statuses(text):
    """{I: S} from the status lines in TEXT (a nested call's stderr); a run
    that passed has no line."""
    out = {}
    for line in text.splitlines():
        m = NESTED_STATUS_RE.match(line.rstrip("\r"))
        if m:
            out[int(m.group(1))] = int(m.group(3))
    return out


def dry_run_command(stdout):
    """The QEMU command line of `run-qemu.sh --dry-run`'s output (its last
    line, shell-quoted): without the `timeout N` in front of pvspin's, and
    without the Linux peer's runner in front of its (`run.py ... --`)."""
    words = shlex.split(stdout.strip().splitlines()[-1])
    if "--" in words:                   # the peer: python3 run.py run ... -- qemu ...
        return words[words.index("--") + 1:]
    return words[2:] if words[0] == "timeout" else words      # "timeout N qemu ..."
