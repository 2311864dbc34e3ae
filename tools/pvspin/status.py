# SPDX-License-Identifier: MIT
# status.py: pvspin's exit statuses, read from the guest's kernel/exit.h.
"""Exit statuses of a run, stated once.

The guest's verdicts (0..4) are the enum in kernel/exit.h, parsed here, so
the host never keeps a second copy of them; the statuses only the host
gives (a timeout, a VMM that could not run) are defined below and nowhere
else in Python.
"""
import re
import signal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXIT_H = REPO / "kernel" / "exit.h"

# The host's own statuses: timeout(1)'s, and "the VMM could not run".
TIMEOUT = 124
NO_VMM = 125
# A child that needed SIGKILL at its limit (timeout -k's status; the nested
# bed's L1 QEMU): a timeout too, never a verdict of its own.
KILLED = 128 + signal.SIGKILL


def debug_exit(value):
    """QEMU's own exit status when a guest writes VALUE to isa-debug-exit
    (run-qemu.sh maps it back): (VALUE << 1) | 1."""
    return (value << 1) | 1


def _guest_statuses():
    text = EXIT_H.read_text()
    enum = re.search(r"enum exit_status \{(.*?)\};", text, re.S)
    if not enum:
        raise RuntimeError(f"{EXIT_H}: no 'enum exit_status'")
    return {name: int(value) for name, value in
            re.findall(r"\bEXIT_([A-Z_]+)\s*=\s*(\d+)", enum.group(1))}


_GUEST = _guest_statuses()
PASS = _GUEST["PASS"]
TEST_FAILURE = _GUEST["TEST_FAILURE"]
BAD_INPUT = _GUEST["BAD_INPUT"]
GUEST_CRASH = _GUEST["GUEST_CRASH"]
LOCKUP = _GUEST["LOCKUP"]

MEANING = {
    PASS: "pass", TEST_FAILURE: "test failure", BAD_INPUT: "bad input",
    GUEST_CRASH: "guest crash", LOCKUP: "lockup", TIMEOUT: "timeout",
    NO_VMM: "QEMU could not run",
}
